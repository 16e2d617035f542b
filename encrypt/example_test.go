package encrypt_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/encrypt"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Train the spiking version of a tiny VGG for two epochs on 16 images of
// two classes (a bright top or bottom half), with plain cross-entropy on
// the raw summed output (κ = 1).
func ExampleRun() {
	cfg := vgg.Config{Name: "tiny", Features: []vgg.Item{4, vgg.Pool}, Hidden: []int{16}, Classes: 2,
		InChannels: 1, InHeight: 6, InWidth: 6}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		panic(err)
	}
	net, err := snn.New(m, snn.Config{Timesteps: 6, Leak: 1, Reset: snn.ResetSubtract, Encoder: snn.Direct,
		Thresholds: []float32{0.5, 0.5}})
	if err != nil {
		panic(err)
	}
	x := tensor.New(16, 1, 6, 6) // normalised images in [-1, 1]
	labels := make([]int32, 16)
	for i := range labels {
		labels[i] = int32(i % 2)
		for p := range 36 {
			x.Data[i*36+p] = -0.6
			if (p < 18) == (i%2 == 0) {
				x.Data[i*36+p] = 0.6
			}
		}
	}
	o := encrypt.Defaults()
	o.Epochs, o.BatchSize, o.LR = 2, 8, 1e-2
	o.Distill, o.Scale = false, encrypt.ScaleSum // no ANN needed
	st, err := encrypt.Run(context.Background(), nil, net, x, labels, o, nil, encrypt.Hooks{})
	if err != nil {
		panic(err)
	}
	fmt.Println("epochs:", len(st.History))
	fmt.Println("κ = 1:", st.Kappa == 1)
	for _, h := range st.History {
		fmt.Printf("epoch %d at lr %g\n", h.Epoch, h.LR)
	}
	// Output:
	// epochs: 2
	// κ = 1: true
	// epoch 1 at lr 0.01
	// epoch 2 at lr 0.001
}
