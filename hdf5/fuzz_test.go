package hdf5

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode checks that Decode never panics and that a tree it returns
// re-encodes and decodes to itself. It is seeded with every fixture and two
// encoded trees.
func FuzzDecode(f *testing.F) {
	for _, path := range fixtures(f) {
		f.Add(readFixture(f, strings.TrimPrefix(filepath.ToSlash(path), "testdata/")))
	}
	small := &Group{
		Attrs: []*Dataset{{Name: "s", Kind: String, Str: []string{"x"}}},
		Datasets: []*Dataset{
			{Name: "f", Kind: Float32, Shape: []int{2}, F32: []float32{1, 2}},
			{Name: "i", Kind: Int64, I64: []int64{-1}, Attrs: []*Dataset{{Name: "d", Kind: Float64, F64: []float64{0.5}}}},
		},
	}
	for _, g := range []*Group{nirTree(12), small} {
		b, err := Encode(g)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecoded(t, b)
	})
}
