package convert

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Normalization maps an 8-bit pixel p to x = (p/255 − Mean)/Std, the
// input the network was trained on.
type Normalization struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// Validate reports a normalisation that cannot be used.
func (n Normalization) Validate() error {
	if !(n.Std > 0) || math.IsInf(n.Std, 0) || math.IsNaN(n.Mean) || math.IsInf(n.Mean, 0) {
		return fmt.Errorf("convert: normalisation mean %g std %g (want a finite mean and a positive finite std)", n.Mean, n.Std)
	}
	return nil
}

// Value returns the normalised value of pixel p. It is computed in float32
// as p/(255·Std) − Mean/Std, which for Mean = Std = 0.5 is p/127.5 − 1,
// bit for bit the value privatesnn has always calibrated on. It can differ
// from (p/255 − Mean)/Std computed exactly by a few float32 rounding errors
// of the two terms (about 2⁻²³ times the larger of |p/(255·Std)| and
// |Mean/Std|).
func (n Normalization) Value(p uint8) float32 {
	return float32(p)/float32(255*n.Std) - float32(n.Mean/n.Std)
}

// Black returns the normalised value of a black pixel (p = 0), −Mean/Std:
// −1 for the reference's 0.5/0.5.
func (n Normalization) Black() float32 { return n.Value(0) }

// table returns Value for every byte.
func (n Normalization) table() *[256]float32 {
	var t [256]float32
	for p := range t {
		t[p] = n.Value(uint8(p))
	}
	return &t
}

// NormalizeImages returns all n images produced by get (CHW bytes, c·h·w
// each) as a normalised [n, c, h, w] tensor, in order: a pool to draw
// calibration images from (see Calibrate).
func NormalizeImages(n, c, h, w int, get func(i int) []uint8, norm Normalization) (*tensor.Tensor, error) {
	if err := norm.Validate(); err != nil {
		return nil, err
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return gatherBytes(idx, c, h, w, get, norm.table())
}

// PickImages returns k normalised images [k, C, H, W] chosen without
// replacement by rng (one rng.Perm(n) draw) from the n images produced by
// get (CHW bytes); k larger than n takes all n, in random order.
func PickImages(n, c, h, w, k int, get func(i int) []uint8, norm Normalization, rng *rand.Rand) (*tensor.Tensor, error) {
	if err := norm.Validate(); err != nil {
		return nil, err
	}
	if n < 1 || k < 1 {
		return nil, fmt.Errorf("convert: cannot pick %d of %d images", k, n)
	}
	return gatherBytes(rng.Perm(n)[:min(k, n)], c, h, w, get, norm.table())
}

func gatherBytes(idx []int, c, h, w int, get func(i int) []uint8, lut *[256]float32) (*tensor.Tensor, error) {
	size := c * h * w
	x := tensor.New(len(idx), c, h, w)
	for j, i := range idx {
		px := get(i)
		if len(px) != size {
			return nil, fmt.Errorf("convert: image %d has %d bytes, want %d×%d×%d", i, len(px), c, h, w)
		}
		dst := x.Data[j*size : (j+1)*size]
		for p, v := range px {
			dst[p] = lut[v]
		}
	}
	return x, nil
}

// Augment is AugmentFill with the fill −1, the black pixel of the
// reference's 0.5/0.5 normalisation.
func Augment(x *tensor.Tensor, pad int, flip bool, rng *rand.Rand) *tensor.Tensor {
	return AugmentFill(x, pad, flip, -1, rng)
}

// AugmentFill returns a randomly cropped and, if flip, randomly mirrored
// copy of the NCHW batch x, as the reference augments its calibration
// images (RandomCrop with padding pad, then RandomHorizontalFlip). Pixels
// the crop shifts in from outside the image take the value fill, the
// normalised black pixel (Normalization.Black). For each image it draws
// the vertical then the horizontal shift (when pad > 0) and then the flip
// (when flip). With pad ≤ 0 and no flip it returns x itself.
func AugmentFill(x *tensor.Tensor, pad int, flip bool, fill float32, rng *rand.Rand) *tensor.Tensor {
	if pad <= 0 && !flip {
		return x
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	y := tensor.New(x.Shape...)
	for i := range n {
		dy, dx := 0, 0
		if pad > 0 {
			dy, dx = rng.IntN(2*pad+1)-pad, rng.IntN(2*pad+1)-pad
		}
		mirror := flip && rng.IntN(2) == 1
		for ch := range c {
			src := x.Data[(i*c+ch)*h*w : (i*c+ch+1)*h*w]
			dst := y.Data[(i*c+ch)*h*w : (i*c+ch+1)*h*w]
			for r := range h {
				for col := range w {
					sc := col
					if mirror {
						sc = w - 1 - col
					}
					sr, sc := r+dy, sc+dx
					v := fill
					if sr >= 0 && sr < h && sc >= 0 && sc < w {
						v = src[sr*w+sc]
					}
					dst[r*w+col] = v
				}
			}
		}
	}
	return y
}

// Sampling says how calibration images are drawn from a pool of normalised
// images for threshold balancing.
type Sampling struct {
	// Images is how many images a draw takes, without replacement (0, or
	// more than the pool holds: all of them, in random order).
	Images int `json:"images"`
	// CropPad and Flip augment every draw (see AugmentFill); 0 and false
	// leave the images unchanged.
	CropPad int  `json:"crop_pad,omitempty"`
	Flip    bool `json:"flip,omitempty"`
	// Norm gives the crop's fill, the normalised black pixel; it is needed
	// only when CropPad > 0.
	Norm Normalization `json:"-"`
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
		return s.Norm.Validate()
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
	return AugmentFill(x, s.CropPad, s.Flip, fill, rng)
}

// Calibrate balances the thresholds of m on images drawn from pool
// [N, C, H, W] (normalised) as s describes, all randomness from rng.
//
// Without PerPass it draws once (Sampling.Draw) and calls Thresholds with
// the same rng, so its result is bit for bit that of
//
//	calib := PickImages(…, rng) // or a Draw from the normalised pool
//	calib = AugmentFill(calib, pad, flip, black, rng)
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
