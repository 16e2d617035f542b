package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// rawFile assembles a safetensors file from a literal header and data
// buffer, padding nothing, so tests control every byte.
func rawFile(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// f32Bytes returns the little-endian F32 encoding of v.
func f32Bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// decodeBytes decodes b with its exact length as size.
func decodeBytes(b []byte) (*File, error) {
	return Decode(bytes.NewReader(b), int64(len(b)))
}

// encodeBytes encodes f or fails the test.
func encodeBytes(t testing.TB, f *File) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, f); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return buf.Bytes()
}

// sampleFile returns a small File exercising scalars, empty tensors,
// special float values and metadata, with tensors deliberately unsorted.
func sampleFile() *File {
	return &File{
		Tensors: []Tensor{
			{Name: "features.3.weight", Shape: []int{2, 1, 3, 3}, Data: ramp(18, 0.25)},
			{Name: "classifier.0.weight", Shape: []int{3, 4}, Data: ramp(12, -1)},
			{Name: "scalar", Shape: []int{}, Data: []float32{float32(math.Inf(-1))}},
			{Name: "empty", Shape: []int{0, 5}, Data: []float32{}},
			{Name: "special", Shape: []int{4}, Data: []float32{float32(math.NaN()), float32(math.Copysign(0, -1)), math.MaxFloat32, math.SmallestNonzeroFloat32}},
			{Name: "ünïcode 😀 \"q\"", Shape: []int{1}, Data: []float32{7}},
		},
		Metadata: map[string]string{"format": "pt", "torch": "1.13.1", "note": "a\tb\n<&>"},
	}
}

// ramp returns n values start, start+0.5, ….
func ramp(n int, start float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = start + 0.5*float32(i)
	}
	return v
}

// sameBits reports whether a and b hold bit-identical values.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// sameInts reports whether two shapes are equal.
func sameInts(a, b []int) bool {
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
