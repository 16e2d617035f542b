package hdf5

import (
	"fmt"
	"math/bits"
)

// Fractal heap constants.
const (
	fheapFlagChecksumDirect = 0x02 // direct blocks carry a checksum
	fheapIDManaged          = 0
	fheapIDHuge             = 1
	fheapIDTiny             = 2
	fheapTinyShortMax       = 18 // heap IDs up to this length encode tiny sizes in 4 bits
	maxFheapDepth           = 16 // nested indirect blocks
	maxTableRows            = 64 // rows of a doubling table
	fheapBlockPrefix        = 5  // signature and version of a direct or indirect block
)

// fractalHeap is a parsed fractal heap header.
type fractalHeap struct {
	d           *decoder
	addr        uint64
	idLen       int
	checksummed bool
	width       uint64 // blocks per row
	start       uint64 // starting block size
	maxDirect   uint64 // largest direct block size
	rootAddr    uint64
	rootRows    int // 0: the root is a direct block
	offBytes    int // bytes of a heap offset in IDs and block headers
	lenBytes    int // bytes of a managed object length in IDs
	directRows  int // rows of direct blocks in an indirect block
	verified    map[uint64]bool
}

// isPow2 reports whether x is a power of two.
func isPow2(x uint64) bool { return x != 0 && x&(x-1) == 0 }

// encSize returns the bytes needed to encode values up to x.
func encSize(x uint64) int { return (bits.Len64(x)-1)/8 + 1 }

// fractalHeap parses the fractal heap header at addr.
func (d *decoder) fractalHeap(addr uint64) (*fractalHeap, error) {
	p, err := d.rest(addr)
	if err != nil {
		return nil, fmt.Errorf("fractal heap header: %w", err)
	}
	c := d.newCursor(p)
	c.signature("FRHP")
	version := c.u8()
	h := &fractalHeap{d: d, addr: addr, idLen: int(c.u16()), verified: map[uint64]bool{}}
	filterLen := c.u16()
	flags := c.u8()
	maxManaged := c.u32()
	c.skip(d.lenSize + d.offSize + d.lenSize + d.offSize + 8*d.lenSize) // huge/free-space/statistics fields
	h.width = uint64(c.u16())
	h.start, h.maxDirect = c.length(), c.length()
	maxHeapBits := int(c.u16())
	c.u16() // starting rows of the root indirect block
	h.rootAddr = c.addr()
	h.rootRows = int(c.u16())
	if c.err != nil {
		return nil, fmt.Errorf("fractal heap header at 0x%x: %w", addr, c.err)
	}
	if version != 0 || filterLen != 0 {
		return nil, errorf(ErrUnsupported, "fractal heap at 0x%x: version %d, filtered %v", addr, version, filterLen != 0)
	}
	if err := checkSum(p, c.pos); err != nil {
		return nil, fmt.Errorf("fractal heap header at 0x%x: %w", addr, err)
	}
	if !isPow2(h.width) || !isPow2(h.start) || !isPow2(h.maxDirect) || h.maxDirect < h.start ||
		maxHeapBits < 1 || maxHeapBits > 64 || h.rootRows > maxTableRows || maxManaged == 0 {
		return nil, errorf(ErrFormat, "fractal heap at 0x%x: bad doubling table", addr)
	}
	h.checksummed = flags&fheapFlagChecksumDirect != 0
	h.offBytes = (maxHeapBits + 7) / 8
	h.lenBytes = min(encSize(h.maxDirect), encSize(uint64(maxManaged)))
	h.directRows = bits.TrailingZeros64(h.maxDirect) - bits.TrailingZeros64(h.start) + 2
	return h, nil
}

// rowSize returns the block size of row r, and false on overflow.
func (h *fractalHeap) rowSize(r int) (uint64, bool) {
	if r == 0 {
		return h.start, true
	}
	if bits.Len64(h.start)+r-1 > 63 {
		return 0, false
	}
	return h.start << (r - 1), true
}

// rowStart returns the heap offset of row r relative to its indirect
// block, and false on overflow.
func (h *fractalHeap) rowStart(r int) (uint64, bool) {
	if r == 0 {
		return 0, true
	}
	s, ok := h.rowSize(r)
	hi, lo := bits.Mul64(s, h.width)
	return lo, ok && hi == 0
}

// object returns the bytes of the heap object with the given heap ID.
func (h *fractalHeap) object(id []byte) ([]byte, error) {
	if len(id) == 0 {
		return nil, errorf(ErrFormat, "empty heap ID")
	}
	if id[0]>>6 != 0 {
		return nil, errorf(ErrUnsupported, "heap ID version %d", id[0]>>6)
	}
	switch (id[0] >> 4) & 3 {
	case fheapIDManaged:
		c := &cursor{b: id[1:]}
		off, n := c.uint(h.offBytes), c.uint(h.lenBytes)
		if c.err != nil {
			return nil, c.err
		}
		return h.managed(off, n)
	case fheapIDTiny:
		if len(h.tinyData(id)) == 0 {
			return nil, errorf(ErrFormat, "tiny heap object does not fit its ID")
		}
		return h.tinyData(id), nil
	case fheapIDHuge:
		return nil, errorf(ErrUnsupported, "huge fractal heap objects")
	}
	return nil, errorf(ErrFormat, "heap ID type %d", (id[0]>>4)&3)
}

// tinyData returns the data of a tiny object stored in its heap ID, or
// nil when the ID is too short.
func (h *fractalHeap) tinyData(id []byte) []byte {
	n, at := int(id[0]&0x0f)+1, 1
	if h.idLen > fheapTinyShortMax {
		if len(id) < 2 {
			return nil
		}
		n, at = int(id[0]&0x0f)<<8|int(id[1])+1, 2
	}
	if at+n > len(id) {
		return nil
	}
	return id[at : at+n]
}

// managed returns the n bytes of the managed object at heap offset off.
func (h *fractalHeap) managed(off, n uint64) ([]byte, error) {
	addr, blockOff, size := h.rootAddr, uint64(0), h.start
	if h.rootRows > 0 {
		var err error
		if addr, blockOff, size, err = h.locate(h.rootAddr, h.rootRows, 0, off, 0); err != nil {
			return nil, err
		}
	}
	p, err := h.directBlock(addr, blockOff, size)
	if err != nil {
		return nil, fmt.Errorf("direct block at 0x%x: %w", addr, err)
	}
	hdr := uint64(fheapBlockPrefix + h.d.offSize + h.offBytes)
	if h.checksummed {
		hdr += checksumSize
	}
	rel := off - blockOff
	if off < blockOff || rel < hdr || rel > size || n > size-rel {
		return nil, errorf(ErrFormat, "heap object at offset %d (%d bytes) outside its direct block", off, n)
	}
	return p[rel : rel+n], nil
}

// directBlock returns the direct block of the given size at addr, checking
// its header and checksum.
func (h *fractalHeap) directBlock(addr, blockOff, size uint64) ([]byte, error) {
	p, err := h.d.slice(addr, size)
	if err != nil {
		return nil, err
	}
	c := h.d.newCursor(p)
	c.signature("FHDB")
	version := c.u8()
	c.addr() // heap header address
	off := c.uint(h.offBytes)
	sumAt := c.pos
	if h.checksummed {
		c.u32()
	}
	if c.err != nil {
		return nil, c.err
	}
	if version != 0 || off != blockOff {
		return nil, errorf(ErrFormat, "direct block version %d, offset %d, want offset %d", version, off, blockOff)
	}
	if h.checksummed && !h.verified[addr] {
		q := append([]byte(nil), p...)
		copy(q[sumAt:sumAt+checksumSize], []byte{0, 0, 0, 0})
		if sum, got := le.Uint32(p[sumAt:]), checksum(q); sum != got {
			return nil, errorf(ErrChecksum, "direct block checksum 0x%08x, computed 0x%08x", sum, got)
		}
		h.verified[addr] = true
	}
	return p, nil
}

// locate finds the direct block holding heap offset off, starting from the
// indirect block at addr with nrows rows that begins at heap offset base.
func (h *fractalHeap) locate(addr uint64, nrows int, base, off uint64, depth int) (block, blockOff, size uint64, err error) {
	if depth > maxFheapDepth {
		return 0, 0, 0, errorf(ErrFormat, "fractal heap indirect blocks nested too deep")
	}
	prefix := fheapBlockPrefix + h.d.offSize + h.offBytes
	p, err := h.d.rest(addr)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("indirect block: %w", err)
	}
	c := h.d.newCursor(p)
	c.signature("FHIB")
	c.skip(1 + h.d.offSize) // version, heap header address
	if got := c.uint(h.offBytes); c.err == nil && got != base {
		return 0, 0, 0, errorf(ErrFormat, "indirect block at 0x%x has offset %d, want %d", addr, got, base)
	}
	if c.err != nil {
		return 0, 0, 0, fmt.Errorf("indirect block at 0x%x: %w", addr, c.err)
	}
	rel := off - base
	r := 0
	for ; r < nrows; r++ {
		next, ok := h.rowStart(r + 1)
		if !ok || rel < next {
			break
		}
	}
	rs, ok1 := h.rowSize(r)
	start, ok2 := h.rowStart(r)
	if off < base || r >= nrows || !ok1 || !ok2 || (rel-start)/rs >= h.width {
		return 0, 0, 0, errorf(ErrFormat, "heap offset %d outside indirect block at 0x%x", off, addr)
	}
	col := (rel - start) / rs
	k := uint64(r)*h.width + col
	childOff := base + start + col*rs
	if entries := uint64(nrows) * h.width; entries > uint64(len(p)) {
		return 0, 0, 0, errorf(ErrFormat, "indirect block at 0x%x: %d entries exceed the file", addr, entries)
	} else if !h.verified[addr] {
		if err := checkSum(p, prefix+int(entries)*h.d.offSize); err != nil {
			return 0, 0, 0, fmt.Errorf("indirect block at 0x%x: %w", addr, err)
		}
		h.verified[addr] = true
	}
	if r < h.directRows {
		c.skip(int(k) * h.d.offSize)
		return c.addr(), childOff, rs, c.err
	}
	// Indirect block entries follow the direct ones, so entry k is the
	// k-th address either way.
	c.pos = prefix + int(k)*h.d.offSize
	child := c.addr()
	if c.err != nil {
		return 0, 0, 0, c.err
	}
	childRows := bits.TrailingZeros64(rs) - bits.TrailingZeros64(h.start) - bits.TrailingZeros64(h.width) + 1
	if childRows < 1 {
		return 0, 0, 0, errorf(ErrFormat, "indirect block row %d too small for an indirect block", r)
	}
	return h.locate(child, childRows, childOff, off, depth+1)
}
