package convert_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/convert"
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
