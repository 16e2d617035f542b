package imageset

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/privatesnn/privatesnn/tensor"
)

// Bounds Validate enforces. File readers apply their own, tighter limits
// before they allocate.
const (
	MaxImages   = 1 << 24
	MaxChannels = 64
	MaxSide     = 4096
	MaxClasses  = 1 << 16
)

// Sentinel errors of Validate; the readers of package data wrap the same
// values.
var (
	// ErrLimit reports a count or dimension that is zero or beyond a limit.
	ErrLimit = errors.New("size out of bounds")
	// ErrLabel reports a label outside 0..Classes-1.
	ErrLabel = errors.New("label out of range")
	// ErrMismatch reports parts that do not agree with each other: image
	// and label counts, class names and classes, or image sizes.
	ErrMismatch = errors.New("mismatched data")
)

// Set is an in-memory labelled image set. Pixels are 8-bit, image-major,
// each image stored CHW.
type Set struct {
	Name                    string   // e.g. "fashion-mnist/train"; may be empty
	Channels, Height, Width int      // shape of every image
	Classes                 int      // number of classes (labels are 0..Classes-1)
	ClassNames              []string // len == Classes (may be generic "0","1",… if unknown)
	Pixels                  []uint8  // len == N*Channels*Height*Width
	Labels                  []int32  // len == N
}

// GenericNames returns the class names "0", "1", …, of k classes: the
// names of a set whose classes have no others.
func GenericNames(k int) []string {
	names := make([]string, k)
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	return names
}

// Len returns the number of images N.
func (s *Set) Len() int { return len(s.Labels) }

// ImageSize returns the number of bytes of one image, Channels*Height*Width.
func (s *Set) ImageSize() int { return s.Channels * s.Height * s.Width }

// HasShape reports whether s's images are channels×height×width: whether
// a model whose input has that shape reads them.
func (s *Set) HasShape(channels, height, width int) bool {
	return s.Channels == channels && s.Height == height && s.Width == width
}

// Image returns image i's pixels (CHW), sharing s's storage.
func (s *Set) Image(i int) []uint8 {
	n := s.ImageSize()
	return s.Pixels[i*n : (i+1)*n]
}

// Subset returns a new Set holding copies of the images (and labels) at the
// given indices, in the order given. Indices may repeat. The metadata
// (name, shape, classes) is copied; ClassNames is a fresh slice. Subset
// panics if an index is out of range, like a slice expression would.
func (s *Set) Subset(idx []int) *Set {
	sz := s.ImageSize()
	out := &Set{
		Name:       s.Name,
		Channels:   s.Channels,
		Height:     s.Height,
		Width:      s.Width,
		Classes:    s.Classes,
		ClassNames: append([]string(nil), s.ClassNames...),
		Pixels:     make([]uint8, len(idx)*sz),
		Labels:     make([]int32, len(idx)),
	}
	n := s.Len()
	for k, i := range idx {
		if i < 0 || i >= n {
			panic(fmt.Sprintf("imageset: Subset index %d out of range [0,%d)", i, n))
		}
		copy(out.Pixels[k*sz:(k+1)*sz], s.Pixels[i*sz:(i+1)*sz])
		out.Labels[k] = s.Labels[i]
	}
	return out
}

// Validate checks that the Set is internally consistent: positive shape
// within MaxChannels and MaxSide, 1..MaxClasses classes,
// len(ClassNames) == Classes, at most MaxImages images,
// len(Pixels) == Len()*ImageSize() and every label in 0..Classes-1. Its
// errors wrap ErrLimit, ErrMismatch or ErrLabel.
func (s *Set) Validate() error {
	name := s.Name
	if name == "" {
		name = "(unnamed set)"
	}
	if c := s.Channels; c <= 0 || c > MaxChannels {
		return fmt.Errorf("validate %s: %d channels, want 1..%d: %w", name, c, MaxChannels, ErrLimit)
	}
	if h, w := s.Height, s.Width; h <= 0 || h > MaxSide || w <= 0 || w > MaxSide {
		return fmt.Errorf("validate %s: image size %dx%d, want 1..%d per side: %w", name, h, w, MaxSide, ErrLimit)
	}
	if s.Classes <= 0 || s.Classes > MaxClasses {
		return fmt.Errorf("validate %s: %d classes, want 1..%d: %w", name, s.Classes, MaxClasses, ErrLimit)
	}
	if len(s.ClassNames) != s.Classes {
		return fmt.Errorf("validate %s: %d class names for %d classes: %w", name, len(s.ClassNames), s.Classes, ErrMismatch)
	}
	n := len(s.Labels)
	if n > MaxImages {
		return fmt.Errorf("validate %s: %d images exceeds limit %d: %w", name, n, MaxImages, ErrLimit)
	}
	if int64(n)*int64(s.ImageSize()) != int64(len(s.Pixels)) {
		return fmt.Errorf("validate %s: %d pixel bytes for %d images of %d bytes: %w", name, len(s.Pixels), n, s.ImageSize(), ErrMismatch)
	}
	for i, l := range s.Labels {
		if l < 0 || int(l) >= s.Classes {
			return fmt.Errorf("validate %s: image %d has label %d, want 0..%d: %w", name, i, l, s.Classes-1, ErrLabel)
		}
	}
	return nil
}

// FillBatch writes images idx, normalised by t, into dst (NCHW,
// len = len(idx)*ImageSize) and their labels into labels, drawing one
// Placement per image from rng in order (Augment.Draw). A nil rng or an
// augmentation that is not Active leaves the images unchanged and draws
// nothing.
//
// labels may be nil. FillBatch does not allocate. It panics if dst or
// labels has the wrong length or an index is out of range; those are
// programming errors, not data errors.
func (s *Set) FillBatch(dst []float32, labels []int32, idx []int, t *Table, aug Augment, rng *rand.Rand) {
	size := s.ImageSize()
	if len(dst) != len(idx)*size {
		panic(fmt.Sprintf("imageset: FillBatch dst has %d elements, want %d", len(dst), len(idx)*size))
	}
	if labels != nil && len(labels) != len(idx) {
		panic(fmt.Sprintf("imageset: FillBatch labels has %d elements, want %d", len(labels), len(idx)))
	}
	n := s.Len()
	augment := rng != nil && aug.Active()
	for k, i := range idx {
		if i < 0 || i >= n {
			panic(fmt.Sprintf("imageset: FillBatch index %d out of range [0,%d)", i, n))
		}
		src := s.Pixels[i*size : (i+1)*size]
		out := dst[k*size : (k+1)*size]
		if labels != nil {
			labels[k] = s.Labels[i]
		}
		if augment {
			aug.Draw(rng).Bytes(out, src, s.Channels, s.Height, s.Width, t)
		} else {
			t.Fill(out, src)
		}
	}
}

// Tensor returns images idx (all images, in order, when idx is nil),
// normalised by t, as a [len(idx), C, H, W] tensor. It panics if an index
// is out of range.
func (s *Set) Tensor(idx []int, t *Table) *tensor.Tensor {
	if idx == nil {
		idx = make([]int, s.Len())
		for i := range idx {
			idx[i] = i
		}
	}
	x := tensor.New(len(idx), s.Channels, s.Height, s.Width)
	s.FillBatch(x.Data, nil, idx, t, Augment{}, nil)
	return x
}
