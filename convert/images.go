package convert

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Sampling says how calibration images are drawn from a pool of normalised
// images for threshold balancing.
type Sampling struct {
	// Images is how many images a draw takes, without replacement (0, or
	// more than the pool holds: all of them, in random order).
	Images int `json:"images"`
	// CropPad and Flip augment every draw (imageset.Augment with HFlip =
	// Flip); 0 and false leave the images unchanged.
	CropPad int  `json:"crop_pad,omitempty"`
	Flip    bool `json:"flip,omitempty"`
	// Norm gives the crop's fill, the normalised black pixel; it is needed
	// only when CropPad > 0.
	Norm imageset.Normalization `json:"-"`
	// PerPass redraws and re-augments the images for every layer's pass of
	// the search, as the reference does (its shuffled, augmenting loader is
	// iterated anew per layer). Without it one draw serves all passes.
	PerPass bool `json:"per_pass,omitempty"`
}

// Validate reports unusable settings.
func (s Sampling) Validate() error {
	if s.Images < 0 || s.CropPad < 0 || s.CropPad > 64 {
		return fmt.Errorf("convert: sampling %d images with crop padding %d (want ≥ 0 and padding ≤ 64)", s.Images, s.CropPad)
	}
	if s.CropPad > 0 {
		if err := s.Norm.Validate(); err != nil {
			return fmt.Errorf("convert: %w", err)
		}
	}
	return nil
}

// Draw takes one draw of calibration images from pool [N, C, H, W]: one
// rng.Perm(N) for the choice, then the augmentation's draws.
func (s Sampling) Draw(pool *tensor.Tensor, rng *rand.Rand) *tensor.Tensor {
	N := pool.Shape[0]
	k := N
	if s.Images > 0 {
		k = min(s.Images, N)
	}
	idx := rng.Perm(N)[:k]
	per := pool.Len() / N
	x := tensor.New(append([]int{k}, pool.Shape[1:]...)...)
	for j, i := range idx {
		copy(x.Data[j*per:(j+1)*per], pool.Data[i*per:(i+1)*per])
	}
	var fill float32
	if s.CropPad > 0 {
		fill = s.Norm.Black()
	}
	return imageset.Augment{CropPad: s.CropPad, HFlip: s.Flip}.Tensor(x, fill, rng)
}

// Calibrate balances the thresholds of m on images drawn from pool
// [N, C, H, W] (normalised) as s describes, all randomness from rng.
//
// Without PerPass it draws once (Sampling.Draw) and calls Thresholds with
// the same rng, so its result is bit for bit that of
//
//	calib := set.Tensor(rng.Perm(n)[:k], table) // or a Draw from the normalised pool
//	calib = imageset.Augment{CropPad: pad, HFlip: flip}.Tensor(calib, black, rng)
//	th, err := Thresholds(ctx, m, calib, o, rng)
//
// With PerPass every layer's pass starts with a fresh draw, followed by
// that pass's Poisson draws: the reference's recipe.
func Calibrate(ctx context.Context, m *vgg.Model, pool *tensor.Tensor, s Sampling, o Options, rng *rand.Rand) ([]float32, error) {
	if err := checkCalib(pool); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if !s.PerPass {
		return Thresholds(ctx, m, s.Draw(pool, rng), o, rng)
	}
	if o.Staged {
		return nil, fmt.Errorf("convert: a staged search keeps one draw of images for all layers; it cannot redraw them per pass")
	}
	return balance(ctx, m, o, rng, func(int) *tensor.Tensor { return s.Draw(pool, rng) })
}
