package convert_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Balance the thresholds of a small VGG on calibration images (synthetic in
// privatesnn; random here) and build its spiking network.
func ExampleThresholds() {
	cfg := vgg.Config{Name: "tiny", Features: []vgg.Item{8, vgg.Pool}, Hidden: []int{16}, Classes: 3,
		InChannels: 1, InHeight: 8, InWidth: 8}
	ann, _ := vgg.New(cfg, rand.New(rand.NewPCG(1, 1)))
	calib := tensor.New(32, 1, 8, 8)
	calib.RandUniform(rand.New(rand.NewPCG(2, 2)), -1, 1)
	o := convert.Defaults()
	o.Timesteps = 20
	th, err := convert.Thresholds(context.Background(), ann, calib, o, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		panic(err)
	}
	net, err := snn.New(ann, o.Config(th))
	if err != nil {
		panic(err)
	}
	fmt.Println(len(th), "thresholds for", net.LayerNames())
	// Output:
	// 2 thresholds for [features.0.weight classifier.0.weight]
}

// Choose a threshold percentile, initial membrane and encoder for T = 8
// among three candidates, scoring each by how often the spiking network's
// top-1 class agrees with the ANN's on held-out (synthetic) images.
func ExampleSelect() {
	cfg := vgg.Config{Name: "tiny", Features: []vgg.Item{8, vgg.Pool}, Hidden: []int{16}, Classes: 3,
		InChannels: 1, InHeight: 8, InWidth: 8}
	ann, _ := vgg.New(cfg, rand.New(rand.NewPCG(1, 1)))
	calib, held := tensor.New(16, 1, 8, 8), tensor.New(32, 1, 8, 8)
	calib.RandUniform(rand.New(rand.NewPCG(2, 2)), -1, 1)
	held.RandUniform(rand.New(rand.NewPCG(3, 3)), -1, 1)
	o := convert.SelectOptions{Base: convert.Defaults(), Candidates: []convert.Candidate{
		{Percentile: 0, InitMembrane: 0, Encoder: snn.Poisson}, // the reference's recipe
		{Percentile: 99.9, InitMembrane: 0.5, Encoder: snn.Poisson},
		{Percentile: 99.9, InitMembrane: 0.5, Encoder: snn.Direct},
	}}
	o.Base.Timesteps = 8
	r, err := convert.Select(context.Background(), ann, calib, held, o, rand.New(rand.NewPCG(4, 4)))
	if err != nil {
		panic(err)
	}
	net, err := snn.New(ann, r.Options.Config(r.Thresholds))
	if err != nil {
		panic(err)
	}
	fmt.Println(len(r.Record.Candidates), "candidates scored on", r.Record.HeldOutImages, "held-out images;",
		len(net.Config.Thresholds), "thresholds chosen")
	// Output:
	// 3 candidates scored on 32 held-out images; 2 thresholds chosen
}

// Draw 16 calibration images from a pool of 8-bit images, augmented with
// a random crop (padding 2, black fill) and flip redrawn for every layer's
// pass, as the reference does.
func ExampleCalibrate() {
	cfg := vgg.Config{Name: "tiny", Features: []vgg.Item{8, vgg.Pool}, Hidden: []int{16}, Classes: 3,
		InChannels: 1, InHeight: 8, InWidth: 8}
	ann, _ := vgg.New(cfg, rand.New(rand.NewPCG(1, 1)))
	pixels := make([][]uint8, 100) // e.g. a synthetic image set
	rng := rand.New(rand.NewPCG(2, 2))
	for i := range pixels {
		pixels[i] = make([]uint8, 64)
		for p := range pixels[i] {
			pixels[i][p] = uint8(rng.IntN(256))
		}
	}
	set := &imageset.Set{Channels: 1, Height: 8, Width: 8, Classes: 1, ClassNames: []string{"0"}, Labels: make([]int32, len(pixels))}
	for _, p := range pixels {
		set.Pixels = append(set.Pixels, p...)
	}
	norm := imageset.Normalization{Mean: 0.5, Std: 0.5}
	pool := set.Tensor(nil, norm.Float32Table()) // calibration normalises in float32

	o := convert.Defaults()
	o.Timesteps = 20
	s := convert.Sampling{Images: 16, CropPad: 2, Flip: true, Norm: norm, PerPass: true}
	th, err := convert.Calibrate(context.Background(), ann, pool, s, o, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		panic(err)
	}
	fmt.Println(len(th), "thresholds; black pixel", norm.Black())
	// Output:
	// 2 thresholds; black pixel -1
}
