package hdf5

// cursor reads little-endian fields from a bounded byte region. The first
// read past the end sets err, and every later read returns zero, so a parser
// checks err once after a group of reads.
type cursor struct {
	b       []byte
	pos     int
	offSize int // bytes per file address
	lenSize int // bytes per length
	err     error
}

// newCursor returns a cursor over b using the decoder's field sizes.
func (d *decoder) newCursor(b []byte) *cursor {
	return &cursor{b: b, offSize: d.offSize, lenSize: d.lenSize}
}

// fail records err unless an error is already recorded.
func (c *cursor) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// left returns the number of unread bytes.
func (c *cursor) left() int { return len(c.b) - c.pos }

// bytes returns the next n bytes (a sub-slice, not a copy).
func (c *cursor) bytes(n int) []byte {
	if c.err != nil {
		return nil
	}
	if n < 0 || n > c.left() {
		c.fail(errorf(ErrFormat, "truncated: need %d bytes at +%d, have %d", n, c.pos, max(c.left(), 0)))
		return nil
	}
	p := c.b[c.pos : c.pos+n : c.pos+n]
	c.pos += n
	return p
}

// skip advances n bytes.
func (c *cursor) skip(n int) { c.bytes(n) }

// uint reads an n-byte little-endian unsigned integer (n ≤ 8).
func (c *cursor) uint(n int) uint64 {
	p := c.bytes(n)
	var v uint64
	for i := len(p) - 1; i >= 0; i-- {
		v = v<<8 | uint64(p[i])
	}
	return v
}

func (c *cursor) u8() uint8   { return uint8(c.uint(1)) }
func (c *cursor) u16() uint16 { return uint16(c.uint(2)) }
func (c *cursor) u32() uint32 { return uint32(c.uint(4)) }
func (c *cursor) u64() uint64 { return c.uint(8) }

// addr reads a file address; the undefined address (all bits set) is
// returned as undefAddr whatever the address size.
func (c *cursor) addr() uint64 {
	v := c.uint(c.offSize)
	if c.err == nil && c.offSize < 8 && v == 1<<(8*c.offSize)-1 {
		return undefAddr
	}
	return v
}

// length reads a length field.
func (c *cursor) length() uint64 {
	v := c.uint(c.lenSize)
	if c.err == nil && c.lenSize < 8 && v == 1<<(8*c.lenSize)-1 {
		return undefAddr
	}
	return v
}

// signature reads len(sig) bytes and records an error unless they equal sig.
func (c *cursor) signature(sig string) {
	p := c.bytes(len(sig))
	if c.err == nil && string(p) != sig {
		c.fail(errorf(ErrFormat, "bad signature %q, want %q", p, sig))
	}
}
