package attack

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// goldenBlurPath is written by scripts/pil_blur_golden.py. Layout after
// gunzip (integers little endian): magic "PILBLUR1", uint32 case count, then
// per case uint8 channels (1 = 'L', 3 = 'RGB'), uint16 h, uint16 w, the
// input image (h*w*c bytes, HWC) and Pillow's GaussianBlur(radius=1) output
// (h*w*c bytes, HWC).
var goldenBlurPath = filepath.Join("..", "testdata", "pil", "blur_golden.bin.gz")

type blurCase struct {
	c, h, w  int
	in, want []uint8 // HWC
}

func readBlurGolden(t *testing.T) []blurCase {
	t.Helper()
	f, err := os.Open(goldenBlurPath)
	if err != nil {
		t.Fatalf("open golden blur cases: %v", err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("gunzip %s: %v", goldenBlurPath, err)
	}
	raw, err := io.ReadAll(z)
	if err != nil {
		t.Fatalf("read %s: %v", goldenBlurPath, err)
	}
	if len(raw) < 12 || string(raw[:8]) != "PILBLUR1" {
		t.Fatalf("%s: bad magic", goldenBlurPath)
	}
	n := int(binary.LittleEndian.Uint32(raw[8:12]))
	r := raw[12:]
	cases := make([]blurCase, 0, n)
	for i := 0; i < n; i++ {
		if len(r) < 5 {
			t.Fatalf("%s: case %d: truncated header", goldenBlurPath, i)
		}
		bc := blurCase{c: int(r[0]), h: int(binary.LittleEndian.Uint16(r[1:3])), w: int(binary.LittleEndian.Uint16(r[3:5]))}
		r = r[5:]
		size := bc.c * bc.h * bc.w
		if len(r) < 2*size {
			t.Fatalf("%s: case %d (%d×%d×%d): truncated pixels", goldenBlurPath, i, bc.h, bc.w, bc.c)
		}
		bc.in, bc.want = r[:size], r[size:2*size]
		r = r[2*size:]
		cases = append(cases, bc)
	}
	if len(r) != 0 {
		t.Fatalf("%s: %d trailing bytes after %d cases", goldenBlurPath, len(r), n)
	}
	return cases
}

// hwcToCHW converts interleaved pixels to channel planes.
func hwcToCHW(src []uint8, c, h, w int) []uint8 {
	dst := make([]uint8, len(src))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for k := 0; k < c; k++ {
				dst[(k*h+y)*w+x] = src[(y*w+x)*c+k]
			}
		}
	}
	return dst
}

func TestGaussianBlurPillowGolden(t *testing.T) {
	cases := readBlurGolden(t)
	if len(cases) == 0 {
		t.Fatal("no golden blur cases")
	}
	for i, bc := range cases {
		got := hwcToCHW(bc.in, bc.c, bc.h, bc.w)
		GaussianBlur(got, bc.c, bc.h, bc.w)
		want := hwcToCHW(bc.want, bc.c, bc.h, bc.w)
		for j := range got {
			if got[j] != want[j] {
				k, y, x := j/(bc.h*bc.w), j/bc.w%bc.h, j%bc.w
				t.Fatalf("case %d (%d×%d×%d): first mismatch at channel %d, y %d, x %d: got %d, Pillow %d",
					i, bc.h, bc.w, bc.c, k, y, x, got[j], want[j])
			}
		}
	}
	t.Logf("%d cases bit-exact", len(cases))
}

func TestGaussianBlurCentreImpulse(t *testing.T) {
	img := make([]uint8, 7*7)
	img[3*7+3] = 255
	GaussianBlur(img, 1, 7, 7)
	// Pillow 9.4, GaussianBlur(radius=1) of a 7×7 'L' image with a single 255
	// at the centre. The row and column differ at the ends because Pillow
	// rounds after every pass and runs the horizontal passes first.
	wantRow := []uint8{1, 6, 24, 42, 24, 6, 1}
	wantCol := []uint8{0, 6, 24, 42, 24, 6, 0}
	for i := 0; i < 7; i++ {
		if got := img[3*7+i]; got != wantRow[i] {
			t.Errorf("centre row x=%d: got %d, want %d", i, got, wantRow[i])
		}
		if got := img[i*7+3]; got != wantCol[i] {
			t.Errorf("centre column y=%d: got %d, want %d", i, got, wantCol[i])
		}
	}
}

func TestGaussianBlurChannelsIndependent(t *testing.T) {
	const c, h, w = 3, 13, 17
	rng := rand.New(rand.NewPCG(1, 2))
	img := make([]uint8, c*h*w)
	for i := range img {
		img[i] = uint8(rng.UintN(256))
	}
	// Changing channel 1 must not change the result for channels 0 and 2,
	// and every channel must equal its plane blurred alone.
	other := append([]uint8(nil), img...)
	for i := h * w; i < 2*h*w; i++ {
		other[i] = 255 - other[i]
	}
	planes := make([][]uint8, c)
	for k := range planes {
		planes[k] = append([]uint8(nil), img[k*h*w:(k+1)*h*w]...)
		GaussianBlur(planes[k], 1, h, w)
	}
	GaussianBlur(img, c, h, w)
	GaussianBlur(other, c, h, w)
	for k := 0; k < c; k++ {
		if !bytes.Equal(img[k*h*w:(k+1)*h*w], planes[k]) {
			t.Errorf("channel %d differs from its plane blurred alone", k)
		}
	}
	for _, k := range []int{0, 2} {
		if !bytes.Equal(img[k*h*w:(k+1)*h*w], other[k*h*w:(k+1)*h*w]) {
			t.Errorf("channel %d changed when only channel 1 of the input changed", k)
		}
	}
}

func TestGaussianBlurPanicsOnBadShape(t *testing.T) {
	for _, s := range []struct{ n, c, h, w int }{{10, 1, 3, 3}, {0, -1, 0, 5}, {6, 1, 2, 2}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("len %d, %d×%d×%d: no panic", s.n, s.c, s.h, s.w)
				}
			}()
			GaussianBlur(make([]uint8, s.n), s.c, s.h, s.w)
		}()
	}
	GaussianBlur(nil, 3, 0, 5) // empty image: no panic, nothing to do
}

func TestGaussianBlurAllocs(t *testing.T) {
	img := make([]uint8, 3*64*64)
	if n := testing.AllocsPerRun(10, func() { GaussianBlur(img, 3, 64, 64) }); n != 0 {
		t.Errorf("GaussianBlur on 3×64×64 allocates %v times per call, want 0", n)
	}
	wide := make([]uint8, 2*300)
	if n := testing.AllocsPerRun(10, func() { GaussianBlur(wide, 1, 2, 300) }); n > 1 {
		t.Errorf("GaussianBlur on 1×2×300 allocates %v times per call, want at most 1", n)
	}
}

// referenceBlur is a direct, out-of-place transcription of the kernel with
// clamped indices, used to check GaussianBlur's in-place passes on shapes the
// golden file does not cover.
func referenceBlur(img []uint8, c, h, w int) []uint8 {
	cur := append([]uint8(nil), img...)
	at := func(p []uint8, y, x int) uint32 {
		y = min(max(y, 0), h-1)
		x = min(max(x, 0), w-1)
		return uint32(p[y*w+x])
	}
	for k := 0; k < c; k++ {
		p := cur[k*h*w : (k+1)*h*w]
		for pass := 0; pass < 6; pass++ {
			dy, dx := 0, 1
			if pass >= 3 {
				dy, dx = 1, 0
			}
			next := make([]uint8, h*w)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					s := at(p, y, x)*11184811 + (at(p, y-dy, x-dx)+at(p, y+dy, x+dx))*2796202 + 1<<23
					next[y*w+x] = uint8(s >> 24)
				}
			}
			copy(p, next)
		}
	}
	return cur
}

func TestGaussianBlurMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range []struct{ c, h, w int }{{1, 1, 1}, {2, 1, 7}, {3, 7, 1}, {1, 2, 300}, {3, 300, 2}, {3, 45, 61}} {
		img := make([]uint8, s.c*s.h*s.w)
		for i := range img {
			img[i] = uint8(rng.UintN(256))
		}
		want := referenceBlur(img, s.c, s.h, s.w)
		GaussianBlur(img, s.c, s.h, s.w)
		if !bytes.Equal(img, want) {
			t.Errorf("%d×%d×%d: differs from the reference", s.c, s.h, s.w)
		}
	}
}

func FuzzGaussianBlur(f *testing.F) {
	f.Add(uint8(0), uint8(6), uint8(6), []byte{0, 255, 7, 128})
	f.Add(uint8(2), uint8(63), uint8(63), []byte{200})
	f.Add(uint8(1), uint8(0), uint8(39), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, cb, hb, wb uint8, data []byte) {
		c, h, w := int(cb%3)+1, int(hb%64)+1, int(wb%64)+1
		img := make([]uint8, c*h*w)
		if len(data) > 0 {
			for i := range img {
				img[i] = data[i%len(data)]
			}
		}
		in := append([]uint8(nil), img...)
		GaussianBlur(img, c, h, w)
		if want := referenceBlur(in, c, h, w); !bytes.Equal(img, want) {
			t.Fatalf("%d×%d×%d: differs from the reference", c, h, w)
		}
		// Each pass is a rounded convex combination, so every output pixel
		// lies within its channel's input range; a constant channel stays
		// constant.
		for k := 0; k < c; k++ {
			lo, hi := uint8(255), uint8(0)
			for _, v := range in[k*h*w : (k+1)*h*w] {
				lo, hi = min(lo, v), max(hi, v)
			}
			for i, v := range img[k*h*w : (k+1)*h*w] {
				if v < lo || v > hi {
					t.Fatalf("%d×%d×%d: channel %d pixel %d = %d outside input range [%d, %d]", c, h, w, k, i, v, lo, hi)
				}
			}
		}
	})
}

func BenchmarkGaussianBlur(b *testing.B) {
	for _, s := range []struct{ c, h, w int }{{1, 28, 28}, {3, 32, 32}, {3, 64, 64}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.c, s.h, s.w), func(b *testing.B) {
			img := make([]uint8, s.c*s.h*s.w)
			for i := range img {
				img[i] = uint8(i * 37)
			}
			b.SetBytes(int64(len(img)))
			for b.Loop() {
				GaussianBlur(img, s.c, s.h, s.w)
			}
		})
	}
}
