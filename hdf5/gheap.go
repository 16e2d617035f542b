package hdf5

import "fmt"

// globalHeapVersion is the only global heap collection version.
const globalHeapVersion = 1

// globalHeapObject returns the data of object index in the global heap
// collection at addr. Collections are parsed once and cached.
func (d *decoder) globalHeapObject(addr uint64, index uint32) ([]byte, error) {
	coll, ok := d.gheaps[addr]
	if !ok {
		var err error
		if coll, err = d.parseGlobalHeap(addr); err != nil {
			return nil, fmt.Errorf("global heap collection at 0x%x: %w", addr, err)
		}
		d.gheaps[addr] = coll
	}
	obj, ok := coll[uint16(index)]
	if !ok || index > 0xffff {
		return nil, errorf(ErrFormat, "global heap collection at 0x%x has no object %d", addr, index)
	}
	return obj, nil
}

// parseGlobalHeap parses the collection at addr into its objects by index.
func (d *decoder) parseGlobalHeap(addr uint64) (map[uint16][]byte, error) {
	head, err := d.slice(addr, uint64(8+d.lenSize)) // signature, version, reserved, size
	if err != nil {
		return nil, err
	}
	c := d.newCursor(head)
	c.signature("GCOL")
	version := c.u8()
	c.skip(3) // reserved
	size := c.length()
	if c.err != nil {
		return nil, c.err
	}
	if version != globalHeapVersion {
		return nil, errorf(ErrUnsupported, "global heap version %d", version)
	}
	body, err := d.slice(addr, size)
	if err != nil {
		return nil, err
	}
	if len(body) < len(head) {
		return nil, errorf(ErrFormat, "collection size %d", size)
	}
	c = d.newCursor(body[len(head):])
	objs := map[uint16][]byte{}
	for c.left() >= 8+d.lenSize { // index, reference count, reserved, size
		index := c.u16()
		c.skip(2 + 4) // reference count, reserved
		n := c.length()
		if index == 0 { // free space: the rest of the collection
			break
		}
		if c.err == nil && n > uint64(c.left()) {
			return nil, errorf(ErrFormat, "object %d of %d bytes exceeds the collection", index, n)
		}
		objs[index] = c.bytes(int(n))
		c.skip(min(pad8(int(n))-int(n), c.left()))
		if c.err != nil {
			return nil, c.err
		}
	}
	return objs, nil
}
