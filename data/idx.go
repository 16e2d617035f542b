package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/privatesnn/privatesnn/internal/atomicfile"
)

// idxTypeU8 is the IDX element-type code for unsigned bytes.
const idxTypeU8 = 0x08

// ReadIDX reads an image file and a label file in the IDX format used by
// MNIST and Fashion-MNIST. Each file may be gzip-compressed (detected by
// its magic bytes 1f 8b) or raw. The image file must hold unsigned bytes
// with 3 dimensions (N, H, W); the label file unsigned bytes with 1
// dimension (N), and the two counts must match. The result has Channels 1
// and Classes = largest label + 1 with generic class names; Load fixes the
// class count and names for the known datasets.
//
// Every error names the file at fault.
func ReadIDX(imagesPath, labelsPath string) (*Set, error) {
	return readIDX(imagesPath, labelsPath, imagesPath, 0)
}

// readIDX is ReadIDX with a set name and a fixed class count (0 = infer).
func readIDX(imagesPath, labelsPath, name string, classes int) (*Set, error) {
	fi, err := os.Open(imagesPath)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", imagesPath, err)
	}
	defer fi.Close()
	fl, err := os.Open(labelsPath)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", labelsPath, err)
	}
	defer fl.Close()
	return decodeIDX(fi, fileSize(fi), "read "+imagesPath, fl, fileSize(fl), "read "+labelsPath, name, classes)
}

// DecodeIDX is ReadIDX for readers: images and labels hold the two IDX
// streams (gzip or raw, autodetected) and name becomes Set.Name and is used
// in error messages.
func DecodeIDX(images, labels io.Reader, name string) (*Set, error) {
	return decodeIDX(images, -1, "decode "+name+" images", labels, -1, "decode "+name+" labels", name, 0)
}

func decodeIDX(images io.Reader, imagesSize int64, imagesWhat string,
	labels io.Reader, labelsSize int64, labelsWhat string, name string, classes int) (*Set, error) {
	n, h, w, pix, err := decodeIDXImages(images, imagesSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", imagesWhat, err)
	}
	lab, err := decodeIDXLabels(labels, labelsSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", labelsWhat, err)
	}
	if len(lab) != n {
		return nil, fmt.Errorf("%s: %d labels but the images hold %d images: %w", labelsWhat, len(lab), n, ErrMismatch)
	}
	if classes == 0 {
		classes = int(maxLabel(lab)) + 1
	}
	if i, l, ok := firstBadLabel(lab, classes); !ok {
		return nil, fmt.Errorf("%s: label %d of image %d is not a class id 0..%d: %w", labelsWhat, l, i, classes-1, ErrLabel)
	}
	return &Set{
		Name:       name,
		Channels:   1,
		Height:     h,
		Width:      w,
		Classes:    classes,
		ClassNames: genericNames(classes),
		Pixels:     pix,
		Labels:     lab,
	}, nil
}

// idxHeader reads the magic number and the dimensions of an IDX stream and
// checks that it holds unsigned bytes with wantDims dimensions.
func idxHeader(src *source, wantDims int) ([]uint32, error) {
	var magic [4]byte
	if _, err := io.ReadFull(src.r, magic[:]); err != nil {
		return nil, fmt.Errorf("reading magic number: %w", ioProblem(err))
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("bad magic number %#08x, not an IDX file: %w", binary.BigEndian.Uint32(magic[:]), ErrFormat)
	}
	if magic[2] != idxTypeU8 {
		return nil, fmt.Errorf("IDX element type %#02x, only unsigned byte (0x08) is supported: %w", magic[2], ErrFormat)
	}
	if int(magic[3]) != wantDims {
		return nil, fmt.Errorf("IDX file has %d dimensions, want %d: %w", magic[3], wantDims, ErrFormat)
	}
	raw := make([]byte, 4*wantDims)
	if _, err := io.ReadFull(src.r, raw); err != nil {
		return nil, fmt.Errorf("reading dimensions: %w", ioProblem(err))
	}
	dims := make([]uint32, wantDims)
	for i := range dims {
		dims[i] = binary.BigEndian.Uint32(raw[4*i:])
	}
	return dims, nil
}

func decodeIDXImages(r io.Reader, size int64) (n, h, w int, pix []byte, err error) {
	src, err := openSource(r, size)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	dims, err := idxHeader(src, 3)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	if dims[1] == 0 || dims[1] > MaxSide || dims[2] == 0 || dims[2] > MaxSide {
		return 0, 0, 0, nil, fmt.Errorf("header claims image size %dx%d, want 1..%d per side: %w", dims[1], dims[2], MaxSide, ErrLimit)
	}
	total, err := checkTotal(int64(dims[0]), int64(dims[1])*int64(dims[2]))
	if err != nil {
		return 0, 0, 0, nil, fmt.Errorf("header: %w", err)
	}
	pix, err = src.readFull(total)
	if err != nil {
		if p := ioProblem(err); p != err {
			return 0, 0, 0, nil, fmt.Errorf("pixel data: got %d of %d bytes the header promises (%d images of %dx%d): %w", len(pix), total, dims[0], dims[1], dims[2], p)
		}
		return 0, 0, 0, nil, err
	}
	if err := src.expectEOF(); err != nil {
		return 0, 0, 0, nil, fmt.Errorf("after %d images: %w", dims[0], err)
	}
	return int(dims[0]), int(dims[1]), int(dims[2]), pix, nil
}

func decodeIDXLabels(r io.Reader, size int64) ([]int32, error) {
	src, err := openSource(r, size)
	if err != nil {
		return nil, err
	}
	dims, err := idxHeader(src, 1)
	if err != nil {
		return nil, err
	}
	if _, err := checkTotal(int64(dims[0]), 1); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	raw, err := src.readFull(int64(dims[0]))
	if err != nil {
		if p := ioProblem(err); p != err {
			return nil, fmt.Errorf("label data: got %d of %d labels the header promises: %w", len(raw), dims[0], p)
		}
		return nil, err
	}
	if err := src.expectEOF(); err != nil {
		return nil, fmt.Errorf("after %d labels: %w", dims[0], err)
	}
	lab := make([]int32, len(raw))
	for i, b := range raw {
		lab[i] = int32(b)
	}
	return lab, nil
}

// EncodeIDX writes s as two raw (uncompressed) IDX streams: unsigned-byte
// images with dimensions (N, H, W) and unsigned-byte labels with dimension
// (N). s must be valid, single-channel, and have fewer than 257 classes.
func EncodeIDX(images, labels io.Writer, s *Set) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("encode idx: %w", err)
	}
	if s.Channels != 1 {
		return fmt.Errorf("encode idx %s: %d channels, IDX images need 1: %w", s.Name, s.Channels, ErrFormat)
	}
	if s.Classes > 256 {
		return fmt.Errorf("encode idx %s: %d classes do not fit in unsigned-byte labels: %w", s.Name, s.Classes, ErrFormat)
	}
	hdr := []byte{0, 0, idxTypeU8, 3}
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(s.Len()))
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(s.Height))
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(s.Width))
	if _, err := images.Write(hdr); err != nil {
		return fmt.Errorf("encode idx %s images: %w", s.Name, err)
	}
	if _, err := images.Write(s.Pixels); err != nil {
		return fmt.Errorf("encode idx %s images: %w", s.Name, err)
	}
	lab := make([]byte, 8+s.Len())
	copy(lab, []byte{0, 0, idxTypeU8, 1})
	binary.BigEndian.PutUint32(lab[4:], uint32(s.Len()))
	for i, l := range s.Labels {
		lab[8+i] = byte(l)
	}
	if _, err := labels.Write(lab); err != nil {
		return fmt.Errorf("encode idx %s labels: %w", s.Name, err)
	}
	return nil
}

// WriteIDX writes s to an image file and a label file in IDX format,
// gzip-compressed when a path ends in ".gz". Each file is written to a
// temporary file in the same directory and renamed into place.
func WriteIDX(imagesPath, labelsPath string, s *Set) error {
	var ib, lb bytes.Buffer
	if err := EncodeIDX(&ib, &lb, s); err != nil {
		return err
	}
	if err := writeFileAtomic(imagesPath, ib.Bytes()); err != nil {
		return err
	}
	return writeFileAtomic(labelsPath, lb.Bytes())
}

// writeFileAtomic writes b to path via a temporary file and a rename,
// compressing with gzip when path ends in ".gz".
func writeFileAtomic(path string, b []byte) (err error) {
	return atomicWrite(path, func(w io.Writer) error {
		if !strings.HasSuffix(path, ".gz") {
			_, err := w.Write(b)
			return err
		}
		zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
		if err != nil {
			return err
		}
		if _, err := zw.Write(b); err != nil {
			return err
		}
		return zw.Close()
	})
}

// atomicWrite creates path atomically with fill's output.
func atomicWrite(path string, fill func(io.Writer) error) error {
	return atomicfile.Write(path, fill)
}
