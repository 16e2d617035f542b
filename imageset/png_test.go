package imageset

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pictureSet returns n images of c×h×w in k classes, image i of class
// i mod k, pixel j of image i the byte i*50 + j*7.
func pictureSet(n, c, h, w, k int) *Set {
	s := &Set{Name: "pictures", Channels: c, Height: h, Width: w, Classes: k}
	for c := range k {
		s.ClassNames = append(s.ClassNames, string(rune('a'+c)))
	}
	for i := range n {
		s.Labels = append(s.Labels, int32(i%k))
		for j := range s.ImageSize() {
			s.Pixels = append(s.Pixels, uint8(i*50+j*7))
		}
	}
	return s
}

// TestPicture: one channel is grey, three are RGB, two show the first
// channel in grey.
func TestPicture(t *testing.T) {
	for _, c := range []int{1, 2, 3} {
		s := pictureSet(2, c, 3, 4, 2)
		img := s.Picture(1)
		if b := img.Bounds(); b.Dx() != 4 || b.Dy() != 3 {
			t.Fatalf("%d channels: bounds %v", c, b)
		}
		px := s.Image(1)
		for y := range 3 {
			for x := range 4 {
				o := y*4 + x
				var want color.Color = color.Gray{px[o]}
				if c == 3 {
					want = color.NRGBA{px[o], px[12+o], px[24+o], 255}
				}
				if got := img.At(x, y); got != want {
					t.Fatalf("%d channels: pixel (%d, %d) is %v, want %v", c, x, y, got, want)
				}
			}
		}
	}
}

// TestGrid: one row per class, as many columns as the fullest class has
// images (at most cols), images placed left to right in set order, empty
// cells white.
func TestGrid(t *testing.T) {
	s := pictureSet(5, 1, 4, 3, 3) // classes 0, 1, 2, 0, 1: two columns
	s.Labels[4] = 0                // class 0 has three images, class 2 one
	for _, cols := range []int{2, 10} {
		g := s.Grid(cols, []string{"x"}).(*image.Gray)
		shown := min(cols, 3)
		rowH := 13 // the label font is taller than the images
		x0 := g.Bounds().Dx() - shown*(s.Width+gridGap)
		if g.Bounds().Dy() != 3*(rowH+gridGap)+gridGap {
			t.Fatalf("cols %d: height %d", cols, g.Bounds().Dy())
		}
		top := func(c int) int { return gridGap + c*(rowH+gridGap) + (rowH-s.Height)/2 }
		cell := func(col, c int) (int, int) { return x0 + col*(s.Width+gridGap), top(c) }
		for _, p := range []struct{ img, col, class int }{{0, 0, 0}, {3, 1, 0}, {1, 0, 1}, {2, 0, 2}} {
			x, y := cell(p.col, p.class)
			if got, want := g.GrayAt(x+1, y+2).Y, s.Image(p.img)[2*s.Width+1]; got != want {
				t.Errorf("cols %d: image %d pixel (1, 2) is %d, want %d", cols, p.img, got, want)
			}
		}
		if cols > 2 {
			x, y := cell(2, 0)
			if got, want := g.GrayAt(x, y).Y, s.Image(4)[0]; got != want {
				t.Errorf("cols %d: third image of class 0 is %d, want %d", cols, got, want)
			}
		}
		x, y := cell(1, 2)
		if got := g.GrayAt(x, y).Y; got != 255 {
			t.Errorf("cols %d: empty cell is %d, want white", cols, got)
		}
	}
	if _, ok := pictureSet(3, 3, 4, 4, 3).Grid(1, nil).(*image.NRGBA); !ok {
		t.Error("a colour set's grid is not RGB")
	}
}

// readPNG decodes the PNG file at path.
func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// sameColour reports whether a and b are the same colour, whatever their
// colour types.
func sameColour(a, b color.Color) bool {
	r1, g1, b1, a1 := a.RGBA()
	r2, g2, b2, a2 := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
}

// TestWriteClassFolders: both numberings name the files as documented,
// the PNGs decode to the set's pixels, an empty class gets its folder and
// no temporary files stay behind.
func TestWriteClassFolders(t *testing.T) {
	s := pictureSet(5, 3, 2, 3, 4) // classes 0, 1, 2, 3, 0
	s.Labels[3] = 1                // class 3 is empty
	for n, names := range map[Numbering][]string{
		SetIndex:   {"cls0/img0.png", "cls1/img1.png", "cls2/img2.png", "cls1/img3.png", "cls0/img4.png"},
		ClassIndex: {"cls0/img0.png", "cls1/img0.png", "cls2/img0.png", "cls1/img1.png", "cls0/img1.png"},
	} {
		dir := filepath.Join(t.TempDir(), "out")
		if err := s.WriteClassFolders(dir, n); err != nil {
			t.Fatal(err)
		}
		counts := map[int32]int{}
		for i, name := range names {
			number := i
			if n == ClassIndex {
				number = counts[s.Labels[i]]
			}
			counts[s.Labels[i]]++
			if got := filepath.ToSlash(ClassFolderFile(int(s.Labels[i]), number)); got != name {
				t.Errorf("ClassFolderFile gives %s, want %s", got, name)
			}
			img := readPNG(t, filepath.Join(dir, name))
			want := s.Picture(i)
			for y := range 2 {
				for x := range 3 {
					if !sameColour(img.At(x, y), want.At(x, y)) {
						t.Fatalf("numbering %d: %s pixel (%d, %d) is %v, want %v", n, name, x, y, img.At(x, y), want.At(x, y))
					}
				}
			}
		}
		if entries, err := os.ReadDir(filepath.Join(dir, "cls3")); err != nil || len(entries) != 0 {
			t.Errorf("numbering %d: empty class folder: %v, %v", n, entries, err)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, "*", ".*")); len(left) != 0 {
			t.Errorf("numbering %d: leftover files %q", n, left)
		}
	}
}

func TestWriteClassFoldersErrors(t *testing.T) {
	s := pictureSet(2, 1, 2, 2, 2)
	s.Labels[1] = 2
	if err := s.WriteClassFolders(t.TempDir(), SetIndex); err == nil || !strings.Contains(err.Error(), "label 2") {
		t.Errorf("invalid set: %v", err)
	}
	s.Labels[1] = 1
	if err := s.WriteClassFolders(t.TempDir(), Numbering(2)); err == nil || !strings.Contains(err.Error(), "numbering 2") {
		t.Errorf("unknown numbering: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteClassFolders(file, SetIndex); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("dir is a file: %v", err)
	}
}

// TestWritePNG: the file decodes to the image; a failed write names the
// path and leaves no file.
func TestWritePNG(t *testing.T) {
	dir := t.TempDir()
	s := pictureSet(1, 1, 3, 3, 1)
	p := filepath.Join(dir, "a.png")
	if err := WritePNG(p, s.Picture(0)); err != nil {
		t.Fatal(err)
	}
	if got := readPNG(t, p).(*image.Gray); !bytes.Equal(got.Pix, s.Image(0)) {
		t.Errorf("read back %v, want %v", got.Pix, s.Image(0))
	}
	bad := filepath.Join(dir, "missing", "b.png")
	if err := WritePNG(bad, s.Picture(0)); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("write into a missing folder: %v", err)
	}
}
