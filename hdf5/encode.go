package hdf5

import (
	"cmp"
	"encoding/binary"
	"math"
	"slices"
)

var le = binary.LittleEndian

// Encode returns the bytes of an HDF5 file whose root group is root
// (root.Name is ignored). See the package documentation for the format
// written. The output is deterministic. Encode validates the whole tree
// before writing and returns an error wrapping ErrInvalid for empty,
// duplicate or otherwise invalid names, slice lengths that do not match
// Shape, negative dimensions, unknown kinds, strings that are not UTF-8 or
// contain NUL, and attributes too large for an object header.
func Encode(root *Group) ([]byte, error) {
	if root == nil {
		return nil, errorf(ErrInvalid, "hdf5: nil root group")
	}
	if err := validateTree(root, "/", map[*Group]bool{}); err != nil {
		return nil, errorf(ErrInvalid, "hdf5: encode: %v", err)
	}
	if n := treeBytes(root); n > maxEncodedBytes {
		return nil, errorf(ErrInvalid, "hdf5: encode: the values take %d bytes, more than %d", n, uint64(maxEncodedBytes))
	}
	e := &encoder{buf: make([]byte, superblockV0Size, 4096)}
	hdr, btree, heap := e.group(root)
	e.superblock(hdr, btree, heap)
	return e.buf, nil
}

// encoder appends the file's structures to buf; every structure starts at
// an 8-byte aligned offset.
type encoder struct {
	buf []byte
}

// alloc reserves n zero bytes at the next 8-byte aligned offset and returns
// that offset.
func (e *encoder) alloc(n int) int {
	for len(e.buf)%8 != 0 {
		e.buf = append(e.buf, 0)
	}
	off := len(e.buf)
	e.buf = append(e.buf, make([]byte, n)...)
	return off
}

// superblock writes the version 0 superblock at offset 0.
func (e *encoder) superblock(rootHdr, rootBTree, rootHeap uint64) {
	b := make([]byte, 0, superblockV0Size)
	b = append(b, signature...)
	b = append(b,
		0, // superblock version
		0, // free-space storage version
		0, // root group symbol table entry version
		0, // reserved
		0, // shared header message format version
		encOffsetSize, encLengthSize,
		0, // reserved
	)
	b = le.AppendUint16(b, groupLeafK)
	b = le.AppendUint16(b, groupInternalK)
	b = le.AppendUint32(b, 0)                  // file consistency flags
	b = le.AppendUint64(b, 0)                  // base address
	b = le.AppendUint64(b, undefAddr)          // free-space info address
	b = le.AppendUint64(b, uint64(len(e.buf))) // end of file address
	b = le.AppendUint64(b, undefAddr)          // driver information block
	b = appendSymbolEntry(b, 0, rootHdr, cacheStab, rootBTree, rootHeap)
	copy(e.buf, b)
}

// appendSymbolEntry appends a symbol table entry.
func appendSymbolEntry(b []byte, nameOff, hdr uint64, cache uint32, btree, heap uint64) []byte {
	b = le.AppendUint64(b, nameOff)
	b = le.AppendUint64(b, hdr)
	b = le.AppendUint32(b, cache)
	b = le.AppendUint32(b, 0) // reserved
	b = le.AppendUint64(b, btree)
	return le.AppendUint64(b, heap)
}

// message is one object header message to write.
type message struct {
	typ   uint16
	flags uint8
	data  []byte
}

// pad8 rounds n up to a multiple of 8.
func pad8(n int) int { return (n + 7) &^ 7 }

// headerV1Size returns the size of a version 1 object header holding msgs.
func headerV1Size(msgs []message) int {
	n := objHeaderV1Prefix
	for _, m := range msgs {
		n += msgHeaderV1Size + pad8(len(m.data))
	}
	return n
}

// putHeaderV1 writes a version 1 object header holding msgs into dst, which
// has headerV1Size(msgs) bytes.
func putHeaderV1(dst []byte, msgs []message) {
	b := make([]byte, 0, len(dst))
	b = append(b, objHeaderV1, 0)
	b = le.AppendUint16(b, uint16(len(msgs)))
	b = le.AppendUint32(b, 1) // reference count
	b = le.AppendUint32(b, uint32(len(dst)-objHeaderV1Prefix))
	b = le.AppendUint32(b, 0) // padding to 8 bytes
	for _, m := range msgs {
		n := pad8(len(m.data))
		b = le.AppendUint16(b, m.typ)
		b = le.AppendUint16(b, uint16(n))
		b = append(b, m.flags, 0, 0, 0)
		b = append(b, m.data...)
		b = append(b, make([]byte, n-len(m.data))...)
	}
	copy(dst, b)
}

// child is a group member in symbol table order.
type child struct {
	name  string
	group *Group
	dset  *Dataset
}

// sortedChildren returns g's groups and datasets in byte-wise name order.
func sortedChildren(g *Group) []child {
	cs := make([]child, 0, len(g.Groups)+len(g.Datasets))
	for _, s := range g.Groups {
		cs = append(cs, child{name: s.Name, group: s})
	}
	for _, d := range g.Datasets {
		cs = append(cs, child{name: d.Name, dset: d})
	}
	slices.SortFunc(cs, func(a, b child) int { return cmp.Compare(a.name, b.name) })
	return cs
}

// sortedAttrs returns attrs in byte-wise name order.
func sortedAttrs(attrs []*Dataset) []*Dataset {
	s := slices.Clone(attrs)
	slices.SortFunc(s, func(a, b *Dataset) int { return cmp.Compare(a.Name, b.Name) })
	return s
}

// attrMessages returns the attribute messages for attrs.
func attrMessages(attrs []*Dataset) []message {
	var msgs []message
	for _, a := range sortedAttrs(attrs) {
		msgs = append(msgs, message{typ: msgAttribute, data: attrMessage(a)})
	}
	return msgs
}

// group writes g and everything below it and returns the addresses of its
// object header, B-tree root and local heap.
func (e *encoder) group(g *Group) (hdr, btree, heap uint64) {
	children := sortedChildren(g)
	msgs := append([]message{{typ: msgSymbolTable, data: make([]byte, 2*encOffsetSize)}}, attrMessages(g.Attrs)...)
	hdrOff := e.alloc(headerV1Size(msgs))

	names := make([]string, len(children))
	for i, c := range children {
		names[i] = c.name
	}
	heapData, nameOffs := localHeapData(names)
	heapOff := e.alloc(localHeapHeaderSize)
	dataOff := e.alloc(len(heapData))
	copy(e.buf[dataOff:], heapData)
	h := []byte{'H', 'E', 'A', 'P', 0, 0, 0, 0} // signature, version 0, reserved
	h = le.AppendUint64(h, uint64(len(heapData)))
	h = le.AppendUint64(h, localHeapFreeNull)
	copy(e.buf[heapOff:], le.AppendUint64(h, uint64(dataOff)))

	tree := e.planGroupTree(len(children))
	addrs := make([]uint64, len(children))
	cache := make([][3]uint64, len(children)) // cache type, B-tree, heap
	for i, c := range children {
		if c.group != nil {
			a, bt, hp := e.group(c.group)
			addrs[i], cache[i] = a, [3]uint64{cacheStab, bt, hp}
		} else {
			addrs[i], cache[i] = e.dataset(c.dset), [3]uint64{cacheNone, 0, 0}
		}
	}
	e.putSymbolNodes(tree, nameOffs, addrs, cache)
	e.putGroupBTree(tree, nameOffs)

	stab := le.AppendUint64(nil, uint64(tree.root()))
	msgs[0].data = le.AppendUint64(stab, uint64(heapOff))
	putHeaderV1(e.buf[hdrOff:hdrOff+headerV1Size(msgs)], msgs)
	return uint64(hdrOff), uint64(tree.root()), uint64(heapOff)
}

// localHeapData returns a local heap data segment holding "" at offset 0
// and then every name, each NUL-terminated and padded to 8 bytes, with the
// offset of each name.
func localHeapData(names []string) ([]byte, []uint64) {
	data := make([]byte, 8)
	offs := make([]uint64, len(names))
	for i, n := range names {
		offs[i] = uint64(len(data))
		data = append(data, n...)
		data = append(data, make([]byte, pad8(len(n)+1)-len(n))...)
	}
	return data, offs
}

// dataset writes d's object header and raw data and returns the header's
// address.
func (e *encoder) dataset(d *Dataset) uint64 {
	dt, elemSize := datatypeMessage(d)
	n := d.Len()
	rawSize := n * elemSize
	layout := []byte{layoutVersion3, layoutContiguous}
	layout = le.AppendUint64(layout, undefAddr) // patched below when data exist
	layout = le.AppendUint64(layout, uint64(rawSize))
	msgs := []message{
		{typ: msgDataspace, data: dataspaceMessage(d.Shape)},
		{typ: msgDatatype, flags: msgFlagConstant, data: dt},
		{typ: msgFill, flags: msgFlagConstant, data: []byte{fillVersion2, fillAllocLate, fillWriteIfSet, fillDefined, 0, 0, 0, 0}},
		{typ: msgLayout, data: layout},
	}
	msgs = append(msgs, attrMessages(d.Attrs)...)
	size := headerV1Size(msgs)
	hdrOff := e.alloc(size)
	if rawSize > 0 {
		dataOff := e.alloc(rawSize)
		putValues(e.buf[dataOff:dataOff+rawSize], d, elemSize)
		le.PutUint64(layout[2:], uint64(dataOff))
	}
	putHeaderV1(e.buf[hdrOff:hdrOff+size], msgs)
	return uint64(hdrOff)
}

// dataspaceMessage returns a version 1 dataspace message: scalar for an
// empty shape, simple otherwise.
func dataspaceMessage(shape []int) []byte {
	b := []byte{dataspaceV1, byte(len(shape)), 0, 0, 0, 0, 0, 0}
	for _, s := range shape {
		b = le.AppendUint64(b, uint64(s))
	}
	return b
}

// Datatype message encodings (version 1).
var (
	// IEEE little-endian float32: class 1, mantissa normalization "implied",
	// sign bit 31; precision 32, exponent at bit 23 of 8 bits, mantissa at
	// bit 0 of 23 bits, bias 127.
	dtFloat32 = []byte{datatypeVersion<<4 | classFloat, 0x20, 31, 0, 4, 0, 0, 0, 0, 0, 32, 0, 23, 8, 0, 23, 127, 0, 0, 0}
	// IEEE little-endian float64: sign bit 63; precision 64, exponent at
	// bit 52 of 11 bits, mantissa at bit 0 of 52 bits, bias 1023.
	dtFloat64 = []byte{datatypeVersion<<4 | classFloat, 0x20, 63, 0, 8, 0, 0, 0, 0, 0, 64, 0, 52, 11, 0, 52, 0xff, 0x03, 0, 0}
	// Little-endian signed 64-bit integer: bit 3 of the bit field is
	// "signed"; bit offset 0, precision 64.
	dtInt64 = []byte{datatypeVersion<<4 | classFixed, 0x08, 0, 0, 8, 0, 0, 0, 0, 0, 64, 0}
)

// datatypeMessage returns d's datatype message and element size.
func datatypeMessage(d *Dataset) ([]byte, int) {
	switch d.Kind {
	case Float32:
		return dtFloat32, 4
	case Float64:
		return dtFloat64, 8
	case Int64:
		return dtInt64, 8
	}
	n := 1
	for _, s := range d.Str {
		n = max(n, len(s))
	}
	b := []byte{datatypeVersion<<4 | classString, strNullPad | charsetUTF8<<4, 0, 0}
	return le.AppendUint32(b, uint32(n)), n
}

// putValues writes d's elements, each elemSize bytes, into dst.
func putValues(dst []byte, d *Dataset, elemSize int) {
	switch d.Kind {
	case Float32:
		for i, v := range d.F32 {
			le.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case Float64:
		for i, v := range d.F64 {
			le.PutUint64(dst[8*i:], math.Float64bits(v))
		}
	case Int64:
		for i, v := range d.I64 {
			le.PutUint64(dst[8*i:], uint64(v))
		}
	case String:
		for i, s := range d.Str {
			copy(dst[i*elemSize:], s) // the rest stays zero: null padding
		}
	}
}

// attrMessage returns a version 1 attribute message for a.
func attrMessage(a *Dataset) []byte {
	dt, elemSize := datatypeMessage(a)
	ds := dataspaceMessage(a.Shape)
	b := []byte{attributeV1, 0}
	b = le.AppendUint16(b, uint16(len(a.Name)+1))
	b = le.AppendUint16(b, uint16(len(dt)))
	b = le.AppendUint16(b, uint16(len(ds)))
	b = appendPadded(b, append([]byte(a.Name), 0))
	b = appendPadded(b, dt)
	b = appendPadded(b, ds)
	raw := make([]byte, a.Len()*elemSize)
	putValues(raw, a, elemSize)
	return append(b, raw...)
}

// attrMessageSize returns len(attrMessage(a)) without building it. a must
// have passed validateValues.
func attrMessageSize(a *Dataset) int {
	dt, elemSize := datatypeMessage(a)
	n := 8 + pad8(len(a.Name)+1) + pad8(len(dt)) + pad8(8+8*len(a.Shape))
	count, _ := elemCount(a.Shape)
	if count > maxMessageSize || elemSize > maxMessageSize {
		return maxMessageSize + 1
	}
	return n + count*elemSize
}

// appendPadded appends p and zero bytes up to a multiple of 8.
func appendPadded(b, p []byte) []byte {
	b = append(b, p...)
	return append(b, make([]byte, pad8(len(p))-len(p))...)
}
