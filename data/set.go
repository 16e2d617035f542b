package data

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/privatesnn/privatesnn/imageset"
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
// of problem with errors.Is. ErrLimit, ErrLabel and ErrMismatch are the
// values package imageset's Set.Validate wraps.
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
	ErrLimit = imageset.ErrLimit
	// ErrLabel reports a label outside 0..Classes-1.
	ErrLabel = imageset.ErrLabel
	// ErrMismatch reports parts that do not agree with each other: image and
	// label counts, or image sizes inside a folder.
	ErrMismatch = imageset.ErrMismatch
)

// Set is an in-memory labelled image dataset: package imageset's Set, which
// the data-free packages share. Pixels are 8-bit, image-major, each image
// stored CHW. The readers of this package return validated Sets within the
// limits above; Set.Validate checks imageset's (wider) bounds.
type Set = imageset.Set

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
