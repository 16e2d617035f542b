package data

import (
	"bytes"
	"embed"
	"fmt"
	"sync"
)

//go:generate go run ./internal/genembedded -src /usr/share/datasets/fashion-mnist -out embedded -train 5000 -test 1000

// embeddedFS holds the first 5,000 training and 1,000 test images of
// Fashion-MNIST as gzip IDX files, with the dataset's license.
//
//go:embed embedded/*.gz embedded/LICENSE embedded/README.md
var embeddedFS embed.FS

// EmbeddedNotice is the copyright and license notice of the embedded
// Fashion-MNIST images (MIT license, © 2017 Zalando SE). Programs that
// redistribute the embedded data should make it available to their users.
//
//go:embed embedded/LICENSE
var EmbeddedNotice string

// LoadEmbedded returns split ("train" or "test") of the Fashion-MNIST subset
// compiled into the binary: the first 5,000 training or the first 1,000
// test images of Fashion-MNIST, 28×28 grey, 10 classes with
// FashionMNISTClassNames. It needs no files at run time.
//
// Each split is decoded once per process (4.7 MB for both) and every call
// returns its own copy, which the caller may change.
func LoadEmbedded(split string) (*Set, error) {
	decode, ok := embeddedSplits[split]
	if !ok {
		return nil, fmt.Errorf("load embedded: unknown split %q, want %q or %q", split, Train, Test)
	}
	s, err := decode()
	if err != nil {
		return nil, err
	}
	c := *s
	c.ClassNames = append([]string(nil), s.ClassNames...)
	c.Pixels = append([]uint8(nil), s.Pixels...)
	c.Labels = append([]int32(nil), s.Labels...)
	return &c, nil
}

// embeddedSplits decodes each embedded split on first use and keeps it.
var embeddedSplits = map[string]func() (*Set, error){
	Train: sync.OnceValues(func() (*Set, error) { return decodeEmbedded(Train) }),
	Test:  sync.OnceValues(func() (*Set, error) { return decodeEmbedded(Test) }),
}

func decodeEmbedded(split string) (*Set, error) {
	ib, lb := idxFileNames(split)
	ip, lp := "embedded/"+ib+".gz", "embedded/"+lb+".gz"
	images, err := embeddedFS.ReadFile(ip)
	if err != nil {
		return nil, fmt.Errorf("read embedded %s: %w", ip, err)
	}
	labels, err := embeddedFS.ReadFile(lp)
	if err != nil {
		return nil, fmt.Errorf("read embedded %s: %w", lp, err)
	}
	name := string(Embedded) + "/" + split
	s, err := decodeIDX(bytes.NewReader(images), int64(len(images)), "read embedded "+ip,
		bytes.NewReader(labels), int64(len(labels)), "read embedded "+lp, name, len(FashionMNISTClassNames))
	if err != nil {
		return nil, err
	}
	s.ClassNames = append([]string(nil), FashionMNISTClassNames...)
	return s, nil
}
