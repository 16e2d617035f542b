package data

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// CIFAR binary-format constants.
const (
	cifarSide   = 32
	cifarPixels = 3 * cifarSide * cifarSide // 3072 bytes, CHW (R plane, G plane, B plane)
)

// CIFAR10ClassNames are the CIFAR-10 class names in label order.
var CIFAR10ClassNames = []string{
	"airplane", "automobile", "bird", "cat", "deer",
	"dog", "frog", "horse", "ship", "truck",
}

// CIFAR100ClassNames are the CIFAR-100 fine class names in label order.
var CIFAR100ClassNames = []string{
	"apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
	"bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
	"chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
	"dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
	"lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
	"mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
	"plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
	"rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
	"squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
	"train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
}

// cifarKind describes one of the two CIFAR binary layouts.
type cifarKind struct {
	name       string
	labelBytes int // bytes before the pixels: 1 (label) or 2 (coarse, fine)
	classes    int
	coarse     int // number of coarse classes (CIFAR-100 only)
	names      []string
}

var (
	cifar10Kind  = cifarKind{name: "cifar10", labelBytes: 1, classes: 10, names: CIFAR10ClassNames}
	cifar100Kind = cifarKind{name: "cifar100", labelBytes: 2, classes: 100, coarse: 20, names: CIFAR100ClassNames}
)

// ReadCIFAR10 reads and concatenates CIFAR-10 files in the binary version
// of the format (data_batch_1.bin … data_batch_5.bin, test_batch.bin): a
// sequence of 3073-byte records, one label byte (0..9) followed by 3072
// pixel bytes (32×32 red plane, then green, then blue). Files may be
// gzip-compressed. The result has 3 channels, 32×32 images and 10 classes.
func ReadCIFAR10(paths ...string) (*Set, error) {
	return readCIFAR(cifar10Kind, "cifar10", paths)
}

// ReadCIFAR100 reads and concatenates CIFAR-100 files in the binary version
// of the format (train.bin, test.bin): 3074-byte records of a coarse label
// byte (0..19), a fine label byte (0..99) and 3072 pixel bytes. The fine
// labels are used, so the result has 100 classes.
func ReadCIFAR100(paths ...string) (*Set, error) {
	return readCIFAR(cifar100Kind, "cifar100", paths)
}

// DecodeCIFAR10 decodes one CIFAR-10 binary stream (raw or gzip); name
// becomes Set.Name and appears in error messages.
func DecodeCIFAR10(r io.Reader, name string) (*Set, error) {
	s := newCIFARSet(cifar10Kind, name)
	if err := decodeCIFAR(cifar10Kind, r, -1, s); err != nil {
		return nil, fmt.Errorf("decode %s: %w", name, err)
	}
	return s, nil
}

// DecodeCIFAR100 decodes one CIFAR-100 binary stream (raw or gzip) using
// the fine labels; name becomes Set.Name and appears in error messages.
func DecodeCIFAR100(r io.Reader, name string) (*Set, error) {
	s := newCIFARSet(cifar100Kind, name)
	if err := decodeCIFAR(cifar100Kind, r, -1, s); err != nil {
		return nil, fmt.Errorf("decode %s: %w", name, err)
	}
	return s, nil
}

func newCIFARSet(k cifarKind, name string) *Set {
	return &Set{
		Name:       name,
		Channels:   3,
		Height:     cifarSide,
		Width:      cifarSide,
		Classes:    k.classes,
		ClassNames: append([]string(nil), k.names...),
	}
}

func readCIFAR(k cifarKind, name string, paths []string) (*Set, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("read %s: no files given: %w", name, ErrLimit)
	}
	s := newCIFARSet(k, name)
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		err = decodeCIFAR(k, f, fileSize(f), s)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
	}
	return s, nil
}

// decodeCIFAR appends the records of one stream to s.
func decodeCIFAR(k cifarKind, r io.Reader, size int64, s *Set) error {
	src, err := openSource(r, size)
	if err != nil {
		return err
	}
	rec := int64(k.labelBytes + cifarPixels)
	// Reserve room for the records the input can hold, if its size is known
	// and sane; otherwise grow as records arrive.
	if src.gz == nil && size > 0 {
		if want, err := checkTotal(int64(s.Len())+size/rec, cifarPixels); err == nil && int64(cap(s.Pixels)) < want {
			np := make([]uint8, len(s.Pixels), want)
			copy(np, s.Pixels)
			s.Pixels = np
		}
	}
	buf := make([]byte, rec)
	start := s.Len()
	for i := 0; ; i++ {
		m, err := io.ReadFull(src.r, buf)
		if errors.Is(err, io.EOF) && m == 0 {
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("record %d is incomplete (%d of %d bytes): %w", i, m, rec, ErrTruncated)
			}
			if p := ioProblem(err); p != err {
				return fmt.Errorf("record %d: %w", i, p)
			}
			return err
		}
		if _, err := checkTotal(int64(s.Len())+1, cifarPixels); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		label := int(buf[k.labelBytes-1])
		if k.coarse > 0 && int(buf[0]) >= k.coarse {
			return fmt.Errorf("record %d: coarse label %d, want 0..%d: %w", i, buf[0], k.coarse-1, ErrLabel)
		}
		if label >= k.classes {
			return fmt.Errorf("record %d: label %d, want 0..%d: %w", i, label, k.classes-1, ErrLabel)
		}
		s.Labels = append(s.Labels, int32(label))
		s.Pixels = append(s.Pixels, buf[k.labelBytes:]...)
	}
	if s.Len() == start {
		return fmt.Errorf("no records: %w", ErrTruncated)
	}
	return nil
}
