package hdf5

import (
	"math"
	"math/bits"
	"strings"
	"unicode/utf8"
)

// validName reports why name cannot name a link or attribute, or "" when it
// can.
func validName(name string) string {
	switch {
	case name == "":
		return "empty name"
	case name == ".":
		return `name "."`
	case strings.ContainsAny(name, "/\x00"):
		return "name contains '/' or NUL"
	case !utf8.ValidString(name):
		return "name is not valid UTF-8"
	}
	return ""
}

// elemCount returns the product of shape, or an error for negative
// dimensions, too many dimensions or overflow.
func elemCount(shape []int) (int, error) {
	if len(shape) > maxRank {
		return 0, errorf(ErrInvalid, "rank %d exceeds %d", len(shape), maxRank)
	}
	n := 1
	for _, s := range shape {
		if s < 0 {
			return 0, errorf(ErrInvalid, "negative dimension %d", s)
		}
		if s != 0 && n > (math.MaxInt/16)/s {
			return 0, errorf(ErrInvalid, "shape %v overflows", shape)
		}
		n *= s
	}
	return n, nil
}

// validateValues checks that exactly the slice matching d.Kind is set, with
// product(d.Shape) elements, and that strings are valid UTF-8 without NUL.
func validateValues(d *Dataset) error {
	n, err := elemCount(d.Shape)
	if err != nil {
		return err
	}
	if d.Kind < Float32 || d.Kind > String {
		return errorf(ErrInvalid, "unknown kind %d", uint8(d.Kind))
	}
	lens := [...]int{len(d.F32), len(d.F64), len(d.I64), len(d.Str)}
	for i, l := range lens {
		k := Kind(i + 1)
		if k == d.Kind && l != n {
			return errorf(ErrInvalid, "shape %v needs %d elements, %s slice has %d", d.Shape, n, k, l)
		}
		if k != d.Kind && l != 0 {
			return errorf(ErrInvalid, "kind is %s but the %s slice is set", d.Kind, k)
		}
	}
	for i, s := range d.Str {
		if !utf8.ValidString(s) {
			return errorf(ErrInvalid, "string %d is not valid UTF-8", i)
		}
		if strings.IndexByte(s, 0) >= 0 {
			return errorf(ErrInvalid, "string %d contains NUL", i)
		}
	}
	return nil
}

// validateAttrs checks a list of attributes: valid unique names, valid
// values, no nested attributes, and a message size that fits an object
// header.
func validateAttrs(attrs []*Dataset, path string) error {
	seen := make(map[string]bool, len(attrs))
	for _, a := range attrs {
		if a == nil {
			return errorf(ErrInvalid, "%s: nil attribute", path)
		}
		if why := validName(a.Name); why != "" {
			return errorf(ErrInvalid, "%s: attribute %q: %s", path, a.Name, why)
		}
		if seen[a.Name] {
			return errorf(ErrInvalid, "%s: duplicate attribute %q", path, a.Name)
		}
		seen[a.Name] = true
		if len(a.Attrs) != 0 {
			return errorf(ErrInvalid, "%s: attribute %q has attributes", path, a.Name)
		}
		if err := validateValues(a); err != nil {
			return errorf(ErrInvalid, "%s: attribute %q: %v", path, a.Name, err)
		}
		if sz := attrMessageSize(a); sz > maxMessageSize {
			return errorf(ErrInvalid, "%s: attribute %q needs %d bytes, more than the %d an object header message holds",
				path, a.Name, sz, maxMessageSize)
		}
	}
	if len(attrs) > maxMessageSize-1 {
		return errorf(ErrInvalid, "%s: %d attributes, more than an object header holds", path, len(attrs))
	}
	return nil
}

// validateTree checks g and everything below it; onPath detects a group
// that contains itself.
func validateTree(g *Group, path string, onPath map[*Group]bool) error {
	if onPath[g] {
		return errorf(ErrInvalid, "%s: group contains itself", path)
	}
	onPath[g] = true
	defer delete(onPath, g)
	if err := validateAttrs(g.Attrs, path); err != nil {
		return err
	}
	seen := make(map[string]bool, len(g.Groups)+len(g.Datasets))
	check := func(name string) error {
		if why := validName(name); why != "" {
			return errorf(ErrInvalid, "%s: child %q: %s", path, name, why)
		}
		if seen[name] {
			return errorf(ErrInvalid, "%s: duplicate child name %q", path, name)
		}
		seen[name] = true
		return nil
	}
	for _, d := range g.Datasets {
		if d == nil {
			return errorf(ErrInvalid, "%s: nil dataset", path)
		}
		if err := check(d.Name); err != nil {
			return err
		}
		p := joinPath(path, d.Name)
		if err := validateValues(d); err != nil {
			return errorf(ErrInvalid, "%s: %v", p, err)
		}
		if err := validateAttrs(d.Attrs, p); err != nil {
			return err
		}
	}
	for _, s := range g.Groups {
		if s == nil {
			return errorf(ErrInvalid, "%s: nil group", path)
		}
		if err := check(s.Name); err != nil {
			return err
		}
		if err := validateTree(s, joinPath(path, s.Name), onPath); err != nil {
			return err
		}
	}
	return nil
}

// joinPath returns the path of child name below the group at path.
func joinPath(path, name string) string {
	if path == "/" {
		return "/" + name
	}
	return path + "/" + name
}

// maxEncodedBytes bounds the total size of the values Encode writes, so
// that sizes never overflow an int.
const maxEncodedBytes = min(1<<40, math.MaxInt/2)

// valueBytes returns the bytes d's values take in the file: fixed-length
// strings take the longest string's length (at least 1) per element. d
// must have passed validateValues.
func valueBytes(d *Dataset) uint64 {
	_, elemSize := datatypeMessage(d)
	hi, lo := bits.Mul64(uint64(d.Len()), uint64(elemSize))
	if hi != 0 {
		return math.MaxUint64
	}
	return lo
}

// treeBytes returns the total bytes of the values of g and everything below
// it (saturating at math.MaxUint64). g must have passed validateTree.
func treeBytes(g *Group) uint64 {
	var total uint64
	add := func(n uint64) {
		if total += n; total < n {
			total = math.MaxUint64
		}
	}
	for _, a := range g.Attrs {
		add(valueBytes(a))
	}
	for _, d := range g.Datasets {
		add(valueBytes(d))
		for _, a := range d.Attrs {
			add(valueBytes(a))
		}
	}
	for _, s := range g.Groups {
		add(treeBytes(s))
	}
	return total
}
