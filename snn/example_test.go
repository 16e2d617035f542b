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

// Try burst neurons (up to 3 spikes per step) with several first-layer
// thresholds on one model: the networks WithConfig derives share the
// weights New read once. The lower the threshold, the larger the bursts.
func ExampleNetwork_WithConfig() {
	cfg := vgg.Config{Name: "tiny", Features: []vgg.Item{8, vgg.Pool}, Hidden: []int{16}, Classes: 3,
		InChannels: 1, InHeight: 8, InWidth: 8}
	m, _ := vgg.New(cfg, rand.New(rand.NewPCG(1, 1)))
	base, err := snn.New(m, snn.Config{Timesteps: 4, Leak: 1, Encoder: snn.Direct, InitMembrane: 0.5,
		Thresholds: []float32{1, 1}})
	if err != nil {
		panic(err)
	}
	x := tensor.New(2, 1, 8, 8)
	x.Fill(0.5)
	for _, th := range []float32{1, 0.5, 0.25} {
		c := base.Config
		c.Burst, c.Thresholds = 3, []float32{th, 1}
		net, err := base.WithConfig(c)
		if err != nil {
			panic(err)
		}
		var most float32
		_, err = net.Run(context.Background(), x, rand.New(rand.NewPCG(2, 2)), snn.Options{Spikes: func(layer int, s []float32, _, _ int) {
			for _, v := range s {
				if layer == 0 {
					most = max(most, v)
				}
			}
		}})
		if err != nil {
			panic(err)
		}
		fmt.Printf("first threshold %g: at most %g spikes per step\n", th, most)
	}
	// Output:
	// first threshold 1: at most 2 spikes per step
	// first threshold 0.5: at most 3 spikes per step
	// first threshold 0.25: at most 3 spikes per step
}
