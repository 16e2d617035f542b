package data

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"strings"
	"testing"
)

func FuzzDecodeIDX(f *testing.F) {
	img, lab := idxImages(2, 3, 2), idxLabels(1, 0)
	f.Add(img, lab)
	f.Add(gz(f, img), gz(f, lab))
	f.Add(idxImages(1, 1, 1), gz(f, idxLabels(9)))
	f.Add(img[:8], lab[:6])
	f.Add([]byte{0x1f, 0x8b}, []byte{})
	f.Fuzz(func(t *testing.T, images, labels []byte) {
		s, err := DecodeIDX(bytes.NewReader(images), bytes.NewReader(labels), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "decode fuzz ") {
				t.Fatalf("error does not name the stream: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("decoded set is invalid: %v", err)
		}
		if s.Channels != 1 || s.Len() == 0 {
			t.Fatalf("bad set: %d channels, %d images", s.Channels, s.Len())
		}
	})
}

func FuzzCIFAR(f *testing.F) {
	ten := cifarRecords(1, 1, func(int) []byte { return []byte{7} })
	hundred := cifarRecords(1, 2, func(int) []byte { return []byte{3, 42} })
	f.Add(ten, false)
	f.Add(hundred, true)
	f.Add(gz(f, ten), false)
	f.Add(ten[:100], false)
	f.Add([]byte{}, true)
	f.Fuzz(func(t *testing.T, b []byte, is100 bool) {
		decode := DecodeCIFAR10
		if is100 {
			decode = DecodeCIFAR100
		}
		s, err := decode(bytes.NewReader(b), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "decode fuzz: ") {
				t.Fatalf("error does not name the stream: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("decoded set is invalid: %v", err)
		}
		if s.Channels != 3 || s.Height != 32 || s.Width != 32 || s.Len() == 0 {
			t.Fatalf("bad set shape")
		}
	})
}

func FuzzClassIDFromName(f *testing.F) {
	for _, s := range []string{"cls3", "3", "class_12", "cls007", "cls", "", "65535", "65536", "x00000000000000000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		id, err := ClassIDFromName(name)
		if err != nil {
			return
		}
		if id < 0 || id >= MaxClasses {
			t.Fatalf("id %d out of range", id)
		}
		if !strings.HasSuffix(name, strconv.Itoa(id)) {
			t.Fatalf("%q does not end in %d", name, id)
		}
		// The id uses all trailing digits: the character before them is not a digit.
		digits, _ := trailingNumber(name)
		if digits != strings.TrimLeft(strconv.Itoa(id), "0") {
			t.Fatalf("%q: id %d ignores digits %q", name, id, digits)
		}
	})
}

// FuzzPNGToCHW feeds arbitrary PNG bytes through the header checks and
// the pixel conversion used by ReadImageFolder.
func FuzzPNGToCHW(f *testing.F) {
	for _, img := range []image.Image{
		greyImage(2, 3, 5),
		image.NewNRGBA(image.Rect(0, 0, 2, 2)),
		image.NewRGBA(image.Rect(0, 0, 1, 2)),
		image.NewGray16(image.Rect(0, 0, 2, 1)),
		image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Gray{1}, color.RGBA{1, 2, 3, 255}}),
	} {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > 1<<16 {
			return
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			return
		}
		c := 3
		if isGreyModel(cfg.ColorModel) {
			c = 1
		}
		dst := make([]uint8, c*cfg.Width*cfg.Height)
		toCHW(dst, img, c)
	})
}
