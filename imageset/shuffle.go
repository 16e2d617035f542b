package imageset

import "math/rand/v2"

// Shuffle returns a random permutation of 0..n−1: an epoch's order of a
// set's images. A nil rng gives the identity order.
func Shuffle(n int, rng *rand.Rand) []int {
	idx := make([]int, n)
	ShuffleInto(idx, rng)
	return idx
}

// ShuffleInto fills idx with a random permutation of 0..len(idx)−1
// without allocating. It is the Fisher–Yates shuffle: for i from
// len(idx)−1 down to 1 it swaps idx[i] with idx[rng.IntN(i+1)], so it
// draws len(idx)−1 values in that order. A nil rng gives the identity
// order.
func ShuffleInto(idx []int, rng *rand.Rand) {
	for i := range idx {
		idx[i] = i
	}
	if rng != nil {
		for i := len(idx) - 1; i > 0; i-- {
			j := rng.IntN(i + 1)
			idx[i], idx[j] = idx[j], idx[i]
		}
	}
}
