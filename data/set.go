package data

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Limits on what a file header (or a directory tree) may claim. Readers
// reject inputs that exceed them before allocating memory for them.
const (
	// MaxImages bounds the number of images in one Set.
	MaxImages = 10_000_000
	// MaxSide bounds the height and the width of an image, in pixels.
	MaxSide = 4096
	// MaxChannels bounds the number of channels of an image.
	MaxChannels = 4
	// MaxClasses bounds the number of classes (and so the largest class id).
	MaxClasses = 1 << 16
	// MaxTotalBytes bounds the pixel bytes of one Set (8 GiB).
	MaxTotalBytes int64 = 8 << 30
)

// Sentinel errors. Every error returned by a reader in this package wraps
// one of them (and names the offending file), so callers can test the kind
// of problem with errors.Is.
var (
	// ErrFormat reports a malformed file: wrong magic number, unsupported
	// element type, inconsistent structure or trailing data.
	ErrFormat = errors.New("malformed data")
	// ErrTruncated reports a file that ends before the data its header
	// promises.
	ErrTruncated = errors.New("truncated data")
	// ErrLimit reports a header or tree that claims more than the limits
	// MaxImages, MaxSide, MaxChannels, MaxClasses or MaxTotalBytes allow, or
	// a zero count or dimension.
	ErrLimit = errors.New("size out of bounds")
	// ErrLabel reports a label outside 0..Classes-1.
	ErrLabel = errors.New("label out of range")
	// ErrMismatch reports parts that do not agree with each other: image and
	// label counts, or image sizes inside a folder.
	ErrMismatch = errors.New("mismatched data")
)

// Set is an in-memory labelled image dataset. Pixels are 8-bit, image-major,
// each image stored CHW.
type Set struct {
	Name                    string   // e.g. "fashion-mnist/train"
	Channels, Height, Width int      // shape of every image
	Classes                 int      // number of classes (labels are 0..Classes-1)
	ClassNames              []string // len == Classes (may be generic "0","1",… if unknown)
	Pixels                  []uint8  // len == N*Channels*Height*Width
	Labels                  []int32  // len == N
}

// Len returns the number of images N.
func (s *Set) Len() int { return len(s.Labels) }

// ImageSize returns the number of bytes of one image, Channels*Height*Width.
func (s *Set) ImageSize() int { return s.Channels * s.Height * s.Width }

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
			panic(fmt.Sprintf("data: Subset index %d out of range [0,%d)", i, n))
		}
		copy(out.Pixels[k*sz:(k+1)*sz], s.Pixels[i*sz:(i+1)*sz])
		out.Labels[k] = s.Labels[i]
	}
	return out
}

// Validate checks that the Set is internally consistent: positive shape
// within the package limits, len(ClassNames) == Classes,
// len(Pixels) == Len()*ImageSize() and every label in 0..Classes-1.
func (s *Set) Validate() error {
	name := s.Name
	if name == "" {
		name = "(unnamed set)"
	}
	if err := checkShape(s.Channels, s.Height, s.Width); err != nil {
		return fmt.Errorf("validate %s: %w", name, err)
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
	if i, l, ok := firstBadLabel(s.Labels, s.Classes); !ok {
		return fmt.Errorf("validate %s: image %d has label %d, want 0..%d: %w", name, i, l, s.Classes-1, ErrLabel)
	}
	return nil
}

// checkShape verifies one image shape against the limits.
func checkShape(c, h, w int) error {
	if c <= 0 || c > MaxChannels {
		return fmt.Errorf("%d channels, want 1..%d: %w", c, MaxChannels, ErrLimit)
	}
	if h <= 0 || h > MaxSide || w <= 0 || w > MaxSide {
		return fmt.Errorf("image size %dx%d, want 1..%d per side: %w", h, w, MaxSide, ErrLimit)
	}
	return nil
}

// checkTotal verifies that n images of size bytes each fit in the limits and
// in an int, and returns the product.
func checkTotal(n, size int64) (int64, error) {
	if n <= 0 {
		return 0, fmt.Errorf("no images: %w", ErrLimit)
	}
	if n > MaxImages {
		return 0, fmt.Errorf("%d images exceeds limit %d: %w", n, MaxImages, ErrLimit)
	}
	// n <= 1e7 and size <= 4*4096*4096, so the product fits in int64.
	total := n * size
	if total > MaxTotalBytes || total > math.MaxInt {
		return 0, fmt.Errorf("%d images of %d bytes (%d bytes) exceeds limit %d: %w", n, size, total, MaxTotalBytes, ErrLimit)
	}
	return total, nil
}

// firstBadLabel returns the first label outside 0..classes-1.
func firstBadLabel(labels []int32, classes int) (int, int32, bool) {
	for i, l := range labels {
		if l < 0 || int(l) >= classes {
			return i, l, false
		}
	}
	return 0, 0, true
}

// genericNames returns "0", "1", …, strconv.Itoa(n-1).
func genericNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}

// maxLabel returns the largest label, or -1 for none.
func maxLabel(labels []int32) int32 {
	m := int32(-1)
	for _, l := range labels {
		m = max(m, l)
	}
	return m
}
