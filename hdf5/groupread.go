package hdf5

import (
	"bytes"
	"fmt"
)

// Link message and link info constants.
const (
	linkFlagNameSizeMask  = 0x03 // bits 0-1: size of the name length field (1 << value bytes)
	linkFlagCreationOrder = 0x04 // creation order present
	linkFlagType          = 0x08 // link type present
	linkFlagCharset       = 0x10 // name character set present
	linkTypeHard          = 0
	linkTypeSoft          = 1
	linkInfoCreationOrder = 0x01 // link info: maximum creation index present
	maxBTreeLevel         = 64   // deeper version 1 B-trees are rejected
)

// groupLinks returns the hard links of the group described by h, sorted by
// name.
func (d *decoder) groupLinks(h *objHeader) ([]link, error) {
	var links []link
	if m := h.find(msgSymbolTable); m != nil {
		c := d.newCursor(m.data)
		btree, heap := c.addr(), c.addr()
		if c.err != nil {
			return nil, fmt.Errorf("symbol table message: %w", c.err)
		}
		l, err := d.symbolTable(btree, heap)
		if err != nil {
			return nil, err
		}
		links = l
	}
	for _, m := range h.msgs {
		switch m.typ {
		case msgLink:
			l, err := d.linkMessage(m.data)
			if err != nil {
				return nil, fmt.Errorf("link message at 0x%x: %w", m.addr, err)
			}
			links = append(links, l)
		case msgLinkInfo:
			l, err := d.linkInfo(m.data, h.addr)
			if err != nil {
				return nil, fmt.Errorf("link info message at 0x%x: %w", m.addr, err)
			}
			links = append(links, l...)
		}
	}
	return links, checkLinks(links)
}

// linkMessage parses a link message; only hard links are supported.
func (d *decoder) linkMessage(data []byte) (link, error) {
	c := d.newCursor(data)
	version, flags := c.u8(), c.u8()
	if c.err == nil && version != 1 {
		return link{}, errorf(ErrUnsupported, "link message version %d", version)
	}
	typ := uint8(linkTypeHard)
	if flags&linkFlagType != 0 {
		typ = c.u8()
	}
	if flags&linkFlagCreationOrder != 0 {
		c.skip(8) // creation order
	}
	if flags&linkFlagCharset != 0 {
		c.skip(1) // name character set
	}
	n := c.uint(1 << (flags & linkFlagNameSizeMask))
	if c.err == nil && n > uint64(c.left()) {
		return link{}, errorf(ErrFormat, "link name length %d exceeds the message", n)
	}
	if err := d.reserveValues(n); c.err == nil && err != nil {
		return link{}, err
	}
	name := string(c.bytes(int(n)))
	if c.err != nil {
		return link{}, c.err
	}
	switch typ {
	case linkTypeHard:
		addr := c.addr()
		return link{name: name, addr: addr}, c.err
	case linkTypeSoft:
		return link{}, errorf(ErrUnsupported, "soft link %q", name)
	default:
		return link{}, errorf(ErrUnsupported, "link %q of type %d (external or user-defined)", name, typ)
	}
}

// linkInfo parses a link info message and, for dense storage, returns the
// links held in the fractal heap. Compact storage returns none: its links
// are link messages.
func (d *decoder) linkInfo(data []byte, hdr uint64) ([]link, error) {
	c := d.newCursor(data)
	version, flags := c.u8(), c.u8()
	if c.err == nil && version != 0 {
		return nil, errorf(ErrUnsupported, "link info message version %d", version)
	}
	if flags&linkInfoCreationOrder != 0 {
		c.skip(8) // maximum creation index
	}
	heap, nameIndex := c.addr(), c.addr()
	if c.err != nil {
		return nil, c.err
	}
	if heap == undefAddr {
		return nil, nil
	}
	links, err := d.denseLinks(heap, nameIndex)
	if err != nil {
		return nil, fmt.Errorf("dense link storage (group at 0x%x): %w", hdr, err)
	}
	return links, nil
}

// symbolTable returns the links of an old-style group: the entries of the
// symbol table nodes indexed by the version 1 B-tree at btree, with names in
// the local heap at heap.
func (d *decoder) symbolTable(btree, heap uint64) ([]link, error) {
	names, err := d.localHeap(heap)
	if err != nil {
		return nil, fmt.Errorf("local heap at 0x%x: %w", heap, err)
	}
	var links []link
	seen := map[uint64]bool{}
	err = d.walkBTreeV1(btree, btreeGroupNode, d.lenSize, -1, seen, func(_ []byte, child uint64) error {
		if seen[child] {
			return errorf(ErrFormat, "symbol table node at 0x%x reached twice", child)
		}
		seen[child] = true
		l, err := d.symbolNode(child, names)
		if err != nil {
			return fmt.Errorf("symbol table node at 0x%x: %w", child, err)
		}
		links = append(links, l...)
		return nil
	})
	return links, err
}

// localHeap returns the data segment of the local heap at addr.
func (d *decoder) localHeap(addr uint64) ([]byte, error) {
	// Signature, version, reserved, data size, free list head, data address.
	p, err := d.slice(addr, uint64(8+2*d.lenSize+d.offSize))
	if err != nil {
		return nil, err
	}
	c := d.newCursor(p)
	c.signature("HEAP")
	version := c.u8()
	c.skip(3) // reserved
	size := c.length()
	c.length() // free list head
	data := c.addr()
	if c.err != nil {
		return nil, c.err
	}
	if version != 0 {
		return nil, errorf(ErrUnsupported, "local heap version %d", version)
	}
	return d.slice(data, size)
}

// heapName returns the NUL-terminated name at offset off of a local heap,
// charging its length to the value budget.
func (d *decoder) heapName(heap []byte, off uint64) (string, error) {
	if off >= uint64(len(heap)) {
		return "", errorf(ErrFormat, "name offset %d outside the local heap (%d bytes)", off, len(heap))
	}
	n := bytes.IndexByte(heap[off:], 0)
	if n < 0 {
		return "", errorf(ErrFormat, "unterminated name at offset %d of the local heap", off)
	}
	if err := d.reserveValues(uint64(n)); err != nil {
		return "", err
	}
	return string(heap[off : off+uint64(n)]), nil
}

// symbolNode returns the links of the symbol table node at addr.
func (d *decoder) symbolNode(addr uint64, heap []byte) ([]link, error) {
	p, err := d.rest(addr)
	if err != nil {
		return nil, err
	}
	c := d.newCursor(p)
	c.signature("SNOD")
	version := c.u8()
	c.skip(1) // reserved
	n := int(c.u16())
	if c.err != nil {
		return nil, c.err
	}
	if version != 1 {
		return nil, errorf(ErrUnsupported, "symbol table node version %d", version)
	}
	links := make([]link, 0, min(n, c.left()/(2*d.offSize+symbolEntryFixed)))
	for range n {
		nameOff := c.length()
		hdr := c.addr()
		cache := c.u32()
		c.skip(4 + 16) // reserved, scratch pad
		if c.err != nil {
			return nil, c.err
		}
		name, err := d.heapName(heap, nameOff)
		if err != nil {
			return nil, err
		}
		if cache == cacheSoft {
			return nil, errorf(ErrUnsupported, "soft link %q", name)
		}
		links = append(links, link{name: name, addr: hdr})
	}
	return links, nil
}

// walkBTreeV1 visits, in order, every leaf entry of the version 1 B-tree of
// node type typ rooted at addr, passing the entry's left key (keySize
// bytes) and child address. level is the level the node must have (-1: any, for the root);
// seen guards against nodes reached twice.
func (d *decoder) walkBTreeV1(addr uint64, typ uint8, keySize, level int, seen map[uint64]bool, visit func(key []byte, child uint64) error) error {
	if seen[addr] {
		return errorf(ErrFormat, "B-tree node at 0x%x reached twice", addr)
	}
	seen[addr] = true
	p, err := d.rest(addr)
	if err != nil {
		return fmt.Errorf("B-tree node: %w", err)
	}
	c := d.newCursor(p)
	c.signature("TREE")
	ntype, nlevel := c.u8(), int(c.u8())
	n := int(c.u16())
	c.skip(2 * d.offSize) // siblings
	if c.err != nil {
		return fmt.Errorf("B-tree node at 0x%x: %w", addr, c.err)
	}
	if ntype != typ || (level >= 0 && nlevel != level) || nlevel > maxBTreeLevel {
		return errorf(ErrFormat, "B-tree node at 0x%x: type %d level %d, want type %d level %d", addr, ntype, nlevel, typ, level)
	}
	for range n {
		key := c.bytes(keySize)
		child := c.addr()
		if c.err != nil {
			return fmt.Errorf("B-tree node at 0x%x: %w", addr, c.err)
		}
		if nlevel > 0 {
			err = d.walkBTreeV1(child, typ, keySize, nlevel-1, seen, visit)
		} else {
			err = visit(key, child)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
