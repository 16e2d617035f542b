package hdf5

import (
	"cmp"
	"fmt"
	"slices"
)

// Attribute message constants.
const (
	attributeV2           = 2
	attributeV3           = 3
	attrFlagSharedType    = 0x01 // datatype is a shared message
	attrFlagSharedSpace   = 0x02 // dataspace is a shared message
	attrInfoCreationOrder = 0x01 // attribute info: maximum creation index present
)

// attributes decodes the attributes of the object described by h, sorted by
// name.
func (d *decoder) attributes(h *objHeader) ([]*Dataset, error) {
	var attrs []*Dataset
	for _, m := range h.msgs {
		switch m.typ {
		case msgAttribute:
			a, err := d.attribute(m.data)
			if err != nil {
				return nil, fmt.Errorf("attribute message at 0x%x: %w", m.addr, err)
			}
			attrs = append(attrs, a)
		case msgAttrInfo:
			as, err := d.attrInfo(m.data, h.addr)
			if err != nil {
				return nil, fmt.Errorf("attribute info message at 0x%x: %w", m.addr, err)
			}
			attrs = append(attrs, as...)
		}
	}
	slices.SortFunc(attrs, func(a, b *Dataset) int { return cmp.Compare(a.Name, b.Name) })
	for i := 1; i < len(attrs); i++ {
		if attrs[i].Name == attrs[i-1].Name {
			return nil, errorf(ErrFormat, "duplicate attribute %q", attrs[i].Name)
		}
	}
	return attrs, nil
}

// attrInfo parses an attribute info message and returns the attributes in
// dense storage, if any.
func (d *decoder) attrInfo(data []byte, hdr uint64) ([]*Dataset, error) {
	c := d.newCursor(data)
	version, flags := c.u8(), c.u8()
	if c.err == nil && version != 0 {
		return nil, errorf(ErrUnsupported, "attribute info message version %d", version)
	}
	if flags&attrInfoCreationOrder != 0 {
		c.skip(2) // maximum creation index
	}
	heap, nameIndex := c.addr(), c.addr()
	if c.err != nil {
		return nil, c.err
	}
	if heap == undefAddr {
		return nil, nil
	}
	as, err := d.denseAttrs(heap, nameIndex)
	if err != nil {
		return nil, fmt.Errorf("dense attribute storage (object at 0x%x): %w", hdr, err)
	}
	return as, nil
}

// attribute decodes one attribute message.
func (d *decoder) attribute(data []byte) (*Dataset, error) {
	if err := d.countObject(); err != nil {
		return nil, err
	}
	c := d.newCursor(data)
	version, flags := c.u8(), c.u8()
	nameSize, typeSize, spaceSize := int(c.u16()), int(c.u16()), int(c.u16())
	if c.err != nil {
		return nil, c.err
	}
	align := func(n int) int { return n }
	switch version {
	case attributeV1:
		align = pad8
	case attributeV2:
	case attributeV3:
		c.skip(1) // name character set
	default:
		return nil, errorf(ErrUnsupported, "attribute message version %d", version)
	}
	if version > attributeV1 && flags&(attrFlagSharedType|attrFlagSharedSpace) != 0 {
		return nil, errorf(ErrUnsupported, "attribute with a shared datatype or dataspace")
	}
	name := c.bytes(align(nameSize))
	typ := c.bytes(align(typeSize))
	space := c.bytes(align(spaceSize))
	if c.err != nil {
		return nil, c.err
	}
	if err := d.reserveValues(uint64(nameSize)); err != nil {
		return nil, err
	}
	a := &Dataset{Name: cutNUL(name[:nameSize])}
	if why := validName(a.Name); why != "" {
		return nil, errorf(ErrFormat, "attribute %q: invalid %s", a.Name, why)
	}
	t, err := d.datatype(typ[:typeSize])
	if err != nil {
		return nil, fmt.Errorf("attribute %q: %w", a.Name, err)
	}
	dims, err := d.dataspace(space[:spaceSize])
	if err != nil {
		return nil, fmt.Errorf("attribute %q: %w", a.Name, err)
	}
	n, err := d.reserveElements(a, dims, t)
	if err != nil {
		return nil, fmt.Errorf("attribute %q: %w", a.Name, err)
	}
	if err := d.values(a, data[c.pos:], n, t); err != nil {
		return nil, fmt.Errorf("attribute %q: %w", a.Name, err)
	}
	return a, nil
}

// cutNUL returns p up to its first NUL byte as a string.
func cutNUL(p []byte) string {
	for i, x := range p {
		if x == 0 {
			return string(p[:i])
		}
	}
	return string(p)
}
