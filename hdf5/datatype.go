package hdf5

import (
	"bytes"
	"fmt"
	"math"
	"unicode/utf8"
)

// Dataspace constants.
const (
	dataspaceV2         = 2
	dataspaceTypeScalar = 0
	dataspaceTypeSimple = 1
	dataspaceTypeNull   = 2
)

// Datatype bit-field flags.
const (
	dtBigEndian     = 0x01 // fixed-point and float: byte order
	dtSigned        = 0x08 // fixed-point: two's complement signed
	dtFloatVAXOrder = 0x40 // float: bit 6, with bit 0, selects VAX order
	vlenTypeString  = 1    // variable-length: low 4 bits 1 = string
	vlenTypeMask    = 0x0f
	maxDatatypeNest = 8 // enum and vlen base types nest at most this deep
)

// dataspace parses a dataspace message and returns its dimensions (none for
// a scalar).
func (d *decoder) dataspace(data []byte) ([]uint64, error) {
	c := d.newCursor(data)
	version, rank := c.u8(), int(c.u8())
	c.u8() // flags: maximum dimensions and permutation follow the dimensions
	typ := uint8(dataspaceTypeSimple)
	switch version {
	case dataspaceV1:
		c.skip(5) // reserved
		if rank == 0 {
			typ = dataspaceTypeScalar
		}
	case dataspaceV2:
		typ = c.u8()
	default:
		if c.err == nil {
			return nil, errorf(ErrUnsupported, "dataspace version %d", version)
		}
	}
	if c.err != nil {
		return nil, fmt.Errorf("dataspace: %w", c.err)
	}
	switch {
	case typ == dataspaceTypeNull:
		return nil, errorf(ErrUnsupported, "null (empty) dataspace")
	case typ == dataspaceTypeScalar:
		return nil, nil
	case typ != dataspaceTypeSimple:
		return nil, errorf(ErrFormat, "dataspace type %d", typ)
	case rank > maxRank:
		return nil, errorf(ErrFormat, "dataspace rank %d exceeds %d", rank, maxRank)
	}
	dims := make([]uint64, rank)
	for i := range dims {
		dims[i] = c.length()
	}
	if c.err != nil {
		return nil, fmt.Errorf("dataspace: %w", c.err)
	}
	return dims, nil
}

// dtype is a parsed datatype of one of the supported classes.
type dtype struct {
	class     uint8
	size      int
	bigEndian bool
	signed    bool  // fixed-point
	pad       uint8 // fixed-length string padding
	vlenStr   bool  // variable-length string
}

// kind returns the Kind values of t decode to.
func (t *dtype) kind() Kind {
	switch {
	case t.class == classFloat && t.size == 4:
		return Float32
	case t.class == classFloat:
		return Float64
	case t.class == classString || t.vlenStr:
		return String
	}
	return Int64
}

// className names a datatype class for error messages.
func className(class uint8) string {
	names := [...]string{"fixed-point", "floating-point", "time", "string", "bitfield", "opaque",
		"compound", "reference", "enum", "variable-length", "array"}
	if int(class) < len(names) {
		return names[class]
	}
	return fmt.Sprintf("class %d", class)
}

// datatype parses a datatype message.
func (d *decoder) datatype(data []byte) (*dtype, error) {
	t, err := d.datatypeNested(data, 0)
	if err != nil {
		return nil, fmt.Errorf("datatype: %w", err)
	}
	return t, nil
}

// datatypeNested parses a datatype message nested depth levels deep.
func (d *decoder) datatypeNested(data []byte, depth int) (*dtype, error) {
	if depth > maxDatatypeNest {
		return nil, errorf(ErrFormat, "datatypes nested too deep")
	}
	c := d.newCursor(data)
	cv := c.u8()
	bf := c.bytes(3)
	size := c.u32()
	if c.err != nil {
		return nil, c.err
	}
	class, version := cv&0x0f, cv>>4
	if version < 1 || version > 4 {
		return nil, errorf(ErrUnsupported, "datatype version %d", version)
	}
	t := &dtype{class: class, size: int(size)}
	if size == 0 || size > math.MaxInt32 {
		return nil, errorf(ErrFormat, "%s datatype of size %d", className(class), size)
	}
	props := data[c.pos:]
	switch class {
	case classFixed:
		return t, d.fixedType(t, bf, props)
	case classFloat:
		return t, d.floatType(t, bf, props)
	case classString:
		t.pad = bf[0] & 0x0f
		return t, nil
	case classEnum:
		base, err := d.datatypeNested(props, depth+1)
		if err != nil {
			return nil, fmt.Errorf("enum base type: %w", err)
		}
		if base.class != classFixed || base.size != t.size {
			return nil, errorf(ErrUnsupported, "enum over a %s base of size %d", className(base.class), base.size)
		}
		return base, nil
	case classVlen:
		if bf[0]&vlenTypeMask != vlenTypeString {
			return nil, errorf(ErrUnsupported, "variable-length sequence datatype")
		}
		if t.size != 4+d.offSize+4 {
			return nil, errorf(ErrFormat, "variable-length string of size %d", t.size)
		}
		t.vlenStr = true
		return t, nil
	}
	return nil, errorf(ErrUnsupported, "%s datatype", className(class))
}

// fixedType checks a fixed-point datatype's properties.
func (d *decoder) fixedType(t *dtype, bf, props []byte) error {
	t.bigEndian = bf[0]&dtBigEndian != 0
	t.signed = bf[0]&dtSigned != 0
	c := d.newCursor(props)
	offset, precision := c.u16(), c.u16()
	if c.err != nil {
		return fmt.Errorf("fixed-point properties: %w", c.err)
	}
	if t.size > 8 {
		return errorf(ErrUnsupported, "%d-byte integers", t.size)
	}
	if offset != 0 || int(precision) != 8*t.size {
		return errorf(ErrUnsupported, "integer with bit offset %d and precision %d in %d bytes", offset, precision, t.size)
	}
	return nil
}

// floatType checks that a floating-point datatype is IEEE 754 binary32 or
// binary64.
func (d *decoder) floatType(t *dtype, bf, props []byte) error {
	if bf[0]&dtFloatVAXOrder != 0 {
		return errorf(ErrUnsupported, "VAX byte order floats")
	}
	t.bigEndian = bf[0]&dtBigEndian != 0
	c := d.newCursor(props)
	offset, precision := c.u16(), c.u16()
	expLoc, expSize, mantLoc, mantSize := c.u8(), c.u8(), c.u8(), c.u8()
	bias := c.u32()
	if c.err != nil {
		return fmt.Errorf("floating-point properties: %w", c.err)
	}
	sign := bf[1]
	ieee32 := t.size == 4 && precision == 32 && expLoc == 23 && expSize == 8 && mantSize == 23 && bias == 127 && sign == 31
	ieee64 := t.size == 8 && precision == 64 && expLoc == 52 && expSize == 11 && mantSize == 52 && bias == 1023 && sign == 63
	if offset != 0 || mantLoc != 0 || !(ieee32 || ieee64) {
		if t.size == 2 {
			return errorf(ErrUnsupported, "float16 datatype")
		}
		return errorf(ErrUnsupported, "%d-byte floating-point format (precision %d, exponent %d bits, mantissa %d bits)",
			t.size, precision, expSize, mantSize)
	}
	return nil
}

// values converts n raw elements of type t into ds's value slice, charging
// their size to the value budget.
func (d *decoder) values(ds *Dataset, raw []byte, n int, t *dtype) error {
	ds.Kind = t.kind()
	if uint64(len(raw)) < uint64(n)*uint64(t.size) {
		return errorf(ErrFormat, "%d bytes of data for %d elements of %d bytes", len(raw), n, t.size)
	}
	switch ds.Kind {
	case Float32:
		ds.F32 = make([]float32, n)
		for i := range ds.F32 {
			ds.F32[i] = math.Float32frombits(uint32(readUint(raw[4*i:4*i+4], t.bigEndian)))
		}
	case Float64:
		ds.F64 = make([]float64, n)
		for i := range ds.F64 {
			ds.F64[i] = math.Float64frombits(readUint(raw[8*i:8*i+8], t.bigEndian))
		}
	case Int64:
		ds.I64 = make([]int64, n)
		for i := range ds.I64 {
			v, err := readInt(raw[i*t.size:(i+1)*t.size], t)
			if err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
			ds.I64[i] = v
		}
	case String:
		return d.stringValues(ds, raw, n, t)
	}
	return nil
}

// valueCost returns the budget charge of one element of kind k, not
// counting string bytes.
func valueCost(k Kind) uint64 {
	switch k {
	case Float32:
		return 4
	case String:
		return 16 // a string header
	}
	return 8
}

// readUint reads an unsigned integer of len(p) ≤ 8 bytes.
func readUint(p []byte, bigEndian bool) uint64 {
	var v uint64
	if bigEndian {
		for _, x := range p {
			v = v<<8 | uint64(x)
		}
		return v
	}
	for i := len(p) - 1; i >= 0; i-- {
		v = v<<8 | uint64(p[i])
	}
	return v
}

// readInt reads one fixed-point element and widens it to int64.
func readInt(p []byte, t *dtype) (int64, error) {
	v := readUint(p, t.bigEndian)
	bitsN := uint(8 * len(p))
	if t.signed {
		shift := 64 - bitsN
		return int64(v<<shift) >> shift, nil
	}
	if v > math.MaxInt64 {
		return 0, errorf(ErrUnsupported, "unsigned value %d does not fit in int64", v)
	}
	return int64(v), nil
}

// stringValues converts fixed-length or variable-length strings. A value
// ends at its first NUL; space-padded strings lose trailing spaces.
func (d *decoder) stringValues(ds *Dataset, raw []byte, n int, t *dtype) error {
	ds.Str = make([]string, n)
	for i := range ds.Str {
		p := raw[i*t.size : (i+1)*t.size]
		if t.vlenStr {
			var err error
			if p, err = d.vlenString(p); err != nil {
				return fmt.Errorf("string %d: %w", i, err)
			}
		}
		if j := bytes.IndexByte(p, 0); j >= 0 {
			p = p[:j]
		}
		if !t.vlenStr && t.pad == strSpacePad {
			for len(p) > 0 && p[len(p)-1] == ' ' {
				p = p[:len(p)-1]
			}
		}
		if !utf8.Valid(p) {
			return errorf(ErrUnsupported, "string %d is not valid UTF-8", i)
		}
		if err := d.reserveValues(uint64(len(p))); err != nil {
			return err
		}
		ds.Str[i] = string(p)
	}
	return nil
}

// vlenString resolves one variable-length string element: a 4-byte length,
// then the global heap collection address and object index.
func (d *decoder) vlenString(p []byte) ([]byte, error) {
	c := d.newCursor(p)
	n := c.u32()
	coll := c.addr()
	index := c.u32()
	if c.err != nil {
		return nil, c.err
	}
	if n == 0 {
		return nil, nil
	}
	obj, err := d.globalHeapObject(coll, index)
	if err != nil {
		return nil, err
	}
	if uint64(n) > uint64(len(obj)) {
		return nil, errorf(ErrFormat, "string length %d exceeds its global heap object (%d bytes)", n, len(obj))
	}
	return obj[:n], nil
}
