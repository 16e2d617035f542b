package nir_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/privatesnn/privatesnn/hdf5"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/nir"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/vgg"
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
	f.Add(smallSeed(f))
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

// smallSeed is a small exported spiking network with per-channel initial
// membranes, so that the fuzzer starts from every metadata key the
// exporter writes, in a file small enough to mutate quickly.
func smallSeed(f *testing.F) []byte {
	cfg := vgg.Config{Name: "seed", Features: []vgg.Item{2, vgg.Pool}, Hidden: []int{3}, Classes: 2, InChannels: 1, InHeight: 4, InWidth: 4}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		f.Fatal(err)
	}
	sc := &snn.Config{Timesteps: 2, Leak: 1, Reset: snn.ResetSubtract, Encoder: snn.Direct, InitMembrane: 0.5,
		Thresholds: []float32{1, 1}, ChannelInit: [][]float32{{0.25, 0.75}, {0.5, 0.5, 0.125}}}
	g, err := nir.Export(nir.Network{Model: m, SNN: sc, Meta: nir.Meta{Normalization: imageset.Normalization{Mean: 0.5, Std: 0.5}}}, nir.AvgPool)
	if err != nil {
		f.Fatal(err)
	}
	tree, err := g.Tree()
	if err != nil {
		f.Fatal(err)
	}
	b, err := hdf5.Encode(tree)
	if err != nil {
		f.Fatal(err)
	}
	root, err := hdf5.Decode(b, hdf5.DefaultLimits())
	if err != nil {
		f.Fatal(err)
	}
	back, err := nir.Decode(root)
	if err != nil {
		f.Fatal(err)
	}
	if im, err := nir.Import(back, nir.ImportOptions{}); err != nil || im.SNN == nil || len(im.SNN.ChannelInit) != 2 {
		f.Fatalf("the seed does not import with its initial membranes: %v", err)
	}
	return b
}
