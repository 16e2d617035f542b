package qcfs_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/qcfs"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Quantise a small VGG for T = 4 on (synthetic in privatesnn; random here)
// images, then build its spiking network with thresholds from the clips,
// initial membrane θ/2 and direct input.
func ExampleRun() {
	cfg := vgg.Config{Name: "tiny", Features: []vgg.Item{8, vgg.Pool}, Hidden: []int{16}, Classes: 3,
		InChannels: 1, InHeight: 8, InWidth: 8}
	ann, _ := vgg.New(cfg, rand.New(rand.NewPCG(1, 1)))
	images := tensor.New(60, 1, 8, 8)
	images.RandUniform(rand.New(rand.NewPCG(2, 2)), -1, 1)
	o := qcfs.Defaults()
	o.Timesteps = 4 // L = T = 4 levels
	r, err := qcfs.Run(context.Background(), ann, images, o, imageset.TrainingNormalization(), nil)
	if err != nil {
		panic(err)
	}
	th, err := convert.ClipThresholds(r.Model)
	if err != nil {
		panic(err)
	}
	plain, _ := r.Model.Plain()
	o2 := convert.Defaults().WithCandidate(convert.ClipsCandidate())
	o2.Timesteps = 4
	net, err := snn.New(plain, o2.Config(th))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d levels, %d clips at the %gth percentile, %d images held out\n", r.Record.Levels, len(r.Model.Clips()), r.Record.Percentile, r.Record.HeldOutImages)
	fmt.Println(net.LayerNames())
	// Output:
	// 4 levels, 2 clips at the 95th percentile, 20 images held out
	// [features.0.weight classifier.0.weight]
}
