package data

import (
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/imageset"
)

// Normalization is the input normalisation privatesnn trains and
// evaluates with: Mean = Std = 0.5, so a pixel p maps to
// (p/255 − 0.5)/0.5 ∈ [−1, 1].
var Normalization = imageset.Normalization{Mean: 0.5, Std: 0.5}

// Table is Normalization's float64 table (imageset's Float64Table): the
// values training and evaluation feed the network through Set.FillBatch.
// Published models were trained and measured with exactly these values.
var Table = Normalization.Float64Table()

// Shuffle returns a random permutation of 0..n-1 for one epoch. A nil rng
// gives the identity order.
func Shuffle(n int, rng *rand.Rand) []int {
	idx := make([]int, n)
	ShuffleInto(idx, rng)
	return idx
}

// ShuffleInto fills idx with a random permutation of 0..len(idx)-1 without
// allocating. A nil rng gives the identity order.
func ShuffleInto(idx []int, rng *rand.Rand) {
	for i := range idx {
		idx[i] = i
	}
	if rng != nil {
		for i := len(idx) - 1; i > 0; i-- { // Fisher–Yates
			j := rng.IntN(i + 1)
			idx[i], idx[j] = idx[j], idx[i]
		}
	}
}
