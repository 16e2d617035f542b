package safetensors

import "errors"

// MaxHeaderBytes is the largest JSON header [Decode] accepts (100 MiB). Real
// headers are a few hundred bytes per tensor.
const MaxHeaderBytes = 100 << 20

// metadataKey is the reserved header key holding free-form string metadata.
const metadataKey = "__metadata__"

// ErrFormat is wrapped by every error that reports malformed input.
var ErrFormat = errors.New("safetensors: invalid format")

// ErrUnsupportedDType is wrapped by errors that report a valid tensor whose
// dtype cannot be converted to float32 (for example I64 or BOOL).
var ErrUnsupportedDType = errors.New("safetensors: unsupported dtype")

// Tensor is one named tensor. Data holds the elements in row-major (C) order,
// so len(Data) is the product of Shape (1 for an empty Shape, a scalar).
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// File is the decoded content of a safetensors file.
//
// Tensors returned by [Decode] are in data-offset order, which for files
// written by [Encode] is name order. [Encode] accepts Tensors in any order.
// Metadata holds the "__metadata__" header entry; it is nil when the file has
// none, and Encode omits the entry when Metadata is empty.
type File struct {
	Tensors  []Tensor
	Metadata map[string]string
}

// Get returns the tensor called name, or false if f holds none. It performs a
// linear scan and never modifies f, so it is safe for concurrent use.
func (f *File) Get(name string) (*Tensor, bool) {
	for i := range f.Tensors {
		if f.Tensors[i].Name == name {
			return &f.Tensors[i], true
		}
	}
	return nil, false
}

// numElements returns the product of shape, or ok=false if a dimension is
// negative or the product overflows int.
func numElements(shape []int) (n int, ok bool) {
	zero := false
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		zero = zero || d == 0
	}
	if zero {
		return 0, true
	}
	n = 1
	for _, d := range shape {
		if n > maxInt/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

const maxInt = int(^uint(0) >> 1)
