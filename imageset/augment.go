package imageset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/tensor"
)

// Augment describes random augmentation of images: a crop of the image
// padded by CropPad pixels on every side (0 or less: no crop), as
// torchvision's RandomCrop(size, padding), then a horizontal flip with
// probability 1/2 if HFlip. Padded pixels are black.
//
// In JSON (model cards, checkpoints, pipeline configurations) the keys are
// crop_pad and hflip; UnmarshalJSON also reads CropPad and HFlip, the keys
// of earlier versions.
type Augment struct {
	CropPad int  `json:"crop_pad"` // random crop with this padding (0 = off); padded pixels are black
	HFlip   bool `json:"hflip"`    // random horizontal flip with p=0.5
}

// UnmarshalJSON reads an Augment object with the keys crop_pad and hflip
// or, as earlier versions wrote them, CropPad and HFlip; any other key, or
// one setting given under both names, is an error.
func (a *Augment) UnmarshalJSON(b []byte) error {
	var v struct {
		CropPad    *int  `json:"crop_pad"`
		HFlip      *bool `json:"hflip"`
		OldCropPad *int  `json:"CropPad"`
		OldHFlip   *bool `json:"HFlip"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	if v.CropPad != nil && v.OldCropPad != nil || v.HFlip != nil && v.OldHFlip != nil {
		return fmt.Errorf("augment: a setting given twice, under its key and under its earlier name (crop_pad/CropPad, hflip/HFlip)")
	}
	for _, p := range []*int{v.CropPad, v.OldCropPad} {
		if p != nil {
			a.CropPad = *p
		}
	}
	for _, p := range []*bool{v.HFlip, v.OldHFlip} {
		if p != nil {
			a.HFlip = *p
		}
	}
	return nil
}

// Active reports whether the augmentation changes anything.
func (a Augment) Active() bool { return a.CropPad > 0 || a.HFlip }

// Placement is one image's draw of the augmentation: output pixel (y, x)
// reads the source pixel (y+DY, w−1−x+DX) if Flip, else (y+DY, x+DX), and
// a black pixel where that is outside the image.
type Placement struct {
	DY, DX int
	Flip   bool
}

// Draw draws one image's placement from rng, in this order: the vertical
// and then the horizontal crop offset, each uniform in −CropPad…CropPad
// (when CropPad > 0), then the flip coin (when HFlip).
func (a Augment) Draw(rng *rand.Rand) Placement {
	var p Placement
	if pad := a.CropPad; pad > 0 {
		p.DY = rng.IntN(2*pad+1) - pad
		p.DX = rng.IntN(2*pad+1) - pad
	}
	p.Flip = a.HFlip && rng.IntN(2) == 1
	return p
}

// row returns the source row of output row y of an image of height h, or
// false if it is padding.
func (p Placement) row(y, h int) (int, bool) {
	sy := y + p.DY
	return sy, sy >= 0 && sy < h
}

// col returns the source column of output column x of an image of width
// w, or false if it is padding.
func (p Placement) col(x, w int) (int, bool) {
	if p.Flip {
		x = w - 1 - x
	}
	sx := x + p.DX
	return sx, sx >= 0 && sx < w
}

// Bytes writes the c×h×w 8-bit image src, placed by p and normalised by t,
// into dst (c·h·w values). It does not allocate.
func (p Placement) Bytes(dst []float32, src []uint8, c, h, w int, t *Table) {
	black := t.Black()
	for ch := range c {
		plane := src[ch*h*w : (ch+1)*h*w]
		out := dst[ch*h*w : (ch+1)*h*w]
		for y := range h {
			row := out[y*w : (y+1)*w]
			sy, ok := p.row(y, h)
			if !ok {
				for x := range row {
					row[x] = black
				}
				continue
			}
			srow := plane[sy*w : (sy+1)*w]
			for x := range row {
				if sx, ok := p.col(x, w); ok {
					row[x] = t[srow[sx]]
				} else {
					row[x] = black
				}
			}
		}
	}
}

// Floats writes the c×h×w normalised image src, placed by p, into dst
// (c·h·w values); padded pixels take the value black. It does not
// allocate.
func (p Placement) Floats(dst, src []float32, c, h, w int, black float32) {
	for ch := range c {
		plane := src[ch*h*w : (ch+1)*h*w]
		out := dst[ch*h*w : (ch+1)*h*w]
		for y := range h {
			row := out[y*w : (y+1)*w]
			sy, ok := p.row(y, h)
			if !ok {
				for x := range row {
					row[x] = black
				}
				continue
			}
			srow := plane[sy*w : (sy+1)*w]
			for x := range row {
				if sx, ok := p.col(x, w); ok {
					row[x] = srow[sx]
				} else {
					row[x] = black
				}
			}
		}
	}
}

// Tensor returns an augmented copy of the normalised NCHW batch x, one
// Draw per image in order; padded pixels take the value black, the
// normalised black pixel (Normalization.Black). If the augmentation is not
// Active it returns x itself and draws nothing.
func (a Augment) Tensor(x *tensor.Tensor, black float32, rng *rand.Rand) *tensor.Tensor {
	if !a.Active() {
		return x
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	size := c * h * w
	y := tensor.New(x.Shape...)
	for i := range n {
		a.Draw(rng).Floats(y.Data[i*size:(i+1)*size], x.Data[i*size:(i+1)*size], c, h, w, black)
	}
	return y
}
