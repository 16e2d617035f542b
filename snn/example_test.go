package snn_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Simulate the spiking version of a small VGG for 50 steps and read the
// output at 10, 25 and 50 steps.
func ExampleNetwork_Run() {
	cfg := vgg.Config{Name: "tiny", Features: []vgg.Item{8, vgg.Pool}, Hidden: []int{16}, Classes: 3,
		InChannels: 1, InHeight: 8, InWidth: 8}
	m, _ := vgg.New(cfg, rand.New(rand.NewPCG(1, 1)))
	net, err := snn.New(m, snn.Config{Timesteps: 50, Leak: 1, Reset: snn.ResetSubtract, Encoder: snn.Poisson,
		Thresholds: []float32{1, 1}})
	if err != nil {
		panic(err)
	}
	x := tensor.New(2, 1, 8, 8) // two images in [-1, 1]
	x.Fill(0.5)
	r, err := net.Run(context.Background(), x, rand.New(rand.NewPCG(2, 2)), snn.Options{Readouts: []int{10, 25}})
	if err != nil {
		panic(err)
	}
	fmt.Println("readouts at", r.Readouts, "logits", r.Logits().Shape)
	fmt.Println("layers:", net.LayerNames())
	// Output:
	// readouts at [10 25 50] logits [2 3]
	// layers: [features.0.weight classifier.0.weight]
}
