package data_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/imageset"
)

// Load the embedded Fashion-MNIST subset and build one augmented,
// normalised mini-batch from a shuffled epoch order.
func ExampleLoad() {
	train, err := data.Load("embedded", "train", "")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %d images, %dx%dx%d, %d classes (class 9 is %q)\n",
		train.Name, train.Len(), train.Channels, train.Height, train.Width, train.Classes, train.ClassNames[9])

	rng := rand.New(rand.NewPCG(0, 0))
	order := data.Shuffle(train.Len(), rng)
	const batch = 32
	x := make([]float32, batch*train.ImageSize())
	y := make([]int32, batch)
	train.FillBatch(x, y, order[:batch], data.Table(), imageset.Augment{CropPad: 4, HFlip: true}, rng)

	lo, hi := x[0], x[0]
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	fmt.Printf("batch of %d, values in [%g, %g]\n", len(y), lo, hi)
	// Output:
	// embedded/train: 5000 images, 1x28x28, 10 classes (class 9 is "Ankle boot")
	// batch of 32, values in [-1, 1]
}
