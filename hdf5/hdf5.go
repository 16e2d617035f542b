package hdf5

import (
	"errors"
	"fmt"
)

// Kind is a dataset's or attribute's element type.
type Kind uint8

const (
	// Float32 is an IEEE 754 32-bit float, stored little-endian.
	Float32 Kind = iota + 1
	// Float64 is an IEEE 754 64-bit float, stored little-endian.
	Float64
	// Int64 holds every stored integer type: signed or unsigned, 8 to 64
	// bits, either byte order, and enumerations over an integer base (h5py
	// stores bool that way) widen to int64 on read. Encode writes
	// little-endian signed 64-bit integers.
	Int64
	// String holds fixed-length and variable-length strings on read. Encode
	// writes fixed-length, null-padded UTF-8 strings whose length is the
	// longest value's byte length (at least 1).
	String
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	case Int64:
		return "int64"
	case String:
		return "string"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Dataset is a named array (or a scalar when Shape is empty) of one Kind, in
// row-major (C) order. Exactly the slice matching Kind is set and holds
// product(Shape) elements (1 for a scalar). Attributes are Datasets too;
// their own Attrs are nil.
type Dataset struct {
	Name  string
	Shape []int
	Kind  Kind
	F32   []float32
	F64   []float64
	I64   []int64
	Str   []string
	Attrs []*Dataset // attributes of this dataset
}

// Len returns the number of elements of the slice that matches d.Kind, or -1
// for an unknown Kind.
func (d *Dataset) Len() int {
	switch d.Kind {
	case Float32:
		return len(d.F32)
	case Float64:
		return len(d.F64)
	case Int64:
		return len(d.I64)
	case String:
		return len(d.Str)
	}
	return -1
}

// Attr returns the attribute of that name, or nil.
func (d *Dataset) Attr(name string) *Dataset { return findDataset(d.Attrs, name) }

// Group is a group: its sub-groups, datasets and attributes.
type Group struct {
	Name     string
	Groups   []*Group
	Datasets []*Dataset
	Attrs    []*Dataset
}

// Group returns the sub-group of that name, or nil.
func (g *Group) Group(name string) *Group {
	for _, s := range g.Groups {
		if s != nil && s.Name == name {
			return s
		}
	}
	return nil
}

// Dataset returns the dataset of that name, or nil.
func (g *Group) Dataset(name string) *Dataset { return findDataset(g.Datasets, name) }

// Attr returns the attribute of that name, or nil.
func (g *Group) Attr(name string) *Dataset { return findDataset(g.Attrs, name) }

func findDataset(list []*Dataset, name string) *Dataset {
	for _, d := range list {
		if d != nil && d.Name == name {
			return d
		}
	}
	return nil
}

// Limits bound what Decode may allocate. A zero field takes its value from
// DefaultLimits.
type Limits struct {
	// MaxBytes bounds the total size of decoded dataset and attribute values
	// (4 bytes per float32, 8 per float64 or int64, 16 plus the byte length
	// per string). The decompressed bytes of chunked storage are counted
	// against a second budget of the same size.
	MaxBytes int64
	// MaxObjects bounds the number of groups, datasets and attributes.
	MaxObjects int
	// MaxDepth bounds the group nesting depth (the root group is depth 0).
	MaxDepth int
}

// Default limits.
const (
	defaultMaxBytes   = 1 << 30 // 1 GiB of decoded values
	defaultMaxObjects = 1 << 20 // groups + datasets + attributes
	defaultMaxDepth   = 64      // nested groups below the root
)

// DefaultLimits returns the limits Decode uses for zero fields: 1 GiB of
// values, 1<<20 objects and 64 levels of nested groups.
func DefaultLimits() Limits {
	return Limits{MaxBytes: defaultMaxBytes, MaxObjects: defaultMaxObjects, MaxDepth: defaultMaxDepth}
}

// withDefaults fills the zero (or negative) fields of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxObjects <= 0 {
		l.MaxObjects = d.MaxObjects
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	return l
}

// Errors returned by this package wrap one of these; test with errors.Is.
var (
	// ErrFormat: the bytes are not a well-formed HDF5 file (truncated,
	// out-of-range offsets, bad signatures, inconsistent sizes).
	ErrFormat = errors.New("hdf5: malformed file")
	// ErrChecksum: a checksum stored in the file does not match its data.
	ErrChecksum = errors.New("hdf5: checksum mismatch")
	// ErrUnsupported: the file is valid HDF5 but uses a feature this package
	// does not read.
	ErrUnsupported = errors.New("hdf5: unsupported feature")
	// ErrLimit: decoding would exceed the Limits.
	ErrLimit = errors.New("hdf5: limit exceeded")
	// ErrInvalid: Encode was given a tree it cannot write.
	ErrInvalid = errors.New("hdf5: invalid tree")
)

// kindError is an error with a message of its own that wraps one of the
// sentinel errors above, so that errors.Is works without the sentinel's text
// appearing in the message.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// errorf returns an error wrapping kind with a formatted message.
func errorf(kind error, format string, args ...any) error {
	return &kindError{msg: fmt.Sprintf(format, args...), kind: kind}
}
