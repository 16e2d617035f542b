package hdf5

import (
	"fmt"
	"math/bits"
)

// Layout message constants.
const (
	layoutVersion4       = 4
	layoutFlagNoEdgeFilt = 0x01 // v4: partial edge chunks are not filtered
	layoutFlagSingleFilt = 0x02 // v4 single chunk index: filtered size and mask present
	chunkIndexBTreeV1    = 0    // versions 1-3: version 1 B-tree (not a v4 code)
	chunkIndexSingle     = 1
	chunkIndexImplicit   = 2
	chunkIndexFixedArray = 3
	chunkIndexExtArray   = 4
	chunkIndexBTreeV2    = 5
)

// layout is a parsed data layout message.
type layout struct {
	class      uint8
	addr       uint64   // contiguous data, or chunk index
	size       uint64   // contiguous size
	compact    []byte   // compact data
	chunk      []uint64 // chunk dimensions, without the element size
	index      uint8    // chunk index type
	flags      uint8    // version 4 flags
	singleSize uint64   // single chunk index: filtered chunk size
	singleMask uint32   // single chunk index: filter mask
	pageBits   uint8    // fixed array index: page size bits
}

// dataset decodes the dataset described by h.
func (d *decoder) dataset(h *objHeader, name string) (*Dataset, error) {
	if err := d.countObject(); err != nil {
		return nil, err
	}
	if h.has(msgExternal) {
		return nil, errorf(ErrUnsupported, "external data storage")
	}
	ds := &Dataset{Name: name}
	var err error
	if ds.Attrs, err = d.attributes(h); err != nil {
		return nil, err
	}
	need := func(typ uint16, what string) (*hdrMsg, error) {
		if m := h.find(typ); m != nil {
			return m, nil
		}
		return nil, errorf(ErrFormat, "no %s message", what)
	}
	msgs := make([]*hdrMsg, 3)
	for i, w := range []struct {
		typ  uint16
		name string
	}{{msgDataspace, "dataspace"}, {msgDatatype, "datatype"}, {msgLayout, "layout"}} {
		if msgs[i], err = need(w.typ, w.name); err != nil {
			return nil, err
		}
	}
	dims, err := d.dataspace(msgs[0].data)
	if err != nil {
		return nil, err
	}
	t, err := d.datatype(msgs[1].data)
	if err != nil {
		return nil, err
	}
	n, err := d.reserveElements(ds, dims, t)
	if err != nil {
		return nil, err
	}
	lay, err := d.layout(msgs[2].data, len(dims), t.size)
	if err != nil {
		return nil, fmt.Errorf("layout message at 0x%x: %w", msgs[2].addr, err)
	}
	raw, err := d.rawData(h, lay, dims, n, t.size)
	if err != nil {
		return nil, err
	}
	if err := d.values(ds, raw, n, t); err != nil {
		return nil, err
	}
	return ds, nil
}

// reserveElements sets ds.Shape from dims, checks the element count
// against the value budget and returns it.
func (d *decoder) reserveElements(ds *Dataset, dims []uint64, t *dtype) (int, error) {
	n := uint64(1)
	if len(dims) > 0 {
		ds.Shape = make([]int, len(dims))
	}
	budget := uint64(d.lim.MaxBytes)
	for i, x := range dims {
		hi, lo := bits.Mul64(n, x)
		if x > budget || hi != 0 || lo > budget {
			return 0, errorf(ErrLimit, "dataspace %v exceeds Limits.MaxBytes", dims)
		}
		ds.Shape[i] = int(x)
		n = lo
	}
	hi, cost := bits.Mul64(n, valueCost(t.kind()))
	if hi != 0 {
		return 0, errorf(ErrLimit, "dataspace %v exceeds Limits.MaxBytes", dims)
	}
	if err := d.reserveValues(cost); err != nil {
		return 0, err
	}
	return int(n), nil
}

// layout parses a data layout message for a dataspace of the given rank
// and an element size.
func (d *decoder) layout(data []byte, rank, elemSize int) (*layout, error) {
	c := d.newCursor(data)
	version := c.u8()
	if c.err != nil {
		return nil, c.err
	}
	switch version {
	case 1, 2:
		return d.layoutV12(c, rank, elemSize)
	case layoutVersion3, layoutVersion4:
	default:
		return nil, errorf(ErrUnsupported, "layout version %d", version)
	}
	l := &layout{class: c.u8()}
	switch l.class {
	case layoutCompact:
		n := int(c.u16())
		l.compact = c.bytes(n)
	case layoutContiguous:
		l.addr, l.size = c.addr(), c.length()
	case layoutChunked:
		if version == layoutVersion3 {
			return l, d.chunkedV3(c, l, rank, elemSize)
		}
		return l, d.chunkedV4(c, l, rank, elemSize)
	case layoutVirtual:
		return nil, errorf(ErrUnsupported, "virtual dataset layout")
	default:
		return nil, errorf(ErrFormat, "layout class %d", l.class)
	}
	return l, c.err
}

// layoutV12 parses the rest of a version 1 or 2 layout message.
func (d *decoder) layoutV12(c *cursor, rank, elemSize int) (*layout, error) {
	ndims := int(c.u8())
	l := &layout{class: c.u8()}
	c.skip(5) // reserved
	if l.class != layoutCompact {
		l.addr = c.addr()
	}
	dims := make([]uint64, 0, min(ndims, maxRank+1))
	for range min(ndims, maxRank+1) {
		dims = append(dims, uint64(c.u32()))
	}
	if c.err != nil {
		return nil, c.err
	}
	switch l.class {
	case layoutCompact:
		n := c.u32()
		l.compact = c.bytes(int(n))
	case layoutContiguous:
		l.size = undefAddr // the size is the dataset's
	case layoutChunked:
		if err := d.setChunk(l, dims, rank, elemSize); err != nil {
			return nil, err
		}
	default:
		return nil, errorf(ErrFormat, "layout class %d", l.class)
	}
	return l, c.err
}

// chunkedV3 parses the chunked part of a version 3 layout message.
func (d *decoder) chunkedV3(c *cursor, l *layout, rank, elemSize int) error {
	ndims := int(c.u8())
	l.addr = c.addr()
	if ndims > maxRank+1 {
		return errorf(ErrFormat, "chunk rank %d", ndims)
	}
	dims := make([]uint64, ndims)
	for i := range dims {
		dims[i] = uint64(c.u32())
	}
	if c.err != nil {
		return c.err
	}
	l.index = chunkIndexBTreeV1
	return d.setChunk(l, dims, rank, elemSize)
}

// chunkedV4 parses the chunked part of a version 4 layout message.
func (d *decoder) chunkedV4(c *cursor, l *layout, rank, elemSize int) error {
	l.flags = c.u8()
	ndims := int(c.u8())
	enc := int(c.u8())
	if c.err != nil {
		return c.err
	}
	if ndims > maxRank+1 || enc < 1 || enc > 8 {
		return errorf(ErrFormat, "chunk rank %d with %d-byte dimensions", ndims, enc)
	}
	dims := make([]uint64, ndims)
	for i := range dims {
		dims[i] = c.uint(enc)
	}
	l.index = c.u8()
	switch l.index {
	case chunkIndexSingle:
		if l.flags&layoutFlagSingleFilt != 0 {
			l.singleSize, l.singleMask = c.length(), c.u32()
		}
	case chunkIndexImplicit:
	case chunkIndexFixedArray:
		l.pageBits = c.u8()
	case chunkIndexExtArray, chunkIndexBTreeV2:
		if c.err == nil {
			return errorf(ErrUnsupported, "unsupported chunk index type %d (%s)", l.index, map[uint8]string{
				chunkIndexExtArray: "extensible array", chunkIndexBTreeV2: "version 2 B-tree"}[l.index])
		}
	default:
		if c.err == nil {
			return errorf(ErrUnsupported, "unsupported chunk index type %d", l.index)
		}
	}
	l.addr = c.addr()
	if c.err != nil {
		return c.err
	}
	return d.setChunk(l, dims, rank, elemSize)
}

// setChunk checks the chunk dimensions of a layout message (rank+1 of them,
// the last being the element size) and records the first rank.
func (d *decoder) setChunk(l *layout, dims []uint64, rank, elemSize int) error {
	if len(dims) != rank+1 || rank == 0 {
		return errorf(ErrFormat, "chunk rank %d for a dataspace of rank %d", len(dims)-1, rank)
	}
	if dims[rank] != uint64(elemSize) {
		return errorf(ErrFormat, "chunk element size %d, datatype size %d", dims[rank], elemSize)
	}
	size := uint64(elemSize)
	for _, x := range dims[:rank] {
		if x == 0 {
			return errorf(ErrFormat, "zero chunk dimension")
		}
		hi, lo := bits.Mul64(size, x)
		if hi != 0 || lo > uint64(d.lim.MaxBytes) {
			return errorf(ErrLimit, "chunk of %v elements exceeds Limits.MaxBytes", dims[:rank])
		}
		size = lo
	}
	l.chunk = dims[:rank]
	return nil
}

// rawData returns the n*elemSize bytes of a dataset's elements.
func (d *decoder) rawData(h *objHeader, l *layout, dims []uint64, n, elemSize int) ([]byte, error) {
	size := uint64(n) * uint64(elemSize)
	switch l.class {
	case layoutCompact:
		if uint64(len(l.compact)) < size {
			return nil, errorf(ErrFormat, "compact data of %d bytes for %d elements", len(l.compact), n)
		}
		return l.compact[:size], nil
	case layoutContiguous:
		if l.addr == undefAddr || size == 0 {
			return d.filled(h, size, elemSize)
		}
		if l.size != undefAddr && l.size < size {
			return nil, errorf(ErrFormat, "contiguous storage of %d bytes for %d", l.size, size)
		}
		p, err := d.slice(l.addr, size)
		if err != nil {
			return nil, fmt.Errorf("contiguous data: %w", err)
		}
		return p, nil
	}
	out, err := d.filled(h, size, elemSize)
	if err != nil {
		return nil, err
	}
	pipe, err := d.pipeline(h)
	if err != nil {
		return nil, err
	}
	if err := d.readChunks(l, pipe, dims, elemSize, out); err != nil {
		return nil, fmt.Errorf("chunked data: %w", err)
	}
	return out, nil
}

// filled returns size bytes holding the dataset's fill value (zero unless
// a fill value message defines one of the element size).
func (d *decoder) filled(h *objHeader, size uint64, elemSize int) ([]byte, error) {
	if err := d.reserveInflated(size); err != nil {
		return nil, err
	}
	out := make([]byte, size)
	fill := d.fillValue(h)
	if len(fill) != elemSize || allZero(fill) {
		return out, nil
	}
	for i := 0; i+elemSize <= len(out); i += elemSize {
		copy(out[i:], fill)
	}
	return out, nil
}

// allZero reports whether p holds only zero bytes.
func allZero(p []byte) bool {
	for _, x := range p {
		if x != 0 {
			return false
		}
	}
	return true
}

// fillValue returns the fill value defined by h's fill value messages, or
// nil.
func (d *decoder) fillValue(h *objHeader) []byte {
	if m := h.find(msgFill); m != nil {
		c := d.newCursor(m.data)
		version := c.u8()
		switch version {
		case 1, 2:
			c.skip(2) // allocation and fill write times
			if defined := c.u8(); version == 1 || defined != 0 {
				return c.bytes(int(c.u32()))
			}
		case 3:
			const fillFlagDefined = 0x20 // bit 5: a fill value follows
			if flags := c.u8(); flags&fillFlagDefined != 0 {
				return c.bytes(int(c.u32()))
			}
		}
		return nil
	}
	if m := h.find(msgFillOld); m != nil {
		c := d.newCursor(m.data)
		return c.bytes(int(c.u32()))
	}
	return nil
}
