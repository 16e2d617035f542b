package imageset

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/privatesnn/privatesnn/internal/atomicfile"
)

// Picture returns image i as an 8-bit image: grey (*image.Gray) for one
// channel, opaque RGB (*image.NRGBA) for three; for other channel counts
// it shows the first channel in grey. It panics if i is out of range.
func (s *Set) Picture(i int) image.Image {
	return s.drawInto(nil, i, 0, 0)
}

// drawInto draws image i into dst at (x0, y0) and returns dst. A nil dst
// (or one of the other colour type) is replaced by a new image of one
// image's size.
func (s *Set) drawInto(dst draw.Image, i, x0, y0 int) draw.Image {
	h, w := s.Height, s.Width
	px := s.Image(i)
	if s.Channels == 3 {
		d, _ := dst.(*image.NRGBA)
		if d == nil {
			d = image.NewNRGBA(image.Rect(0, 0, w, h))
		}
		for y := range h {
			for x := range w {
				d.SetNRGBA(x0+x, y0+y, color.NRGBA{px[y*w+x], px[h*w+y*w+x], px[2*h*w+y*w+x], 255})
			}
		}
		return d
	}
	d, _ := dst.(*image.Gray)
	if d == nil {
		d = image.NewGray(image.Rect(0, 0, w, h))
	}
	for y := range h {
		for x := range w {
			d.SetGray(x0+x, y0+y, color.Gray{px[y*w+x]})
		}
	}
	return d
}

// gridGap is the spacing in pixels between grid cells (white).
const gridGap = 2

// Grid returns a preview image with one row per class, labelled on the
// left with the class index and, when names has a non-empty entry for the
// class, its name (names may be nil; the set's own ClassNames are not
// used). Each row shows the first images of its class in set order: as
// many columns as the fullest class has images, at most cols, at least
// one. Cells without an image stay white. The grid is grey for one channel
// and RGB for three, as Picture.
func (s *Set) Grid(cols int, names []string) image.Image {
	shown := make([]int, s.Classes)
	for _, c := range s.Labels {
		shown[c]++
	}
	cols = max(1, min(cols, slices.Max(shown)))
	labels := make([]string, s.Classes)
	labelW := 0
	for c := range labels {
		labels[c] = strconv.Itoa(c)
		if c < len(names) && names[c] != "" {
			labels[c] += " " + names[c]
		}
		labelW = max(labelW, font.MeasureString(basicfont.Face7x13, labels[c]).Ceil())
	}
	rowH := max(s.Height, basicfont.Face7x13.Height)
	x0 := gridGap + labelW + 2*gridGap
	W := x0 + cols*(s.Width+gridGap)
	H := s.Classes*(rowH+gridGap) + gridGap
	var img draw.Image
	if s.Channels == 3 {
		img = image.NewNRGBA(image.Rect(0, 0, W, H))
	} else {
		img = image.NewGray(image.Rect(0, 0, W, H))
	}
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	for c, l := range labels {
		top := gridGap + c*(rowH+gridGap)
		d := font.Drawer{Dst: img, Src: image.Black, Face: basicfont.Face7x13,
			Dot: fixed.P(gridGap, top+(rowH+basicfont.Face7x13.Ascent-basicfont.Face7x13.Descent)/2)}
		d.DrawString(l)
	}
	clear(shown)
	for i, c32 := range s.Labels {
		c := int(c32)
		if shown[c] >= cols {
			continue
		}
		s.drawInto(img, i, x0+shown[c]*(s.Width+gridGap), gridGap+c*(rowH+gridGap)+(rowH-s.Height)/2)
		shown[c]++
	}
	return img
}

// WritePNG encodes img as a PNG file at path (png.Encode, default
// compression), atomically: a reader sees the old file or the whole new
// one, never part of it.
func WritePNG(path string, img image.Image) error {
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// Numbering says what the number in an image's file name counts in the
// class folders WriteClassFolders writes.
type Numbering uint8

const (
	// SetIndex names image i of the set cls{label}/img{i}.png.
	SetIndex Numbering = iota
	// ClassIndex names the k-th image of a class (k = 0, 1, … in set
	// order) cls{label}/img{k}.png.
	ClassIndex
)

// ClassFolderFile returns the path, relative to a class-folder directory,
// of the image numbered index in class: cls{class}/img{index}.png.
func ClassFolderFile(class, index int) string {
	return filepath.Join(classFolder(class), "img"+strconv.Itoa(index)+".png")
}

// classFolder returns the folder name of class c: cls{c}.
func classFolder(c int) string { return "cls" + strconv.Itoa(c) }

// WriteClassFolders writes s into dir as class folders: a folder
// cls{c} for every class c (empty classes included, so the class count
// survives a round trip), and every image, as Picture draws it, to the
// file ClassFolderFile(label, number) with the number n chooses. dir and
// the folders are created as needed. Each file is written atomically (see
// WritePNG). Files of the same name are replaced and other files in dir
// are left alone. The set must be valid (Validate).
func (s *Set) WriteClassFolders(dir string, n Numbering) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	if n != SetIndex && n != ClassIndex {
		return fmt.Errorf("write %s: unknown numbering %d", dir, n)
	}
	for c := range s.Classes {
		d := filepath.Join(dir, classFolder(c))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("write %s: %w", d, err)
		}
	}
	counts := make([]int, s.Classes)
	var img draw.Image
	for i, l := range s.Labels {
		c := int(l)
		number := i
		if n == ClassIndex {
			number = counts[c]
		}
		counts[c]++
		img = s.drawInto(img, i, 0, 0)
		if err := WritePNG(filepath.Join(dir, ClassFolderFile(c, number)), img); err != nil {
			return err
		}
	}
	return nil
}
