// Package tensor provides dense float32 n-dimensional arrays.
//
// A Tensor is a shape plus a flat, row-major (C order) []float32. It carries
// no autograd state; differentiation lives in the layers of package nn.
//
// # Error handling
//
// Functions in this package panic on programmer errors (mismatched shapes,
// negative sizes) with messages prefixed "tensor:"; they never return errors.
//
// # Concurrency
//
// A Tensor is a plain value; concurrent reads are safe, concurrent writes are
// the caller's responsibility.
package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Tensor is a dense float32 array with a row-major layout: the element at
// index (i0, i1, …, ik) is Data[((i0·S1 + i1)·S2 + …)·Sk + ik] where S is Shape.
type Tensor struct {
	Shape []int
	Data  []float32
}

// New returns a zero tensor of the given shape. It panics if a dimension is negative.
func New(shape ...int) *Tensor {
	n := Numel(shape)
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// FromData wraps data in a tensor of the given shape without copying.
// It panics if len(data) does not match the shape.
func FromData(data []float32, shape ...int) *Tensor {
	if n := Numel(shape); n != len(data) {
		panic(fmt.Sprintf("tensor: %d elements do not fit shape %v", len(data), shape))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// Numel returns the number of elements of a shape. It panics on a negative dimension.
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

// Len returns the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Reshape returns a tensor sharing t's data with a new shape of the same size.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	return FromData(t.Data, shape...)
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Zero sets every element to 0.
func (t *Tensor) Zero() { clear(t.Data) }

// Fill sets every element to v.
func (t *Tensor) Fill(v float32) {
	for i := range t.Data {
		t.Data[i] = v
	}
}

// MaxAbs returns the largest absolute value (0 for an empty tensor).
func (t *Tensor) MaxAbs() float32 {
	var m float32
	for _, v := range t.Data {
		m = max(m, float32(math.Abs(float64(v))))
	}
	return m
}

// RandNormal fills t with N(0, std²) draws from rng.
func (t *Tensor) RandNormal(rng *rand.Rand, std float64) {
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64() * std)
	}
}

// RandUniform fills t with U[lo, hi) draws from rng.
func (t *Tensor) RandUniform(rng *rand.Rand, lo, hi float64) {
	for i := range t.Data {
		t.Data[i] = float32(lo + (hi-lo)*rng.Float64())
	}
}

// String returns a short description (shape only; data is not printed).
func (t *Tensor) String() string { return fmt.Sprintf("Tensor%v", t.Shape) }

// Argmax returns the index of v's largest value (the first one on ties);
// 0 for an empty v.
func Argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
