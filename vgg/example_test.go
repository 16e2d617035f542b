package vgg_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/vgg"
)

// The reference's VGG16 for CIFAR-10: 13 convolutions and 2 FC layers.
func ExamplePreset() {
	cfg, err := vgg.Preset("vgg16", 3, 32, 32, 10)
	if err != nil {
		panic(err)
	}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		panic(err)
	}
	var macs int64
	for _, l := range m.MACs() {
		macs += l.MACs
	}
	fmt.Println(vgg.FormatFeatures(cfg.Features))
	fmt.Println(len(m.Convs), "convs,", len(m.Linears), "linear,", m.NumParams(), "weights,", macs, "MACs per image")
	fmt.Println(m.Params()[0].Name, m.Params()[len(m.Params())-1].Name)
	// Output:
	// 64,64,A,128,128,A,256,256,256,A,512,512,512,A,512,512,512,A
	// 13 convs, 2 linear, 16848576 weights, 315334656 MACs per image
	// features.0.weight classifier.3.weight
}
