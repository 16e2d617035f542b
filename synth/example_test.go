package synth_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/vgg"
)

// Generate two images per class from a (here untrained) network; a real run
// loads a trained model with modelfile.Load and writes the set with
// synth.WriteDir.
func Example() {
	model, _ := vgg.New(vgg.Config{Name: "tiny", Features: []vgg.Item{4, vgg.Pool}, Classes: 3,
		InChannels: 1, InHeight: 8, InWidth: 8}, rand.New(rand.NewPCG(1, 1)))
	o := synth.Defaults()
	o.PerClass = 2
	o.Invert.Iterations = 20
	res, err := synth.Generate(context.Background(), model, o, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	s := res.Set
	fmt.Printf("%d images of %d×%d×%d, labels %v\n", s.Len(), s.Channels, s.Height, s.Width, s.Labels)
	fmt.Printf("concentration diagonal %g %g %g\n", res.Concentration[0][0], res.Concentration[1][1], res.Concentration[2][2])
	// Output:
	// 6 images of 1×8×8, labels [0 0 1 1 2 2]
	// concentration diagonal 1 1 1
}
