package hdf5

import "math/bits"

// lookup3Seed is the initial value of the Jenkins lookup3 hash ("hashlittle")
// that HDF5 uses for metadata checksums.
const lookup3Seed = 0xdeadbeef

// checksum returns the Jenkins lookup3 hashlittle of p with initial value 0,
// reading p byte-wise as little-endian 32-bit words.
func checksum(p []byte) uint32 {
	a := uint32(lookup3Seed) + uint32(len(p))
	b, c := a, a
	for len(p) > 12 {
		a += le.Uint32(p[0:])
		b += le.Uint32(p[4:])
		c += le.Uint32(p[8:])
		a, b, c = lookup3Mix(a, b, c)
		p = p[12:]
	}
	if len(p) == 0 {
		return c
	}
	var tail [12]byte
	copy(tail[:], p)
	a += le.Uint32(tail[0:])
	b += le.Uint32(tail[4:])
	c += le.Uint32(tail[8:])
	return lookup3Final(a, b, c)
}

// lookup3Mix mixes three 32-bit values reversibly.
func lookup3Mix(a, b, c uint32) (uint32, uint32, uint32) {
	a -= c
	a ^= bits.RotateLeft32(c, 4)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 6)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 8)
	b += a
	a -= c
	a ^= bits.RotateLeft32(c, 16)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 19)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 4)
	b += a
	return a, b, c
}

// lookup3Final is the final mixing of three 32-bit values into c.
func lookup3Final(a, b, c uint32) uint32 {
	c ^= b
	c -= bits.RotateLeft32(b, 14)
	a ^= c
	a -= bits.RotateLeft32(c, 11)
	b ^= a
	b -= bits.RotateLeft32(a, 25)
	c ^= b
	c -= bits.RotateLeft32(b, 16)
	a ^= c
	a -= bits.RotateLeft32(c, 4)
	b ^= a
	b -= bits.RotateLeft32(a, 14)
	c ^= b
	c -= bits.RotateLeft32(b, 24)
	return c
}

// fletcherBlock is the number of 16-bit words summed before the running
// sums are folded back into 16 bits.
const fletcherBlock = 360

// fletcher32 returns the Fletcher-32 checksum of p as the HDF5 fletcher32
// filter computes it: 16-bit words taken big-endian, an odd last byte taken
// as the high byte of a word.
func fletcher32(p []byte) uint32 {
	var s1, s2 uint32
	fold := func() {
		s1 = s1&0xffff + s1>>16
		s2 = s2&0xffff + s2>>16
	}
	words := len(p) / 2
	for words > 0 {
		n := min(words, fletcherBlock)
		words -= n
		for ; n > 0; n-- {
			s1 += uint32(p[0])<<8 | uint32(p[1])
			s2 += s1
			p = p[2:]
		}
		fold()
	}
	if len(p) == 1 {
		s1 += uint32(p[0]) << 8
		s2 += s1
		fold()
	}
	fold()
	return s2<<16 | s1
}
