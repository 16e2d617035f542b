package data

import (
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/imageset"
)

// Normalization returns the input normalisation privatesnn trains and
// evaluates with: Mean = Std = 0.5, so a pixel p maps to
// (p/255 − 0.5)/0.5 ∈ [−1, 1]. It is imageset.TrainingNormalization.
func Normalization() imageset.Normalization { return imageset.TrainingNormalization() }

// Table returns a new copy of Normalization's float64 table (imageset's
// Float64Table): the values training and evaluation feed the network
// through Set.FillBatch. Published models were trained and measured with
// exactly these values.
func Table() *imageset.Table { return Normalization().Float64Table() }

// Shuffle returns a random permutation of 0..n-1 for one epoch. A nil rng
// gives the identity order. It is imageset.Shuffle.
func Shuffle(n int, rng *rand.Rand) []int { return imageset.Shuffle(n, rng) }

// ShuffleInto fills idx with a random permutation of 0..len(idx)-1 without
// allocating. A nil rng gives the identity order. It is
// imageset.ShuffleInto.
func ShuffleInto(idx []int, rng *rand.Rand) { imageset.ShuffleInto(idx, rng) }
