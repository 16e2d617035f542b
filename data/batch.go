package data

import (
	"fmt"
	"math/rand/v2"
)

// Mean and Std define the normalisation applied by FillBatch and
// Normalize: a pixel p∈[0,255] maps to (p/255 − Mean)/Std. privatesnn uses
// Mean=Std=0.5 everywhere, i.e. x ∈ [-1,1].
const Mean, Std = 0.5, 0.5

// normTable holds the normalised value of every 8-bit pixel.
var normTable = func() (t [256]float32) {
	for p := range t {
		t[p] = float32((float64(p)/255 - Mean) / Std)
	}
	return t
}()

// Normalize returns the normalised value (p/255 − Mean)/Std of pixel p:
// 0 → -1 and 255 → 1.
func Normalize(p uint8) float32 { return normTable[p] }

// Augment describes training-time augmentation.
type Augment struct {
	CropPad int  // random crop with this zero padding (0 = off); zero padding is applied in pixel space, so a padded pixel is 0 → -1 after normalisation
	HFlip   bool // random horizontal flip with p=0.5
}

// FillBatch writes images idx (NCHW float32, normalised) into dst
// (len = len(idx)*ImageSize) and their labels into labels; aug and rng may
// be zero/nil for no augmentation.
//
// With augmentation, each image draws, in this order, a vertical and a
// horizontal crop offset, each uniform in 0..2*CropPad (when CropPad > 0),
// then a flip coin (when HFlip). The crop is taken from the image padded by
// CropPad zero pixels on every side, as torchvision's RandomCrop(size,
// padding) does, and the flip is applied to the cropped image. A nil rng
// disables augmentation.
//
// labels may be nil. FillBatch does not allocate. It panics if dst or
// labels has the wrong length or an index is out of range; those are
// programming errors, not data errors.
func (s *Set) FillBatch(dst []float32, labels []int32, idx []int, aug Augment, rng *rand.Rand) {
	size := s.ImageSize()
	if len(dst) != len(idx)*size {
		panic(fmt.Sprintf("data: FillBatch dst has %d elements, want %d", len(dst), len(idx)*size))
	}
	if labels != nil && len(labels) != len(idx) {
		panic(fmt.Sprintf("data: FillBatch labels has %d elements, want %d", len(labels), len(idx)))
	}
	n := s.Len()
	pad := max(aug.CropPad, 0)
	augment := rng != nil && (pad > 0 || aug.HFlip)
	for k, i := range idx {
		if i < 0 || i >= n {
			panic(fmt.Sprintf("data: FillBatch index %d out of range [0,%d)", i, n))
		}
		src := s.Pixels[i*size : (i+1)*size]
		out := dst[k*size : (k+1)*size]
		if labels != nil {
			labels[k] = s.Labels[i]
		}
		if !augment {
			for j, p := range src {
				out[j] = normTable[p]
			}
			continue
		}
		dy, dx := 0, 0
		if pad > 0 {
			dy = rng.IntN(2*pad+1) - pad
			dx = rng.IntN(2*pad+1) - pad
		}
		flip := aug.HFlip && rng.IntN(2) == 1
		s.cropFlip(out, src, dy, dx, flip)
	}
}

// cropFlip writes the normalised image src shifted by (dy, dx) — output
// pixel (y, x) reads source pixel (y+dy, x+dx), zero outside — and then
// mirrored horizontally if flip.
func (s *Set) cropFlip(out []float32, src []uint8, dy, dx int, flip bool) {
	h, w := s.Height, s.Width
	zero := normTable[0]
	for c := range s.Channels {
		plane := src[c*h*w : (c+1)*h*w]
		op := out[c*h*w : (c+1)*h*w]
		for y := range h {
			row := op[y*w : (y+1)*w]
			sy := y + dy
			if sy < 0 || sy >= h {
				for x := range row {
					row[x] = zero
				}
				continue
			}
			srow := plane[sy*w : (sy+1)*w]
			for x := range row {
				cx := x // column of the cropped image that lands at x
				if flip {
					cx = w - 1 - x
				}
				sx := cx + dx
				if sx < 0 || sx >= w {
					row[x] = zero
				} else {
					row[x] = normTable[srow[sx]]
				}
			}
		}
	}
}

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
