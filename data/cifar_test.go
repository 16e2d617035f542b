package data

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"
)

// cifarRecords builds n CIFAR records; labelBytes is 1 (CIFAR-10) or 2
// (CIFAR-100: coarse, fine). Record i has label byte(s) labels(i) and
// pixel j equal to byte(i + j).
func cifarRecords(n, labelBytes int, label func(i int) []byte) []byte {
	var b []byte
	for i := range n {
		l := label(i)
		if len(l) != labelBytes {
			panic("bad label length")
		}
		b = append(b, l...)
		for j := range cifarPixels {
			b = append(b, byte(i+j))
		}
	}
	return b
}

func TestReadCIFAR10(t *testing.T) {
	dir := t.TempDir()
	p1 := writeTemp(t, dir, "data_batch_1.bin", cifarRecords(3, 1, func(i int) []byte { return []byte{byte(i)} }))
	p2 := writeTemp(t, dir, "data_batch_2.bin.gz", gz(t, cifarRecords(2, 1, func(i int) []byte { return []byte{9} })))
	s, err := ReadCIFAR10(p1, p2)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 5 || s.Channels != 3 || s.Height != 32 || s.Width != 32 || s.Classes != 10 || s.ClassNames[9] != "truck" {
		t.Fatalf("bad set: n=%d %dx%dx%d classes %d", s.Len(), s.Channels, s.Height, s.Width, s.Classes)
	}
	if want := []int32{0, 1, 2, 9, 9}; !equalInt32(s.Labels, want) {
		t.Errorf("labels %v, want %v", s.Labels, want)
	}
	// Image 1, channel 1 (green), pixel 0 is record byte 1+1024.
	if got := s.Pixels[1*cifarPixels+1024]; got != byte((1+1024)%256) {
		t.Errorf("pixel: got %d", got)
	}
	// Image 3 is record 0 of the second file.
	if got := s.Pixels[3*cifarPixels+5]; got != 5 {
		t.Errorf("second file pixel: got %d", got)
	}
}

func TestReadCIFAR100UsesFineLabels(t *testing.T) {
	dir := t.TempDir()
	p := writeTemp(t, dir, "train.bin", cifarRecords(3, 2, func(i int) []byte { return []byte{byte(19 - i), byte(50 + 20*i)} }))
	s, err := ReadCIFAR100(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{50, 70, 90}; !equalInt32(s.Labels, want) {
		t.Errorf("labels %v, want fine labels %v", s.Labels, want)
	}
	if s.Classes != 100 || len(s.ClassNames) != 100 || s.ClassNames[99] != "worm" {
		t.Errorf("classes %d, names %d", s.Classes, len(s.ClassNames))
	}
	if s.Pixels[2*cifarPixels] != 2 {
		t.Errorf("pixel offset wrong: %d", s.Pixels[2*cifarPixels])
	}
}

func TestCIFARClassNames(t *testing.T) {
	if len(CIFAR10ClassNames) != 10 || len(CIFAR100ClassNames) != 100 {
		t.Fatalf("got %d and %d names", len(CIFAR10ClassNames), len(CIFAR100ClassNames))
	}
	for i := 1; i < len(CIFAR100ClassNames); i++ {
		if CIFAR100ClassNames[i-1] >= CIFAR100ClassNames[i] {
			t.Errorf("CIFAR-100 names not in (alphabetical) label order at %d: %q", i, CIFAR100ClassNames[i])
		}
	}
}

func TestReadCIFARErrors(t *testing.T) {
	one := func(l byte) func(int) []byte { return func(int) []byte { return []byte{l} } }
	good := cifarRecords(2, 1, one(3))
	corrupt := gz(t, good)
	corrupt[len(corrupt)-6] ^= 0xff
	for _, tc := range []struct {
		name    string
		b       []byte
		hundred bool
		want    error
		subs    []string
	}{
		{"empty", nil, false, ErrTruncated, []string{"empty"}},
		{"truncated record", good[:len(good)-10], false, ErrTruncated, []string{"record 1 is incomplete (3063 of 3073 bytes)"}},
		{"label out of range", cifarRecords(2, 1, func(i int) []byte { return []byte{byte(10 * i)} }), false, ErrLabel, []string{"record 1: label 10, want 0..9"}},
		{"fine label out of range", cifarRecords(1, 2, func(int) []byte { return []byte{0, 100} }), true, ErrLabel, []string{"record 0: label 100, want 0..99"}},
		{"coarse label out of range", cifarRecords(1, 2, func(int) []byte { return []byte{20, 1} }), true, ErrLabel, []string{"coarse label 20"}},
		{"cifar10 read as cifar100", good, true, ErrTruncated, []string{"incomplete"}},
		{"gzip corrupted", corrupt, false, ErrFormat, []string{"corrupt gzip"}},
		{"gzip truncated", gz(t, good)[:40], false, ErrTruncated, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, t.TempDir(), "batch.bin", tc.b)
			read, decode := ReadCIFAR10, DecodeCIFAR10
			if tc.hundred {
				read, decode = ReadCIFAR100, DecodeCIFAR100
			}
			_, err := read(p)
			checkErr(t, err, tc.want, append([]string{"read " + p + ":"}, tc.subs...)...)
			_, err = decode(bytes.NewReader(tc.b), "stream")
			checkErr(t, err, tc.want, append([]string{"decode stream:"}, tc.subs...)...)
		})
	}
	// The error names the bad file even when an earlier one is fine.
	dir := t.TempDir()
	ok := writeTemp(t, dir, "a.bin", good)
	bad := writeTemp(t, dir, "b.bin", good[:100])
	_, err := ReadCIFAR10(ok, bad)
	checkErr(t, err, ErrTruncated, "read "+bad+":")
	_, err = ReadCIFAR10()
	checkErr(t, err, nil, "no files")
	_, err = ReadCIFAR10(filepath.Join(dir, "missing.bin"))
	checkErr(t, err, nil, "missing.bin")
}

func equalInt32(a, b []int32) bool { return slices.Equal(a, b) }
