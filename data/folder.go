package data

import (
	"cmp"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/privatesnn/privatesnn/imageset"
)

// ClassIDFromName parses the class id of an image-folder sub-directory: the
// integer formed by the trailing ASCII digits of name, so "cls3", "3" and
// "class_12" give 3, 3 and 12, and "cls007" gives 7. A name without
// trailing digits, or whose id is MaxClasses or more, is an error.
func ClassIDFromName(name string) (int, error) {
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	digits := name[i:]
	if digits == "" {
		return 0, fmt.Errorf("folder name %q does not end in a class number: %w", name, ErrFormat)
	}
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return 0, nil
	}
	const maxDigits = 6 // MaxClasses-1 has 5 digits
	if len(digits) > maxDigits {
		return 0, fmt.Errorf("folder name %q: class number too large, want 0..%d: %w", name, MaxClasses-1, ErrLimit)
	}
	id, err := strconv.Atoi(digits)
	if err != nil || id >= MaxClasses {
		return 0, fmt.Errorf("folder name %q: class number too large, want 0..%d: %w", name, MaxClasses-1, ErrLimit)
	}
	return id, nil
}

// trailingNumber returns the trailing digits of s without leading zeros
// and whether s had any.
func trailingNumber(s string) (string, bool) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i == len(s) {
		return "", false
	}
	return strings.TrimLeft(s[i:], "0"), true
}

// compareFileNames orders image files by the number at the end of their
// stem ("img2.png" before "img10.png"), then by name; names without a
// number come last.
func compareFileNames(a, b string) int {
	na, oka := trailingNumber(strings.TrimSuffix(a, filepath.Ext(a)))
	nb, okb := trailingNumber(strings.TrimSuffix(b, filepath.Ext(b)))
	switch {
	case oka && !okb:
		return -1
	case !oka && okb:
		return 1
	case oka && okb:
		if c := cmp.Compare(len(na), len(nb)); c != 0 {
			return c
		}
		if c := strings.Compare(na, nb); c != 0 {
			return c
		}
	}
	return strings.Compare(a, b)
}

// folderImage is one image file found by ReadImageFolder.
type folderImage struct {
	path  string
	class int
}

// folderListing is what listImageFolder finds in an image folder: the
// image files in reading order, the folder name of each class id, and the
// largest class id (-1 when there is no class folder).
type folderListing struct {
	files      []folderImage
	classNames map[int]string
	maxID      int
}

// ReadImageFolder reads a labelled image folder: dir holds one
// sub-directory per class, and each sub-directory holds PNG images
// (grey or colour, 8 or 16 bit). The class id of a sub-directory is the
// number its name ends with (see ClassIDFromName), not its position in
// sorted order, so cls2 < cls10. Classes is the largest id + 1 and
// ClassNames[id] is the folder's name ("0", "1", … for ids without a
// folder). Images within a class are ordered by the number ending their
// file name. Names starting with "." are ignored, as are regular files
// directly in dir; any other file in a class folder must be a PNG.
//
// All images must share one size. Channels is 1 if every image is grey
// and 3 otherwise (grey images are then replicated to three channels);
// alpha is ignored.
func ReadImageFolder(dir string) (*Set, error) {
	ls, err := listImageFolder(dir)
	if err != nil {
		return nil, err
	}
	if ls.maxID < 0 {
		return nil, fmt.Errorf("read %s: no class folders (want sub-directories such as cls0, cls1, …): %w", dir, ErrFormat)
	}
	if len(ls.files) == 0 {
		return nil, fmt.Errorf("read %s: no PNG images in the class folders: %w", dir, ErrLimit)
	}

	// Pass 1: headers only, to fix the shape and bound the allocation.
	c, h, w, err := folderShape(ls.files)
	if err != nil {
		return nil, err
	}
	total, err := checkTotal(int64(len(ls.files)), int64(c*h*w))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}

	// Pass 2: decode.
	s := &Set{
		Name:       dir,
		Channels:   c,
		Height:     h,
		Width:      w,
		Classes:    ls.maxID + 1,
		ClassNames: genericNames(ls.maxID + 1),
		Pixels:     make([]uint8, total),
		Labels:     make([]int32, len(ls.files)),
	}
	for id, n := range ls.classNames {
		s.ClassNames[id] = n
	}
	if err := decodeFolderImages(s, ls.files); err != nil {
		return nil, err
	}
	return s, nil
}

// listImageFolder walks the class folders of dir in directory order,
// skipping names that start with "." and entries that are not directories
// (after following symbolic links). It fails on a folder name without a
// class number, on two folders giving the same class id, on a non-PNG
// file in a class folder, and once the image count would pass MaxImages.
func listImageFolder(dir string) (folderListing, error) {
	ls := folderListing{classNames: map[int]string{}, maxID: -1}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ls, fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		st, err := os.Stat(sub) // follows symbolic links
		if err != nil {
			return ls, fmt.Errorf("read %s: %w", sub, err)
		}
		if !st.IsDir() {
			continue
		}
		id, err := ClassIDFromName(e.Name())
		if err != nil {
			return ls, fmt.Errorf("read %s: %w", sub, err)
		}
		if prev, dup := ls.classNames[id]; dup {
			return ls, fmt.Errorf("read %s: class %d also given by folder %q: %w", sub, id, prev, ErrMismatch)
		}
		ls.classNames[id] = e.Name()
		ls.maxID = max(ls.maxID, id)
		names, err := classImageNames(sub)
		if err != nil {
			return ls, err
		}
		if len(ls.files)+len(names) > MaxImages {
			return ls, fmt.Errorf("read %s: more than %d images: %w", dir, MaxImages, ErrLimit)
		}
		for _, n := range names {
			ls.files = append(ls.files, folderImage{path: filepath.Join(sub, n), class: id})
		}
	}
	return ls, nil
}

// classImageNames returns the file names in the class folder sub, sorted
// by compareFileNames. Names starting with "." and sub-directories are
// skipped; any other file must have the extension .png (any case).
func classImageNames(sub string) ([]string, error) {
	imgs, err := os.ReadDir(sub)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", sub, err)
	}
	var names []string
	for _, f := range imgs {
		if strings.HasPrefix(f.Name(), ".") || f.IsDir() {
			continue
		}
		p := filepath.Join(sub, f.Name())
		if !strings.EqualFold(filepath.Ext(f.Name()), ".png") {
			return nil, fmt.Errorf("read %s: not a .png file: %w", p, ErrFormat)
		}
		names = append(names, f.Name())
	}
	slices.SortFunc(names, compareFileNames)
	return names, nil
}

// folderShape reads the PNG header of every file and returns the channel
// count (1 if every image is grey, else 3) and the height and width they
// share. Each side must be 1..MaxSide and equal to the first file's.
func folderShape(files []folderImage) (c, h, w int, err error) {
	grey := true
	for i, f := range files {
		cfg, err := pngConfig(f.path)
		if err != nil {
			return 0, 0, 0, err
		}
		if cfg.Width <= 0 || cfg.Width > MaxSide || cfg.Height <= 0 || cfg.Height > MaxSide {
			return 0, 0, 0, fmt.Errorf("read %s: image size %dx%d, want 1..%d per side: %w", f.path, cfg.Height, cfg.Width, MaxSide, ErrLimit)
		}
		if i == 0 {
			h, w = cfg.Height, cfg.Width
		} else if cfg.Height != h || cfg.Width != w {
			return 0, 0, 0, fmt.Errorf("read %s: image is %dx%d but %s is %dx%d: %w", f.path, cfg.Height, cfg.Width, files[0].path, h, w, ErrMismatch)
		}
		grey = grey && isGreyModel(cfg.ColorModel)
	}
	c = 3
	if grey {
		c = 1
	}
	return c, h, w, nil
}

// decodeFolderImages decodes files[i] into image i of s (CHW, s.Channels
// planes) and sets its label to the file's class. A decoded size that
// differs from s.Height×s.Width is an error.
func decodeFolderImages(s *Set, files []folderImage) error {
	h, w, c := s.Height, s.Width, s.Channels
	size := s.ImageSize()
	for i, f := range files {
		img, err := pngDecode(f.path)
		if err != nil {
			return err
		}
		if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
			return fmt.Errorf("read %s: decoded size %dx%d differs from header: %w", f.path, b.Dy(), b.Dx(), ErrFormat)
		}
		toCHW(s.Pixels[i*size:(i+1)*size], img, c)
		s.Labels[i] = int32(f.class)
	}
	return nil
}

func pngConfig(path string) (image.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return image.Config{}, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		return image.Config{}, fmt.Errorf("read %s: PNG header: %w: %w", path, ErrFormat, err)
	}
	return cfg, nil
}

func pngDecode(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: PNG data: %w: %w", path, ErrFormat, err)
	}
	return img, nil
}

// isGreyModel reports whether a PNG colour model carries only grey levels.
func isGreyModel(m color.Model) bool {
	switch m {
	case color.GrayModel, color.Gray16Model:
		return true
	}
	if p, ok := m.(color.Palette); ok {
		for _, c := range p {
			r, g, b, _ := c.RGBA()
			if r != g || g != b {
				return false
			}
		}
		return true
	}
	return false
}

// toCHW writes img as c planes (1 = grey, 3 = RGB) of 8-bit samples into
// dst, ignoring alpha (colours are un-premultiplied).
func toCHW(dst []uint8, img image.Image, c int) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	plane := w * h
	if g, ok := img.(*image.Gray); ok {
		for y := range h {
			row := g.Pix[y*g.Stride : y*g.Stride+w]
			for k := range c {
				copy(dst[k*plane+y*w:], row)
			}
		}
		return
	}
	if n, ok := img.(*image.NRGBA); ok && c == 3 {
		for y := range h {
			for x := range w {
				p := n.Pix[y*n.Stride+4*x:]
				o := y*w + x
				dst[o], dst[plane+o], dst[2*plane+o] = p[0], p[1], p[2]
			}
		}
		return
	}
	if rgba, ok := img.(*image.RGBA); ok && c == 3 {
		for y := range h {
			for x := range w {
				p := rgba.Pix[y*rgba.Stride+4*x:]
				o := y*w + x
				if p[3] == 0xff {
					dst[o], dst[plane+o], dst[2*plane+o] = p[0], p[1], p[2]
					continue
				}
				n := color.NRGBAModel.Convert(color.RGBA{p[0], p[1], p[2], p[3]}).(color.NRGBA)
				dst[o], dst[plane+o], dst[2*plane+o] = n.R, n.G, n.B
			}
		}
		return
	}
	for y := range h {
		for x := range w {
			n := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			o := y*w + x
			if c == 1 {
				dst[o] = n.R // grey images have R == G == B
				continue
			}
			dst[o] = n.R
			dst[plane+o] = n.G
			dst[2*plane+o] = n.B
		}
	}
}

// WriteImageFolder writes s as a labelled image folder readable by
// ReadImageFolder: image i goes to dir/cls{label}/img{i}.png as an 8-bit
// grey (1 channel) or RGB (3 channels) PNG. A folder is created for every
// class, so the class count survives a round trip even for empty classes;
// the class names do not (they become "cls0", "cls1", …). It is
// imageset's Set.WriteClassFolders numbered by SetIndex, for 1 or 3
// channels only: each file is written to a temporary file in its folder
// and renamed into place, so a reader never sees a partial image. Files of the same name are replaced;
// other files already in dir are left alone (and would be read back by
// ReadImageFolder), so write into an empty or new directory.
func WriteImageFolder(dir string, s *Set) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	if s.Channels != 1 && s.Channels != 3 {
		return fmt.Errorf("write %s: %d channels, PNG folders need 1 or 3: %w", dir, s.Channels, ErrFormat)
	}
	return s.WriteClassFolders(dir, imageset.SetIndex)
}
