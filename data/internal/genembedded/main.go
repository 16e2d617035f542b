// Command genembedded rebuilds the Fashion-MNIST subset that package data
// embeds (data/embedded/*.gz) from the files installed by the Debian
// package dataset-fashion-mnist. It keeps the first -train training images
// and the first -test test images with their labels, unchanged, and writes
// them as gzip-compressed IDX files with an empty gzip header, so the output
// depends only on the input and the Go version's compressor.
//
// Usage, from the data directory (or via "go generate ./data"):
//
//	go run ./internal/genembedded [-src DIR] [-out DIR] [-train N] [-test N]
//
// The LICENSE and README.md files next to the generated files are
// maintained by hand.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	src := flag.String("src", "/usr/share/datasets/fashion-mnist", "directory with the Fashion-MNIST IDX .gz files")
	out := flag.String("out", "embedded", "output directory")
	nTrain := flag.Int("train", 5000, "number of training images to keep")
	nTest := flag.Int("test", 1000, "number of test images to keep")
	flag.Parse()
	if err := run(*src, *out, *nTrain, *nTest); err != nil {
		fmt.Fprintln(os.Stderr, "genembedded:", err)
		os.Exit(1)
	}
}

func run(src, out string, nTrain, nTest int) error {
	jobs := []struct {
		prefix string
		n      int
	}{{"train", nTrain}, {"t10k", nTest}}
	for _, j := range jobs {
		for _, kind := range []string{"images-idx3", "labels-idx1"} {
			name := j.prefix + "-" + kind + "-ubyte.gz"
			if err := slice(filepath.Join(src, name), filepath.Join(out, name), j.n); err != nil {
				return err
			}
		}
	}
	return nil
}

// slice copies the first n items of the gzip IDX file in to out.
func slice(in, out string, n int) error {
	f, err := os.Open(in)
	if err != nil {
		return fmt.Errorf("read %s: %w", in, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", in, err)
	}
	var magic [4]byte
	if _, err := io.ReadFull(zr, magic[:]); err != nil {
		return fmt.Errorf("read %s: %w", in, err)
	}
	if magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] < 1 || magic[3] > 3 {
		return fmt.Errorf("read %s: not an unsigned-byte IDX file", in)
	}
	dims := make([]uint32, magic[3])
	if err := binary.Read(zr, binary.BigEndian, dims); err != nil {
		return fmt.Errorf("read %s: %w", in, err)
	}
	if uint64(n) > uint64(dims[0]) {
		return fmt.Errorf("read %s: holds %d items, %d requested", in, dims[0], n)
	}
	item := 1
	for _, d := range dims[1:] {
		item *= int(d)
	}
	body := make([]byte, n*item)
	if _, err := io.ReadFull(zr, body); err != nil {
		return fmt.Errorf("read %s: %w", in, err)
	}
	dims[0] = uint32(n)

	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	err = errors.Join(
		binary.Write(zw, binary.BigEndian, magic),
		binary.Write(zw, binary.BigEndian, dims),
		binary.Write(zw, binary.BigEndian, body),
		zw.Close(),
	)
	if err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}
