package hdf5

import "fmt"

// Superblock versions.
const (
	superblockV0 = 0
	superblockV1 = 1
	superblockV2 = 2
	superblockV3 = 3
)

// userBlockStart is the smallest offset past 0 at which a superblock may
// sit (after a user block); larger candidates are its powers-of-two
// multiples.
const userBlockStart = 512

// findSignature returns the offset of the format signature: 0 or a power of
// two from 512 on.
func (d *decoder) findSignature() (uint64, error) {
	for off := uint64(0); off+uint64(len(signature)) <= uint64(len(d.b)); {
		if string(d.b[off:off+uint64(len(signature))]) == signature {
			return off, nil
		}
		if off == 0 {
			off = userBlockStart
		} else {
			off *= 2
		}
	}
	return 0, errorf(ErrFormat, "no HDF5 signature (not an HDF5 file)")
}

// superblock parses the superblock, sets the decoder's base address and
// field sizes, and returns the root group's object header address.
func (d *decoder) superblock() (uint64, error) {
	at, err := d.findSignature()
	if err != nil {
		return 0, err
	}
	c := &cursor{b: d.b[at:]}
	c.skip(len(signature))
	version := c.u8()
	if c.err != nil {
		return 0, c.err
	}
	var root, eof uint64
	switch version {
	case superblockV0, superblockV1:
		root, eof, err = d.superblockV01(c, version)
	case superblockV2, superblockV3:
		root, eof, err = d.superblockV23(c)
	default:
		return 0, errorf(ErrUnsupported, "superblock version %d at 0x%x", version, at)
	}
	if err != nil {
		return 0, fmt.Errorf("at 0x%x: %w", at, err)
	}
	// Addresses are relative to the base address, which libhdf5 takes to
	// be where the superblock was found. The end-of-file address is
	// compared with the whole file's size, as libhdf5 does.
	d.base = at
	if eof != undefAddr && eof > uint64(len(d.b)) {
		return 0, errorf(ErrFormat, "truncated file: end-of-file address is 0x%x but the file has %d bytes", eof, len(d.b))
	}
	return root, nil
}

// setSizes records and checks the address and length sizes.
func (d *decoder) setSizes(c *cursor, offSize, lenSize uint8) error {
	ok := func(n uint8) bool { return n == 2 || n == 4 || n == 8 }
	if !ok(offSize) || !ok(lenSize) {
		return errorf(ErrUnsupported, "address size %d / length size %d (2, 4 or 8 supported)", offSize, lenSize)
	}
	d.offSize, d.lenSize = int(offSize), int(lenSize)
	c.offSize, c.lenSize = d.offSize, d.lenSize
	return nil
}

// superblockV01 parses the rest of a version 0 or 1 superblock.
func (d *decoder) superblockV01(c *cursor, version uint8) (root, eof uint64, err error) {
	c.skip(3) // free-space, root symbol table entry and reserved versions
	c.skip(1) // shared header message version
	offSize, lenSize := c.u8(), c.u8()
	c.skip(1)         // reserved
	c.skip(2 + 2 + 4) // group leaf K, group internal K, consistency flags
	if version == superblockV1 {
		c.skip(4) // indexed storage internal K, reserved
	}
	if c.err != nil {
		return 0, 0, c.err
	}
	if err := d.setSizes(c, offSize, lenSize); err != nil {
		return 0, 0, err
	}
	c.addr() // base address
	c.addr() // free-space info
	eof = c.addr()
	c.addr() // driver information block
	c.addr() // root entry: link name offset
	root = c.addr()
	c.skip(4 + 4 + 16) // cache type, reserved, scratch pad
	return root, eof, c.err
}

// superblockV23 parses the rest of a version 2 or 3 superblock, whose last 4
// bytes are a checksum of the rest.
func (d *decoder) superblockV23(c *cursor) (root, eof uint64, err error) {
	offSize, lenSize := c.u8(), c.u8()
	c.skip(1) // consistency flags
	if c.err != nil {
		return 0, 0, c.err
	}
	if err := d.setSizes(c, offSize, lenSize); err != nil {
		return 0, 0, err
	}
	c.addr() // base address
	c.addr() // superblock extension
	eof = c.addr()
	root = c.addr()
	end := c.pos
	sum := c.u32()
	if c.err != nil {
		return 0, 0, c.err
	}
	if got := checksum(c.b[:end]); got != sum {
		return 0, 0, errorf(ErrChecksum, "superblock checksum 0x%08x, computed 0x%08x", sum, got)
	}
	return root, eof, nil
}
