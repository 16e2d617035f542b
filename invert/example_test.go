package invert_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/invert"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Optimise two random images so that a small network assigns them the soft
// labels (0.9, 0.1, 0) and (0, 0.2, 0.8).
func Example() {
	rng := rand.New(rand.NewPCG(1, 2))
	net, _ := vgg.New(vgg.Config{Name: "tiny", Features: []vgg.Item{4, vgg.Pool}, Classes: 3,
		InChannels: 1, InHeight: 8, InWidth: 8}, rng)
	images := tensor.New(2, 1, 8, 8)
	images.RandUniform(rng, -1, 1)
	targets := tensor.FromData([]float32{0.9, 0.1, 0, 0, 0.2, 0.8}, 2, 3)
	res, err := invert.Run(context.Background(), net, images, targets,
		invert.Options{Iterations: 200, LR: 0.05, Temperature: 20, Batch: 2}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range 2 {
		fmt.Printf("image %d: loss decreased %v\n", i, res.FinalLoss[i] < res.InitialLoss[i])
	}
	// Output:
	// image 0: loss decreased true
	// image 1: loss decreased true
}
