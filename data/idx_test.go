package data

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"testing"
)

func TestReadIDXValid(t *testing.T) {
	for _, tc := range []struct {
		name           string
		gzImg, gzLabel bool
	}{{"raw", false, false}, {"gzip", true, true}, {"mixed", true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			img, lab := idxImages(3, 2, 4), idxLabels(0, 4, 2)
			if tc.gzImg {
				img = gz(t, img)
			}
			if tc.gzLabel {
				lab = gz(t, lab)
			}
			s, err := ReadIDX(writeTemp(t, dir, "img", img), writeTemp(t, dir, "lab", lab))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			if s.Len() != 3 || s.Channels != 1 || s.Height != 2 || s.Width != 4 || s.ImageSize() != 8 {
				t.Fatalf("shape: n=%d c=%d h=%d w=%d", s.Len(), s.Channels, s.Height, s.Width)
			}
			if s.Classes != 5 || len(s.ClassNames) != 5 || s.ClassNames[4] != "4" {
				t.Errorf("classes %d names %q", s.Classes, s.ClassNames)
			}
			if s.Labels[1] != 4 || s.Pixels[8] != 7 || s.Pixels[23] != byte(14+7) {
				t.Errorf("content: labels %v pixels[8]=%d pixels[23]=%d", s.Labels, s.Pixels[8], s.Pixels[23])
			}
		})
	}
}

func TestReadIDXErrors(t *testing.T) {
	good := idxImages(2, 3, 3)
	goodLab := idxLabels(1, 0)
	corruptGz := gz(t, good)
	corruptGz[len(corruptGz)/2] ^= 0xff
	badCRC := gz(t, good)
	badCRC[len(badCRC)-6] ^= 0xff // CRC-32 in the trailer
	floatImg := append([]byte(nil), good...)
	floatImg[2] = 0x0d
	hugeN := idxImages(0, 28, 28)
	hugeN[4], hugeN[5], hugeN[6], hugeN[7] = 0xff, 0xff, 0xff, 0xff
	hugeSide := idxImages(0, 100000, 28)
	hugeSide[7] = 1

	for _, tc := range []struct {
		name     string
		img, lab []byte
		badFile  string // "img" or "lab": the file the error must name
		want     error
		subs     []string
	}{
		{"empty images", []byte{}, goodLab, "img", ErrTruncated, []string{"empty"}},
		{"empty labels", good, []byte{}, "lab", ErrTruncated, []string{"empty"}},
		{"short header", good[:10], goodLab, "img", ErrTruncated, []string{"dimensions"}},
		{"truncated pixels", good[:len(good)-1], goodLab, "img", ErrTruncated, []string{"got 17 of 18 bytes"}},
		{"truncated labels", good, goodLab[:len(goodLab)-1], "lab", ErrTruncated, []string{"got 1 of 2 labels"}},
		{"wrong magic", append([]byte("PK\x03\x04"), good[4:]...), goodLab, "img", ErrFormat, []string{"bad magic", "0x504b0304"}},
		{"float images", floatImg, goodLab, "img", ErrFormat, []string{"element type 0x0d"}},
		{"labels as images", goodLab, goodLab, "img", ErrFormat, []string{"1 dimensions, want 3"}},
		{"images as labels", good, good, "lab", ErrFormat, []string{"3 dimensions, want 1"}},
		{"absurd count", hugeN, goodLab, "img", ErrLimit, []string{"4294967295 images exceeds limit"}},
		{"absurd side", hugeSide, goodLab, "img", ErrLimit, []string{"100000x28"}},
		{"zero images", idxImages(0, 3, 3), idxLabels(), "img", ErrLimit, []string{"no images"}},
		{"count mismatch", good, idxLabels(1, 0, 1), "lab", ErrMismatch, []string{"3 labels", "2 images"}},
		{"trailing data", append(append([]byte(nil), good...), 9), goodLab, "img", ErrFormat, []string{"trailing data"}},
		{"gzip corrupted", corruptGz, goodLab, "img", ErrFormat, []string{"corrupt gzip"}},
		{"gzip bad crc", badCRC, goodLab, "img", ErrFormat, []string{"corrupt gzip"}},
		{"gzip truncated", gz(t, good)[:20], goodLab, "img", ErrTruncated, []string{"unexpected end"}},
		{"gzip trailing garbage", append(gz(t, good), "junk!!!!!!!!"...), goodLab, "img", ErrFormat, []string{"corrupt gzip"}},
		{"gzip extra member", append(gz(t, good), gz(t, []byte{1})...), goodLab, "img", ErrFormat, []string{"trailing data"}},
		{"gzip header only", []byte{0x1f, 0x8b}, goodLab, "img", ErrFormat, []string{"gzip header"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ip := writeTemp(t, dir, "images.idx", tc.img)
			lp := writeTemp(t, dir, "labels.idx", tc.lab)
			_, err := ReadIDX(ip, lp)
			bad := ip
			if tc.badFile == "lab" {
				bad = lp
			}
			checkErr(t, err, tc.want, append([]string{"read " + bad + ":"}, tc.subs...)...)

			// The reader-based decoder reports the same problem.
			_, err = DecodeIDX(bytes.NewReader(tc.img), bytes.NewReader(tc.lab), "set")
			what := "set images"
			if tc.badFile == "lab" {
				what = "set labels"
			}
			checkErr(t, err, tc.want, append([]string{"decode " + what + ":"}, tc.subs...)...)
		})
	}
}

// Concatenated gzip members form one stream, as with gunzip.
func TestDecodeIDXMultiMemberGzip(t *testing.T) {
	img := idxImages(2, 2, 2)
	multi := append(gz(t, img[:10]), gz(t, img[10:])...)
	s, err := DecodeIDX(bytes.NewReader(multi), bytes.NewReader(idxLabels(0, 1)), "multi")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Pixels, img[16:]) {
		t.Errorf("pixels %v", s.Pixels)
	}
}

func TestCheckTotal(t *testing.T) {
	if n, err := checkTotal(50000, 3072); err != nil || n != 50000*3072 {
		t.Errorf("got %d, %v", n, err)
	}
	_, err := checkTotal(MaxImages, 3*1024)
	checkErr(t, err, ErrLimit, "exceeds limit 8589934592")
	_, err = checkTotal(MaxImages+1, 1)
	checkErr(t, err, ErrLimit, "10000001 images")
	_, err = checkTotal(0, 1)
	checkErr(t, err, ErrLimit, "no images")
}

func TestReadIDXMissingFile(t *testing.T) {
	dir := t.TempDir()
	lp := writeTemp(t, dir, "lab", idxLabels(0))
	missing := filepath.Join(dir, "nope")
	_, err := ReadIDX(missing, lp)
	checkErr(t, err, fs.ErrNotExist, "read "+missing)
}

// A tiny file whose header claims ~7.8 GB must not make the reader
// allocate anywhere near that.
func TestDecodeIDXHugeClaimSmallAllocation(t *testing.T) {
	img := idxImages(0, 28, 28)
	img[4], img[5], img[6], img[7] = 0x00, 0x98, 0x96, 0x80 // 10,000,000 images
	img = append(img, make([]byte, 100)...)
	for _, tc := range []struct {
		name string
		b    []byte
	}{{"raw", img}, {"gzip", gz(t, img)}} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := DecodeIDX(bytes.NewReader(tc.b), bytes.NewReader(idxLabels(0)), "huge")
		runtime.ReadMemStats(&after)
		checkErr(t, err, ErrTruncated, "got 100 of 7840000000 bytes")
		if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
			t.Errorf("%s: allocated %d bytes for a %d-byte input", tc.name, got, len(tc.b))
		}
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestDecodeIDXReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := DecodeIDX(io.MultiReader(bytes.NewReader(idxImages(1, 2, 2)[:17]), errReader{boom}), bytes.NewReader(idxLabels(0)), "x")
	checkErr(t, err, boom, "decode x images")
}

func TestWriteIDXRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := DecodeIDX(bytes.NewReader(idxImages(4, 3, 2)), bytes.NewReader(idxLabels(2, 0, 1, 2)), "rt")
	if err != nil {
		t.Fatal(err)
	}
	ip, lp := filepath.Join(dir, "i.gz"), filepath.Join(dir, "l")
	if err := WriteIDX(ip, lp, s); err != nil {
		t.Fatal(err)
	}
	r, err := ReadIDX(ip, lp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Pixels, s.Pixels) || r.Len() != 4 || r.Labels[0] != 2 || r.Height != 3 || r.Width != 2 {
		t.Errorf("round trip differs: %+v", r)
	}
	s.Channels = 3
	s.Pixels = append(s.Pixels, make([]byte, 2*len(s.Pixels))...)
	checkErr(t, WriteIDX(ip, lp, s), ErrFormat, "3 channels")
}
