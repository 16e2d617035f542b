package hdf5

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
)

// Filter identifiers.
const (
	filterDeflate     = 1
	filterShuffle     = 2
	filterFletcher32  = 3
	filterSzip        = 4
	filterNbit        = 5
	filterScaleOffset = 6
	filterReserved    = 256 // ids below this have no name field in version 2 pipelines
	maxFilters        = 32  // the filter mask has 32 bits
)

// filter is one stage of a filter pipeline.
type filter struct {
	id     uint16
	params []uint32
}

// pipeline returns the filter pipeline of h (none when h has no filter
// pipeline message).
func (d *decoder) pipeline(h *objHeader) ([]filter, error) {
	m := h.find(msgFilters)
	if m == nil {
		return nil, nil
	}
	fs, err := d.parsePipeline(m.data)
	if err != nil {
		return nil, fmt.Errorf("filter pipeline message at 0x%x: %w", m.addr, err)
	}
	return fs, nil
}

// parsePipeline parses a version 1 or 2 filter pipeline message and checks
// that every filter is supported.
func (d *decoder) parsePipeline(data []byte) ([]filter, error) {
	c := d.newCursor(data)
	version, n := c.u8(), int(c.u8())
	if c.err != nil {
		return nil, c.err
	}
	if version != 1 && version != 2 {
		return nil, errorf(ErrUnsupported, "filter pipeline version %d", version)
	}
	if n > maxFilters {
		return nil, errorf(ErrFormat, "%d filters", n)
	}
	if version == 1 {
		c.skip(6) // reserved
	}
	fs := make([]filter, n)
	for i := range fs {
		f := &fs[i]
		f.id = c.u16()
		nameLen := 0
		if version == 1 || f.id >= filterReserved {
			nameLen = int(c.u16())
		}
		c.u16() // flags
		nparams := int(c.u16())
		if version == 1 {
			nameLen = pad8(nameLen)
		}
		c.skip(nameLen)
		if c.err == nil && nparams > c.left()/4 {
			return nil, errorf(ErrFormat, "filter %d has %d parameters", f.id, nparams)
		}
		for range nparams {
			f.params = append(f.params, c.u32())
		}
		if version == 1 && nparams%2 == 1 {
			c.skip(4) // padding to 8 bytes
		}
		if c.err != nil {
			return nil, c.err
		}
		switch f.id {
		case filterDeflate, filterShuffle, filterFletcher32:
		default:
			return nil, errorf(ErrUnsupported, "unsupported filter %d (%s)", f.id, filterName(f.id))
		}
	}
	return fs, nil
}

// filterName names the predefined filters and a few registered ones.
func filterName(id uint16) string {
	switch id {
	case filterSzip:
		return "szip"
	case filterNbit:
		return "nbit"
	case filterScaleOffset:
		return "scale-offset"
	case 32000:
		return "lzf"
	case 32001:
		return "blosc"
	case 32004:
		return "lz4"
	case 32008:
		return "bitshuffle"
	case 32015:
		return "zstd"
	}
	return "unknown"
}

// unfilter reverses the filters of a chunk (skipping those whose bit is set
// in mask) and returns its want bytes.
func (d *decoder) unfilter(fs []filter, mask uint32, p []byte, want int, elemSize int) ([]byte, error) {
	for i := len(fs) - 1; i >= 0; i-- {
		if mask&(1<<uint(i)) != 0 {
			continue
		}
		var err error
		switch fs[i].id {
		case filterDeflate:
			// Filters after deflate in the pipeline may have grown the
			// data (Fletcher-32 appends 4 bytes).
			p, err = d.inflate(p, want+checksumSize*len(fs))
		case filterShuffle:
			p, err = d.unshuffle(fs[i], p, elemSize)
		case filterFletcher32:
			p, err = unfletcher(p)
		}
		if err != nil {
			return nil, fmt.Errorf("filter %d: %w", fs[i].id, err)
		}
	}
	if len(p) != want {
		return nil, errorf(ErrFormat, "chunk has %d bytes after filtering, want %d", len(p), want)
	}
	return p, nil
}

// inflate decompresses a zlib stream that must not exceed max bytes.
func (d *decoder) inflate(p []byte, max int) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(p))
	if err != nil {
		return nil, errorf(ErrFormat, "deflate: %v", err)
	}
	defer zr.Close()
	if err := d.reserveInflated(uint64(max)); err != nil {
		return nil, err
	}
	out := make([]byte, max+1)
	n := 0
	for {
		if n == len(out) {
			return nil, errorf(ErrFormat, "deflate: output exceeds %d bytes", max)
		}
		k, err := zr.Read(out[n:])
		n += k
		if err == io.EOF {
			return out[:n], nil
		}
		if err != nil {
			return nil, errorf(ErrFormat, "deflate: %v", err)
		}
	}
}

// unshuffle reverses the byte shuffle filter: the stored bytes are grouped
// by byte position within the element. A trailing partial element is left
// as stored.
func (d *decoder) unshuffle(f filter, p []byte, elemSize int) ([]byte, error) {
	size := elemSize
	if len(f.params) > 0 {
		size = int(f.params[0])
	}
	if size <= 1 || len(p) < size {
		return p, nil
	}
	if err := d.reserveInflated(uint64(len(p))); err != nil {
		return nil, err
	}
	n := len(p) / size
	out := make([]byte, len(p))
	for b := range size {
		src := p[b*n : (b+1)*n]
		for i, x := range src {
			out[i*size+b] = x
		}
	}
	copy(out[n*size:], p[n*size:])
	return out, nil
}

// unfletcher verifies and strips the Fletcher-32 checksum that ends p. A
// checksum with the bytes of each 16-bit half swapped is accepted too: old
// libhdf5 releases wrote it that way on little-endian machines.
func unfletcher(p []byte) ([]byte, error) {
	if len(p) < checksumSize {
		return nil, errorf(ErrFormat, "fletcher32: chunk of %d bytes", len(p))
	}
	data := p[:len(p)-checksumSize]
	stored := le.Uint32(p[len(data):])
	sum := fletcher32(data)
	swapped := sum&0x00ff00ff<<8 | sum>>8&0x00ff00ff
	if stored != sum && stored != swapped {
		return nil, errorf(ErrChecksum, "fletcher32 checksum 0x%08x, computed 0x%08x", stored, sum)
	}
	return data, nil
}
