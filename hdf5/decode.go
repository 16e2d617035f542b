package hdf5

import (
	"cmp"
	"fmt"
	"slices"
)

// Decode parses a whole HDF5 file held in memory and returns its root group,
// with every list of groups, datasets and attributes sorted by name. It never
// panics: every offset, size and count read from the file is checked against
// len(b) and lim before use, decompression output is bounded, and cycles in
// the object graph and in index structures are detected. Errors start with
// "hdf5: ", name the object path and file offset where they happened, and
// wrap ErrFormat, ErrChecksum, ErrUnsupported or ErrLimit.
func Decode(b []byte, lim Limits) (*Group, error) {
	d := &decoder{
		b:       b,
		lim:     lim.withDefaults(),
		gheaps:  map[uint64]map[uint16][]byte{},
		headers: map[uint64]*objHeader{},
		onPath:  map[uint64]bool{},
	}
	rootAddr, err := d.superblock()
	if err != nil {
		return nil, fmt.Errorf("hdf5: superblock: %w", err)
	}
	root, err := d.group(rootAddr, "", "/", 0)
	if err != nil {
		return nil, fmt.Errorf("hdf5: %w", err)
	}
	return root, nil
}

// decoder holds the state of one Decode call.
type decoder struct {
	b          []byte
	base       uint64 // absolute offset that file addresses are relative to
	offSize    int    // bytes per address
	lenSize    int    // bytes per length
	lim        Limits
	valueBytes int64 // bytes of decoded values so far (see Limits.MaxBytes)
	inflated   int64 // bytes produced by filters so far
	objects    int   // groups, datasets and attributes so far
	gheaps     map[uint64]map[uint16][]byte
	headers    map[uint64]*objHeader
	onPath     map[uint64]bool // object headers of the groups being decoded
}

// slice returns the n bytes at file address addr.
func (d *decoder) slice(addr, n uint64) ([]byte, error) {
	if addr == undefAddr {
		return nil, errorf(ErrFormat, "undefined address")
	}
	abs := d.base + addr
	size := uint64(len(d.b))
	if abs < addr || abs > size || n > size-abs {
		return nil, errorf(ErrFormat, "%d bytes at address 0x%x lie beyond the end of the file (%d bytes)", n, addr, len(d.b))
	}
	return d.b[abs : abs+n : abs+n], nil
}

// rest returns the bytes from file address addr to the end of the file.
func (d *decoder) rest(addr uint64) ([]byte, error) {
	if addr == undefAddr {
		return nil, errorf(ErrFormat, "undefined address")
	}
	abs := d.base + addr
	if abs < addr || abs > uint64(len(d.b)) {
		return nil, errorf(ErrFormat, "address 0x%x lies beyond the end of the file (%d bytes)", addr, len(d.b))
	}
	return d.b[abs:], nil
}

// countObject counts one more group, dataset or attribute.
func (d *decoder) countObject() error {
	d.objects++
	if d.objects > d.lim.MaxObjects {
		return errorf(ErrLimit, "more than %d objects (Limits.MaxObjects)", d.lim.MaxObjects)
	}
	return nil
}

// reserveValues counts n more bytes of decoded values.
func (d *decoder) reserveValues(n uint64) error {
	if n > uint64(d.lim.MaxBytes-d.valueBytes) {
		return errorf(ErrLimit, "values exceed %d bytes (Limits.MaxBytes)", d.lim.MaxBytes)
	}
	d.valueBytes += int64(n)
	return nil
}

// reserveInflated counts n more bytes produced by filters.
func (d *decoder) reserveInflated(n uint64) error {
	if n > uint64(d.lim.MaxBytes-d.inflated) {
		return errorf(ErrLimit, "decompressed data exceed %d bytes (Limits.MaxBytes)", d.lim.MaxBytes)
	}
	d.inflated += int64(n)
	return nil
}

// link is a hard link from a group to an object header.
type link struct {
	name string
	addr uint64
}

// group decodes the group whose object header is at addr.
func (d *decoder) group(addr uint64, name, path string, depth int) (*Group, error) {
	if err := d.countObject(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	h, err := d.objectHeader(addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !h.isGroup() {
		return nil, fmt.Errorf("%s: object header at 0x%x: %w", path, addr, errorf(ErrFormat, "not a group"))
	}
	links, err := d.groupLinks(h)
	if err != nil {
		return nil, fmt.Errorf("%s: object header at 0x%x: %w", path, addr, err)
	}
	g := &Group{Name: name}
	if g.Attrs, err = d.attributes(h); err != nil {
		return nil, fmt.Errorf("%s: object header at 0x%x: %w", path, addr, err)
	}
	d.onPath[addr] = true
	defer delete(d.onPath, addr)
	for _, l := range links {
		if err := d.member(g, l, joinPath(path, l.name), depth); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// member decodes the object that link l of g points to and adds it to g.
func (d *decoder) member(g *Group, l link, path string, depth int) error {
	if d.onPath[l.addr] {
		return fmt.Errorf("%s: %w", path, errorf(ErrFormat, "cycle: the link points to an enclosing group (object header at 0x%x)", l.addr))
	}
	h, err := d.objectHeader(l.addr)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case h.isGroup():
		if depth+1 > d.lim.MaxDepth {
			return fmt.Errorf("%s: %w", path, errorf(ErrLimit, "groups nested deeper than %d (Limits.MaxDepth)", d.lim.MaxDepth))
		}
		s, err := d.group(l.addr, l.name, path, depth+1)
		if err != nil {
			return err
		}
		g.Groups = append(g.Groups, s)
	case h.has(msgLayout):
		ds, err := d.dataset(h, l.name)
		if err != nil {
			return fmt.Errorf("%s: object header at 0x%x: %w", path, l.addr, err)
		}
		g.Datasets = append(g.Datasets, ds)
	case h.has(msgDatatype):
		return fmt.Errorf("%s: object header at 0x%x: %w", path, l.addr, errorf(ErrUnsupported, "committed (named) datatypes are not supported"))
	default:
		return fmt.Errorf("%s: object header at 0x%x: %w", path, l.addr, errorf(ErrFormat, "object is neither a group nor a dataset"))
	}
	return nil
}

// checkLinks validates the names of links, rejects duplicates and sorts
// them by name.
func checkLinks(links []link) error {
	for _, l := range links {
		if why := validName(l.name); why != "" {
			return errorf(ErrFormat, "link %q: invalid %s", l.name, why)
		}
	}
	slices.SortFunc(links, func(a, b link) int { return cmp.Compare(a.name, b.name) })
	for i := 1; i < len(links); i++ {
		if links[i].name == links[i-1].name {
			return errorf(ErrFormat, "duplicate link name %q", links[i].name)
		}
	}
	return nil
}
