package attack_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/vgg"
)

// Attack 1 against a small spiking network: re-convert it to an ANN, then
// optimise one 8-bit image per class towards that class's logit.
func ExampleRunVisualize() {
	cfg := vgg.Config{Name: "tiny", Features: []vgg.Item{4, vgg.Pool, 8}, Hidden: []int{16}, Classes: 3,
		InChannels: 1, InHeight: 8, InWidth: 8}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	net, err := snn.New(m, snn.Config{Timesteps: 8, Leak: 1, Thresholds: []float32{0.75, 0.75, 0.5}})
	if err != nil {
		panic(err)
	}
	ann, err := attack.Reconvert(net)
	if err != nil {
		panic(err)
	}
	norm := imageset.Normalization{Mean: 0.5, Std: 0.5}
	targets := attack.Targets(cfg.Classes, 2)
	o := attack.DefaultVisualize()
	o.Iterations, o.LR = 30, 0.5
	res, err := attack.RunVisualize(context.Background(), ann, norm, targets, o, rand.New(rand.NewPCG(4, 4)), nil)
	if err != nil {
		panic(err)
	}
	// The same start without updates, for comparison.
	o.Iterations = 1
	start, err := attack.RunVisualize(context.Background(), ann, norm, targets, o, rand.New(rand.NewPCG(4, 4)), nil)
	if err != nil {
		panic(err)
	}
	lower := 0
	for i := range targets {
		if res.Loss[i] < start.Loss[i] {
			lower++
		}
	}
	fmt.Println(res.Method, "-", res.Method.Describe())
	fmt.Println("targets", res.Targets, "images", res.Shape, "pixels", len(res.Pixels))
	fmt.Printf("target logit raised for %d of %d images\n", lower, len(targets))
	// Output:
	// attack1 - re-converted ANN, class visualisation
	// targets [0 0 1 1 2 2] images [6 1 8 8] pixels 384
	// target logit raised for 6 of 6 images
}
