package data

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// writePNG encodes img to path.
func writePNG(t testing.TB, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	writeTemp(t, filepath.Dir(path), filepath.Base(path), buf.Bytes())
}

func greyImage(h, w int, v uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = v + uint8(i)
	}
	return g
}

func TestClassIDFromName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"cls3", 3, true}, {"3", 3, true}, {"class_12", 12, true}, {"cls007", 7, true},
		{"cls0", 0, true}, {"000", 0, true}, {"a1b22", 22, true}, {"65535", 65535, true},
		{"cls", 0, false}, {"", 0, false}, {"12a", 0, false}, {"65536", 0, false},
		{"cls99999999999999999999999", 0, false}, {"x0000000000000000000042", 42, true},
	} {
		got, err := ClassIDFromName(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ClassIDFromName(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !bytes.Contains([]byte(err.Error()), []byte(strconv.Quote(tc.in))) {
			t.Errorf("error %q does not quote the name", err)
		}
	}
}

// Folders cls0..cls11 must map to ids 0..11 even though "cls10" sorts
// before "cls2"; images within a folder follow their numeric suffix.
func TestReadImageFolderNumericOrder(t *testing.T) {
	dir := t.TempDir()
	for c := range 12 {
		for _, i := range []int{10, 2} {
			// Pixel value encodes (class, image) so the label can be checked.
			writePNG(t, filepath.Join(dir, "cls"+strconv.Itoa(c), "img"+strconv.Itoa(i)+".png"), greyImage(2, 3, uint8(c*20+i)))
		}
	}
	writeTemp(t, dir, "README.txt", []byte("ignored"))
	writeTemp(t, dir, ".hidden/x.png", []byte("ignored"))
	s, err := ReadImageFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 24 || s.Classes != 12 || s.Channels != 1 || s.Height != 2 || s.Width != 3 {
		t.Fatalf("n=%d classes=%d shape %dx%dx%d", s.Len(), s.Classes, s.Channels, s.Height, s.Width)
	}
	if s.ClassNames[10] != "cls10" || s.ClassNames[2] != "cls2" {
		t.Errorf("class names %q", s.ClassNames)
	}
	for k := range s.Len() {
		c := int(s.Labels[k])
		first := s.Pixels[k*s.ImageSize()]
		img := int(first) - c*20
		if img != 2 && img != 10 {
			t.Fatalf("image %d: label %d but pixel %d belongs to another class", k, c, first)
		}
		if wantImg := []int{2, 10}[k%2]; img != wantImg {
			t.Errorf("image %d: got img%d, want img%d first (numeric file order)", k, img, wantImg)
		}
	}
}

func TestImageFolderRoundTrip(t *testing.T) {
	for _, c := range []int{1, 3} {
		t.Run("channels="+strconv.Itoa(c), func(t *testing.T) {
			s := &Set{Name: "syn", Channels: c, Height: 4, Width: 5, Classes: 11, ClassNames: genericNames(11)}
			n := 15
			for i := range n {
				s.Labels = append(s.Labels, int32(i*7%11))
				for j := range s.ImageSize() {
					s.Pixels = append(s.Pixels, uint8(i*31+j*17))
				}
			}
			dir := filepath.Join(t.TempDir(), "out")
			if err := WriteImageFolder(dir, s); err != nil {
				t.Fatal(err)
			}
			r, err := ReadImageFolder(dir)
			if err != nil {
				t.Fatal(err)
			}
			if r.Channels != c || r.Height != 4 || r.Width != 5 || r.Classes != 11 || r.Len() != n {
				t.Fatalf("read back %dx%dx%d, %d classes, %d images", r.Channels, r.Height, r.Width, r.Classes, r.Len())
			}
			// Match images by content: the read order is class-major.
			byImage := map[string]int32{}
			for i := range n {
				byImage[string(s.Pixels[i*s.ImageSize():(i+1)*s.ImageSize()])] = s.Labels[i]
			}
			for i := range n {
				key := string(r.Pixels[i*r.ImageSize() : (i+1)*r.ImageSize()])
				l, ok := byImage[key]
				if !ok || l != r.Labels[i] {
					t.Errorf("image %d (label %d) not found in the original set with that label", i, r.Labels[i])
				}
			}
			// No temporary files are left behind.
			matches, _ := filepath.Glob(filepath.Join(dir, "*", ".*"))
			if len(matches) != 0 {
				t.Errorf("leftover files: %q", matches)
			}
		})
	}
}

func TestReadImageFolderMixedGreyAndColour(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "0", "a.png"), greyImage(2, 2, 10))
	rgb := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	for i := range 4 {
		rgb.Set(i%2, i/2, color.NRGBA{R: uint8(i), G: 100 + uint8(i), B: 200 + uint8(i), A: 255})
	}
	writePNG(t, filepath.Join(dir, "1", "b.png"), rgb)
	s, err := ReadImageFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Channels != 3 {
		t.Fatalf("channels %d, want 3", s.Channels)
	}
	want := []uint8{
		10, 11, 12, 13, 10, 11, 12, 13, 10, 11, 12, 13, // grey replicated
		0, 1, 2, 3, 100, 101, 102, 103, 200, 201, 202, 203, // CHW planes
	}
	if !bytes.Equal(s.Pixels, want) {
		t.Errorf("pixels %v, want %v", s.Pixels, want)
	}
}

func TestReadImageFolderErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the path the error must name
		want  error
		subs  []string
	}{
		{"no class folders", func(t *testing.T, dir string) string { return dir }, ErrFormat, []string{"no class folders"}},
		{"no images", func(t *testing.T, dir string) string {
			os.Mkdir(filepath.Join(dir, "cls0"), 0o755)
			return dir
		}, ErrLimit, []string{"no PNG images"}},
		{"folder without number", func(t *testing.T, dir string) string {
			writePNG(t, filepath.Join(dir, "cats", "a.png"), greyImage(2, 2, 0))
			return filepath.Join(dir, "cats")
		}, ErrFormat, []string{"does not end in a class number"}},
		{"duplicate class", func(t *testing.T, dir string) string {
			writePNG(t, filepath.Join(dir, "cls3", "a.png"), greyImage(2, 2, 0))
			writePNG(t, filepath.Join(dir, "class03", "a.png"), greyImage(2, 2, 0))
			return filepath.Join(dir, "cls3")
		}, ErrMismatch, []string{"class 3 also given by folder \"class03\""}},
		{"size mismatch", func(t *testing.T, dir string) string {
			writePNG(t, filepath.Join(dir, "cls0", "img1.png"), greyImage(2, 2, 0))
			writePNG(t, filepath.Join(dir, "cls0", "img2.png"), greyImage(3, 2, 0))
			return filepath.Join(dir, "cls0", "img2.png")
		}, ErrMismatch, []string{"image is 3x2 but", "is 2x2"}},
		{"not a png", func(t *testing.T, dir string) string {
			return writeTemp(t, dir, "cls0/img.jpg", []byte("x"))
		}, ErrFormat, []string{"not a .png"}},
		{"corrupt png", func(t *testing.T, dir string) string {
			return writeTemp(t, dir, "cls0/img.png", []byte("\x89PNG\r\n\x1a\nrubbish"))
		}, ErrFormat, []string{"PNG header"}},
		{"truncated png", func(t *testing.T, dir string) string {
			var buf bytes.Buffer
			png.Encode(&buf, greyImage(8, 8, 0))
			return writeTemp(t, dir, "cls0/img.png", buf.Bytes()[:buf.Len()-20])
		}, ErrFormat, []string{"PNG data"}},
		{"huge png header", func(t *testing.T, dir string) string {
			var buf bytes.Buffer
			png.Encode(&buf, greyImage(1, 1, 0))
			b := buf.Bytes()
			// IHDR: length at 8, "IHDR" at 12, width at 16, CRC of bytes 12..28 at 29.
			binary.BigEndian.PutUint32(b[16:], 65536)
			binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
			return writeTemp(t, dir, "cls0/img.png", b)
		}, ErrLimit, []string{"1x65536"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bad := tc.setup(t, dir)
			_, err := ReadImageFolder(dir)
			checkErr(t, err, tc.want, append([]string{"read " + bad}, tc.subs...)...)
		})
	}
}

func TestReadImageFolderMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope")
	_, err := ReadImageFolder(p)
	checkErr(t, err, os.ErrNotExist, "read "+p)
}

func TestWriteImageFolderErrors(t *testing.T) {
	s := &Set{Name: "x", Channels: 2, Height: 1, Width: 1, Classes: 1, ClassNames: []string{"a"}, Pixels: []uint8{1, 2}, Labels: []int32{0}}
	checkErr(t, WriteImageFolder(t.TempDir(), s), ErrFormat, "2 channels")
	s = &Set{Name: "x", Channels: 1, Height: 1, Width: 1, Classes: 1, ClassNames: []string{"a"}, Pixels: []uint8{1}, Labels: []int32{1}}
	checkErr(t, WriteImageFolder(t.TempDir(), s), ErrLabel, "label 1")
}
