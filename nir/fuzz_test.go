package nir_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/privatesnn/privatesnn/hdf5"
	"github.com/privatesnn/privatesnn/nir"
	"github.com/privatesnn/privatesnn/snn"
)

// FuzzRead feeds arbitrary bytes through the whole NIR reader (HDF5
// decoding, the graph, the import): errors only, never a panic.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.nir")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := hdf5.DefaultLimits()
		lim.MaxBytes = 16 << 20
		root, err := hdf5.Decode(b, lim)
		if err != nil {
			return
		}
		g, err := nir.Decode(root)
		if err != nil {
			return
		}
		_, _ = nir.Import(g, nir.ImportOptions{Spiking: snn.Config{Timesteps: 2, Leak: 1}})
	})
}
