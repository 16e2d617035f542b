package hdf5

import (
	"fmt"
	"math/bits"
)

// Version 2 B-tree constants.
const (
	btree2LinkName    = 5  // record type: link name index of a group
	btree2AttrName    = 8  // record type: attribute name index
	btree2Prefix      = 10 // signature, version, type and checksum of a node
	maxBTree2Depth    = 16
	attrRecordSize    = 17 // heap ID (8), message flags, creation order, name hash
	attrRecordFlagsAt = 8
	linkRecordHashLen = 4
)

// btree2 is a parsed version 2 B-tree header.
type btree2 struct {
	d        *decoder
	typ      uint8
	nodeSize uint64
	recSize  int
	depth    int
	root     uint64
	rootN    int
	total    uint64
	nrecSize int   // bytes of a child's record count
	cumSize  []int // bytes of the total record count below a child, by depth
	maxRecs  []int // most records in a node, by depth
	visited  uint64
	seen     map[uint64]bool
}

// btree2 parses the version 2 B-tree header at addr and checks its record
// type.
func (d *decoder) btree2(addr uint64, typ uint8) (*btree2, error) {
	// Signature, version, type, node size, record size, depth, split and
	// merge percents, root address, root records, total records, checksum.
	size := uint64(4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + d.offSize + 2 + d.lenSize + checksumSize)
	p, err := d.slice(addr, size)
	if err != nil {
		return nil, fmt.Errorf("B-tree header: %w", err)
	}
	c := d.newCursor(p)
	c.signature("BTHD")
	version, rtype := c.u8(), c.u8()
	t := &btree2{d: d, typ: rtype, nodeSize: uint64(c.u32()), recSize: int(c.u16()), depth: int(c.u16()), seen: map[uint64]bool{}}
	c.skip(2) // split and merge percents
	t.root, t.rootN, t.total = c.addr(), int(c.u16()), c.length()
	if c.err != nil {
		return nil, fmt.Errorf("B-tree header at 0x%x: %w", addr, c.err)
	}
	if err := checkSum(p, c.pos); err != nil {
		return nil, fmt.Errorf("B-tree header at 0x%x: %w", addr, err)
	}
	if version != 0 || rtype != typ {
		return nil, errorf(ErrFormat, "B-tree at 0x%x: version %d, record type %d, want type %d", addr, version, rtype, typ)
	}
	if t.recSize == 0 || t.nodeSize <= btree2Prefix || t.nodeSize > uint64(len(d.b)) || t.depth > maxBTree2Depth {
		return nil, errorf(ErrFormat, "B-tree at 0x%x: node size %d, record size %d, depth %d", addr, t.nodeSize, t.recSize, t.depth)
	}
	if err := t.nodeInfo(); err != nil {
		return nil, fmt.Errorf("B-tree at 0x%x: %w", addr, err)
	}
	return t, nil
}

// nodeInfo computes, per depth, the most records a node holds and the
// sizes of the record count fields of child pointers.
func (t *btree2) nodeInfo() error {
	space := int(t.nodeSize) - btree2Prefix
	leafMax := space / t.recSize
	if leafMax < 1 {
		return errorf(ErrFormat, "node size %d holds no record", t.nodeSize)
	}
	t.maxRecs = []int{leafMax}
	t.cumSize = []int{0}
	t.nrecSize = encSize(uint64(leafMax))
	cum := uint64(leafMax)
	for u := 1; u <= t.depth; u++ {
		ptr := t.d.offSize + t.nrecSize
		if u > 1 {
			ptr += t.cumSize[u-1]
		}
		m := space / (t.recSize + ptr)
		if m < 1 {
			return errorf(ErrFormat, "node size %d holds no internal record", t.nodeSize)
		}
		hi, lo := bits.Mul64(uint64(m)+1, cum)
		cum = lo + uint64(m)
		if hi != 0 || cum < lo {
			return errorf(ErrFormat, "B-tree depth %d too large", t.depth)
		}
		t.maxRecs = append(t.maxRecs, m)
		t.cumSize = append(t.cumSize, encSize(cum))
	}
	return nil
}

// walk visits every record of the tree.
func (t *btree2) walk(visit func(rec []byte) error) error {
	if t.root == undefAddr || t.total == 0 {
		return nil
	}
	return t.node(t.root, t.depth, t.rootN, visit)
}

// node visits the records of the node at addr, of the given depth, holding
// n records.
func (t *btree2) node(addr uint64, depth, n int, visit func(rec []byte) error) error {
	if t.seen[addr] {
		return errorf(ErrFormat, "B-tree node at 0x%x reached twice", addr)
	}
	t.seen[addr] = true
	if n > t.maxRecs[depth] {
		return errorf(ErrFormat, "B-tree node at 0x%x: %d records, at most %d fit", addr, n, t.maxRecs[depth])
	}
	p, err := t.d.slice(addr, t.nodeSize)
	if err != nil {
		return fmt.Errorf("B-tree node: %w", err)
	}
	sig := "BTLF"
	ptrSize := 0
	if depth > 0 {
		sig = "BTIN"
		ptrSize = t.d.offSize + t.nrecSize
		if depth > 1 {
			ptrSize += t.cumSize[depth-1]
		}
	}
	c := t.d.newCursor(p)
	c.signature(sig)
	version, typ := c.u8(), c.u8()
	recs := c.bytes(n * t.recSize)
	ptrs := c.bytes((n + 1) * ptrSize)
	if c.err == nil && (version != 0 || typ != t.typ) {
		c.fail(errorf(ErrFormat, "version %d, record type %d", version, typ))
	}
	if c.err == nil {
		c.fail(checkSum(p, c.pos))
	}
	if c.err != nil {
		return fmt.Errorf("B-tree node at 0x%x: %w", addr, c.err)
	}
	return t.children(depth, n, recs, ptrs, visit)
}

// children visits the records of a node and, for an internal node, its
// children in order.
func (t *btree2) children(depth, n int, recs, ptrs []byte, visit func(rec []byte) error) error {
	pc := t.d.newCursor(ptrs)
	for i := 0; i <= n; i++ {
		if depth > 0 {
			child, cn := pc.addr(), pc.uint(t.nrecSize)
			if depth > 1 {
				pc.skip(t.cumSize[depth-1])
			}
			if pc.err != nil {
				return pc.err
			}
			if err := t.node(child, depth-1, int(min(cn, 1<<30)), visit); err != nil {
				return err
			}
		}
		if i == n {
			break
		}
		t.visited++
		if t.visited > t.total {
			return errorf(ErrFormat, "B-tree holds more records than its header's %d", t.total)
		}
		if err := visit(recs[i*t.recSize : (i+1)*t.recSize]); err != nil {
			return err
		}
	}
	return nil
}

// denseLinks returns the links stored in the fractal heap at heapAddr,
// indexed by the name B-tree at btreeAddr.
func (d *decoder) denseLinks(heapAddr, btreeAddr uint64) ([]link, error) {
	h, err := d.fractalHeap(heapAddr)
	if err != nil {
		return nil, err
	}
	t, err := d.btree2(btreeAddr, btree2LinkName)
	if err != nil {
		return nil, err
	}
	if t.recSize <= linkRecordHashLen {
		return nil, errorf(ErrFormat, "link name record size %d", t.recSize)
	}
	var links []link
	err = t.walk(func(rec []byte) error {
		obj, err := h.object(rec[linkRecordHashLen:])
		if err != nil {
			return err
		}
		l, err := d.linkMessage(obj)
		if err != nil {
			return fmt.Errorf("link in heap: %w", err)
		}
		links = append(links, l)
		return nil
	})
	return links, err
}

// denseAttrs returns the attributes stored in the fractal heap at heapAddr,
// indexed by the name B-tree at btreeAddr.
func (d *decoder) denseAttrs(heapAddr, btreeAddr uint64) ([]*Dataset, error) {
	h, err := d.fractalHeap(heapAddr)
	if err != nil {
		return nil, err
	}
	t, err := d.btree2(btreeAddr, btree2AttrName)
	if err != nil {
		return nil, err
	}
	if t.recSize < attrRecordSize {
		return nil, errorf(ErrFormat, "attribute name record size %d", t.recSize)
	}
	var attrs []*Dataset
	err = t.walk(func(rec []byte) error {
		if rec[attrRecordFlagsAt]&msgFlagShared != 0 {
			return errorf(ErrUnsupported, "shared attribute message")
		}
		obj, err := h.object(rec[:attrRecordFlagsAt])
		if err != nil {
			return err
		}
		a, err := d.attribute(obj)
		if err != nil {
			return fmt.Errorf("attribute in heap: %w", err)
		}
		attrs = append(attrs, a)
		return nil
	})
	return attrs, err
}
