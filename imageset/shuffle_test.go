package imageset

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// Shuffle is the Fisher–Yates shuffle the training loops have always
// used: the permutations below are those data.Shuffle drew at commit
// c5154ef for the same generators.
func TestShufflePinned(t *testing.T) {
	for _, c := range []struct {
		rng  *rand.Rand
		want []int
	}{
		{rand.New(rand.NewPCG(7, 1<<32)), []int{6, 3, 1, 9, 4, 7, 8, 2, 5, 0}}, // train's stream (seed 7, epoch 1, shuffle)
		{rand.New(rand.NewPCG(1, 2)), []int{4, 2, 3, 6, 9, 1, 8, 0, 5, 7}},
		{nil, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
	} {
		if got := Shuffle(10, c.rng); !slices.Equal(got, c.want) {
			t.Errorf("Shuffle(10) = %v, want %v", got, c.want)
		}
	}
	idx := make([]int, 4)
	ShuffleInto(idx, rand.New(rand.NewPCG(1, 2)))
	if !slices.Equal(idx, Shuffle(4, rand.New(rand.NewPCG(1, 2)))) {
		t.Errorf("ShuffleInto %v differs from Shuffle", idx)
	}
}

func TestTrainingNormalization(t *testing.T) {
	n := TrainingNormalization()
	if n != (Normalization{Mean: 0.5, Std: 0.5}) || n.Float64Table()[0] != -1 || n.Float64Table()[255] != 1 {
		t.Errorf("TrainingNormalization %+v maps 0, 255 to %g, %g; want 0.5/0.5 and −1, 1", n, n.Float64Table()[0], n.Float64Table()[255])
	}
}
