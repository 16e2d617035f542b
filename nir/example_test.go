package nir_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/nir"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/vgg"
)

// A spiking network becomes a NIR graph and comes back unchanged; the
// graph's metadata keeps what NIR's IF cannot say.
func ExampleExport() {
	cfg := vgg.Config{Name: "tiny", Features: []vgg.Item{4, vgg.Pool}, Hidden: []int{8}, Classes: 3, InChannels: 1, InHeight: 8, InWidth: 8}
	m, _ := vgg.New(cfg, rand.New(rand.NewPCG(1, 2)))
	c := &snn.Config{Timesteps: 8, Leak: 1, Reset: snn.ResetSubtract, Encoder: snn.Direct, InitMembrane: 0.5, Thresholds: []float32{1.25, 0.5}}
	g, err := nir.Export(nir.Network{Model: m, SNN: c, Meta: nir.Meta{Normalization: imageset.TrainingNormalization()}}, nir.AvgPool)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(g.Nodes), "nodes; reset", nir.StringMeta(g, nir.MetaReset), "; initial membrane", nir.FloatMeta(g, nir.MetaInitMembrane))
	im, err := nir.Import(g, nir.ImportOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(vgg.FormatFeatures(im.Model.Config.Features), im.SNN.Timesteps, im.SNN.Thresholds)
	// Output:
	// 10 nodes; reset subtract ; initial membrane 0.5
	// 4,A 8 [1.25 0.5]
}
