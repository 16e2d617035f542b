package hdf5

import "fmt"

// Fixed array index constants.
const (
	fixedArrayVersion   = 0
	fixedArrayFiltered  = 1 // client id: entries carry size and filter mask
	chunkKeyFixedFields = 8 // version 1 B-tree chunk key: 4-byte size, 4-byte filter mask
)

// chunkLoc is one stored chunk: its element offsets, address, stored size
// and filter mask.
type chunkLoc struct {
	offs []uint64
	addr uint64
	size uint64
	mask uint32
}

// chunkGrid describes how a dataspace is split into chunks.
type chunkGrid struct {
	dims, chunk, grid []uint64 // grid: chunks per dimension
	count             uint64   // chunks in all
}

func newChunkGrid(dims, chunk []uint64) *chunkGrid {
	g := &chunkGrid{dims: dims, chunk: chunk, grid: make([]uint64, len(dims)), count: 1}
	for i := range dims {
		g.grid[i] = (dims[i] + chunk[i] - 1) / chunk[i]
		g.count *= g.grid[i]
	}
	return g
}

// index returns the row-major grid index of the chunk at element offsets
// offs; ok is false when offs is outside the dataspace or not on the grid.
func (g *chunkGrid) index(offs []uint64) (idx uint64, ok bool) {
	for i, o := range offs {
		if o >= g.dims[i] || o%g.chunk[i] != 0 {
			return 0, false
		}
		idx = idx*g.grid[i] + o/g.chunk[i]
	}
	return idx, true
}

// offsets returns the element offsets of the chunk with grid index idx.
func (g *chunkGrid) offsets(idx uint64) []uint64 {
	offs := make([]uint64, len(g.dims))
	for i := len(g.dims) - 1; i >= 0; i-- {
		offs[i] = idx % g.grid[i] * g.chunk[i]
		idx /= g.grid[i]
	}
	return offs
}

// partial reports whether the chunk at offs extends past the dataspace.
func (g *chunkGrid) partial(offs []uint64) bool {
	for i, o := range offs {
		if o+g.chunk[i] > g.dims[i] {
			return true
		}
	}
	return false
}

// readChunks reads every stored chunk of a chunked dataset into out, which
// already holds the fill value.
func (d *decoder) readChunks(l *layout, fs []filter, dims []uint64, elemSize int, out []byte) error {
	if len(out) == 0 || l.addr == undefAddr {
		return nil
	}
	g := newChunkGrid(dims, l.chunk)
	chunkBytes := elemSize
	for _, c := range l.chunk {
		chunkBytes *= int(c) // bounded by Limits.MaxBytes in setChunk
	}
	seen := map[uint64]bool{}
	place := func(loc chunkLoc) error {
		idx, ok := g.index(loc.offs)
		if !ok || loc.addr == undefAddr {
			return nil // outside the current extent, or not allocated
		}
		if seen[idx] {
			return errorf(ErrFormat, "chunk at %v stored twice", loc.offs)
		}
		seen[idx] = true
		p, err := d.slice(loc.addr, loc.size)
		if err != nil {
			return fmt.Errorf("chunk at %v: %w", loc.offs, err)
		}
		if len(fs) > 0 && !(l.flags&layoutFlagNoEdgeFilt != 0 && g.partial(loc.offs)) {
			if p, err = d.unfilter(fs, loc.mask, p, chunkBytes, elemSize); err != nil {
				return fmt.Errorf("chunk at %v: %w", loc.offs, err)
			}
		} else if len(p) < chunkBytes {
			return errorf(ErrFormat, "chunk at %v has %d bytes, want %d", loc.offs, len(p), chunkBytes)
		}
		copyChunk(out, p, g, loc.offs, elemSize)
		return nil
	}
	switch l.index {
	case chunkIndexBTreeV1:
		return d.btreeChunks(l.addr, len(dims), place)
	case chunkIndexSingle:
		size := uint64(chunkBytes)
		if l.flags&layoutFlagSingleFilt != 0 {
			size = l.singleSize
		}
		return place(chunkLoc{offs: make([]uint64, len(dims)), addr: l.addr, size: size, mask: l.singleMask})
	case chunkIndexImplicit:
		for i := range g.count {
			if err := place(chunkLoc{offs: g.offsets(i), addr: l.addr + i*uint64(chunkBytes), size: uint64(chunkBytes)}); err != nil {
				return err
			}
		}
		return nil
	case chunkIndexFixedArray:
		return d.fixedArrayChunks(l, g, chunkBytes, place)
	}
	return errorf(ErrUnsupported, "chunk index type %d", l.index)
}

// btreeChunks visits the chunks indexed by the version 1 B-tree at addr.
func (d *decoder) btreeChunks(addr uint64, rank int, place func(chunkLoc) error) error {
	keySize := chunkKeyFixedFields + 8*(rank+1)
	return d.walkBTreeV1(addr, btreeChunkNode, keySize, -1, map[uint64]bool{}, func(key []byte, child uint64) error {
		c := &cursor{b: key}
		loc := chunkLoc{addr: child, size: uint64(c.u32()), mask: c.u32(), offs: make([]uint64, rank)}
		for i := range loc.offs {
			loc.offs[i] = c.u64()
		}
		return place(loc)
	})
}

// copyChunk copies the part of a chunk at element offsets offs that lies
// inside the dataspace into out.
func copyChunk(out, chunk []byte, g *chunkGrid, offs []uint64, elemSize int) {
	r := len(g.dims)
	ext := make([]int, r)
	for i := range r {
		ext[i] = int(min(g.chunk[i], g.dims[i]-offs[i]))
	}
	srcStride := make([]int, r)
	dstStride := make([]int, r)
	srcStride[r-1], dstStride[r-1] = elemSize, elemSize
	for i := r - 2; i >= 0; i-- {
		srcStride[i] = srcStride[i+1] * int(g.chunk[i+1])
		dstStride[i] = dstStride[i+1] * int(g.dims[i+1])
	}
	run := ext[r-1] * elemSize
	pos := make([]int, r) // position inside the chunk; pos[r-1] stays 0
	for {
		src, dst := 0, 0
		for i := range r {
			src += pos[i] * srcStride[i]
			dst += (int(offs[i]) + pos[i]) * dstStride[i]
		}
		copy(out[dst:dst+run], chunk[src:src+run])
		k := r - 2
		for ; k >= 0; k-- {
			pos[k]++
			if pos[k] < ext[k] {
				break
			}
			pos[k] = 0
		}
		if k < 0 {
			return
		}
	}
}

// fixedArrayChunks visits the chunks indexed by the fixed array whose
// header is at l.addr.
func (d *decoder) fixedArrayChunks(l *layout, g *chunkGrid, chunkBytes int, place func(chunkLoc) error) error {
	// Signature, version, client id, entry size, page bits, entry count,
	// data block address, checksum.
	hsize := uint64(4 + 4 + d.lenSize + d.offSize + checksumSize)
	p, err := d.slice(l.addr, hsize)
	if err != nil {
		return fmt.Errorf("fixed array header: %w", err)
	}
	c := d.newCursor(p)
	c.signature("FAHD")
	version, client, entrySize, pageBits := c.u8(), c.u8(), int(c.u8()), c.u8()
	nents := c.length()
	dblock := c.addr()
	if c.err != nil {
		return fmt.Errorf("fixed array header at 0x%x: %w", l.addr, c.err)
	}
	if err := checkSum(p, c.pos); err != nil {
		return fmt.Errorf("fixed array header at 0x%x: %w", l.addr, err)
	}
	if version != fixedArrayVersion || client > fixedArrayFiltered || pageBits > 32 {
		return errorf(ErrUnsupported, "fixed array header at 0x%x: version %d, client %d, page bits %d", l.addr, version, client, pageBits)
	}
	minEntry := d.offSize
	if client == fixedArrayFiltered {
		minEntry += 1 + 4
	}
	if entrySize < minEntry || entrySize > d.offSize+8+4 {
		return errorf(ErrFormat, "fixed array entry size %d", entrySize)
	}
	fa := &fixedArray{client: client, entrySize: entrySize, pageBits: pageBits, n: min(nents, g.count), chunkBytes: uint64(chunkBytes)}
	if err := d.fixedArrayBlock(dblock, fa, nents, g, place); err != nil {
		return fmt.Errorf("fixed array data block at 0x%x: %w", dblock, err)
	}
	return nil
}

// fixedArray holds the parameters of a fixed array chunk index.
type fixedArray struct {
	client     uint8
	entrySize  int
	pageBits   uint8
	n          uint64 // entries to visit
	chunkBytes uint64 // size of an unfiltered chunk
}

// fixedArrayBlock parses a fixed array data block (and its pages) holding
// nents entries.
func (d *decoder) fixedArrayBlock(addr uint64, fa *fixedArray, nents uint64, g *chunkGrid, place func(chunkLoc) error) error {
	if addr == undefAddr {
		return nil
	}
	p, err := d.rest(addr)
	if err != nil {
		return err
	}
	prefix := 4 + 2 + d.offSize // signature, version, client id, header address
	pageSize := uint64(1) << fa.pageBits
	if nents > uint64(len(p)) {
		return errorf(ErrFormat, "%d entries exceed the file", nents)
	}
	if nents <= pageSize {
		body := prefix + int(nents)*fa.entrySize
		if err := checkSum(p, body); err != nil {
			return err
		}
		return d.fixedArrayEntries(p[prefix:body], fa, 0, g, place)
	}
	npages := (nents + pageSize - 1) / pageSize
	bitmap := int((npages + 7) / 8)
	if err := checkSum(p, prefix+bitmap); err != nil {
		return err
	}
	at := prefix + bitmap + checksumSize
	for pg := range npages {
		count := min(pageSize, nents-pg*pageSize)
		size := int(count) * fa.entrySize
		if p[prefix+int(pg/8)]&(0x80>>(pg%8)) == 0 {
			at += size + checksumSize // page never written: no chunks
			continue
		}
		if at > len(p) {
			return errorf(ErrFormat, "page %d beyond the end of the file", pg)
		}
		if err := checkSum(p[at:], size); err != nil {
			return fmt.Errorf("page %d: %w", pg, err)
		}
		if err := d.fixedArrayEntries(p[at:at+size], fa, pg*pageSize, g, place); err != nil {
			return err
		}
		at += size + checksumSize
	}
	return nil
}

// checkSum verifies the checksum stored after the first n bytes of p.
func checkSum(p []byte, n int) error {
	if n < 0 || n > len(p)-checksumSize {
		return errorf(ErrFormat, "truncated: need %d bytes, have %d", n+checksumSize, len(p))
	}
	if sum, got := le.Uint32(p[n:]), checksum(p[:n]); sum != got {
		return errorf(ErrChecksum, "checksum 0x%08x, computed 0x%08x", sum, got)
	}
	return nil
}

// fixedArrayEntries visits the entries in p, the first having index first.
func (d *decoder) fixedArrayEntries(p []byte, fa *fixedArray, first uint64, g *chunkGrid, place func(chunkLoc) error) error {
	c := d.newCursor(p)
	sizeBytes := fa.entrySize - d.offSize - 4
	for i := first; c.left() >= fa.entrySize && i < fa.n; i++ {
		loc := chunkLoc{offs: g.offsets(i), addr: c.addr()}
		if fa.client == fixedArrayFiltered {
			loc.size = c.uint(sizeBytes)
			loc.mask = c.u32()
		} else {
			loc.size = fa.chunkBytes
		}
		if c.err != nil {
			return c.err
		}
		if err := place(loc); err != nil {
			return err
		}
	}
	return nil
}
