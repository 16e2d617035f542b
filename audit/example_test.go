package audit_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/audit"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/vgg"
)

// An audit of one spiking network with all three attacks, scored by an
// independent evaluator against (here random) test images. Real use loads
// the models with package modelfile and the test images with package data.
func ExampleRun() {
	norm := imageset.Normalization{Mean: 0.5, Std: 0.5}
	build := func(features []vgg.Item, seed uint64) *vgg.Model {
		m, err := vgg.New(vgg.Config{Name: "tiny", Features: features, Hidden: []int{16}, Classes: 3,
			InChannels: 1, InHeight: 8, InWidth: 8}, rand.New(rand.NewPCG(seed, 0)))
		if err != nil {
			panic(err)
		}
		return m
	}
	net, err := snn.New(build([]vgg.Item{4, vgg.A, 8}, 1), snn.Config{Timesteps: 4, Leak: 1, Thresholds: []float32{0.3, 0.3, 0.3}})
	if err != nil {
		panic(err)
	}
	evaluators := []*audit.Evaluator{
		{Name: "E1", Model: build([]vgg.Item{2, vgg.A}, 2), Norm: norm},
		{Name: "E2", Model: build([]vgg.Item{4, vgg.A}, 5), Norm: norm},
	}
	rng := rand.New(rand.NewPCG(3, 0))
	test := &imageset.Set{Channels: 1, Height: 8, Width: 8, Classes: 3, ClassNames: []string{"a", "b", "c"}}
	for i := range 30 {
		test.Labels = append(test.Labels, int32(i%3))
		for range 64 {
			test.Pixels = append(test.Pixels, uint8(rng.IntN(256)))
		}
	}
	o := audit.Defaults()
	o.Methods = audit.Of(attack.Visualize, attack.SNNGradient, attack.SNNInversion)
	o.PerClass = 2
	o.Visualize.Iterations, o.SNNGradient.Iterations, o.Inversion.Iterations = 5, 2, 2
	report, err := audit.Run(context.Background(), []audit.Model{{Name: "SNN", SNN: net, Norm: norm}}, evaluators, test, nil, o, nil)
	if err != nil {
		panic(err)
	}
	for _, row := range report.Rows {
		fmt.Printf("%-7s %d images scored by %d evaluators\n", row.Set, row.Score.Images, len(row.Scores()))
	}
	fmt.Println("reference images:", report.Reference)
	w := report.WorstCase[0]
	fmt.Println("worst case of", w.Model, "is one of the attacks:", w.Attack != "")
	// Output:
	// attack1 6 images scored by 2 evaluators
	// attack2 6 images scored by 2 evaluators
	// attack3 6 images scored by 2 evaluators
	// real    6 images scored by 2 evaluators
	// noise   6 images scored by 2 evaluators
	// reference images: 24
	// worst case of SNN is one of the attacks: true
}
