package convert

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

// byteImages returns n random 8-bit CHW images of the toy model's shape.
func byteImages(n int) [][]uint8 {
	rng := rand.New(rand.NewPCG(21, 22))
	imgs := make([][]uint8, n)
	for i := range imgs {
		imgs[i] = make([]uint8, 2*6*6)
		for p := range imgs[i] {
			imgs[i][p] = uint8(rng.IntN(256))
		}
	}
	return imgs
}

// byteSet holds the images as an image set of the toy model's shape.
func byteSet(imgs [][]uint8) *imageset.Set {
	s := &imageset.Set{Channels: 2, Height: 6, Width: 6, Classes: 1, ClassNames: []string{"0"}, Labels: make([]int32, len(imgs))}
	for _, im := range imgs {
		s.Pixels = append(s.Pixels, im...)
	}
	return s
}

// oldAugmentFill is the calibration augmentation privatesnn's package
// convert had before package imageset held it, kept verbatim as the
// reference.
func oldAugmentFill(x *tensor.Tensor, pad int, flip bool, fill float32, rng *rand.Rand) *tensor.Tensor {
	if pad <= 0 && !flip {
		return x
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	y := tensor.New(x.Shape...)
	for i := range n {
		dy, dx := 0, 0
		if pad > 0 {
			dy, dx = rng.IntN(2*pad+1)-pad, rng.IntN(2*pad+1)-pad
		}
		mirror := flip && rng.IntN(2) == 1
		for ch := range c {
			src := x.Data[(i*c+ch)*h*w : (i*c+ch+1)*h*w]
			dst := y.Data[(i*c+ch)*h*w : (i*c+ch+1)*h*w]
			for r := range h {
				for col := range w {
					sc := col
					if mirror {
						sc = w - 1 - col
					}
					sr, sc := r+dy, sc+dx
					v := fill
					if sr >= 0 && sr < h && sc >= 0 && sc < w {
						v = src[sr*w+sc]
					}
					dst[r*w+col] = v
				}
			}
		}
	}
	return y
}

// oldPickImages is the image picking privatesnn's convert command used
// before the image set gathered them, kept verbatim as the reference.
func oldPickImages(n, c, h, w, k int, get func(i int) []uint8, rng *rand.Rand) *tensor.Tensor {
	k = min(k, n)
	idx := rng.Perm(n)[:k]
	x := tensor.New(k, c, h, w)
	size := c * h * w
	for j, i := range idx {
		for p, v := range get(i) {
			x.Data[j*size+p] = float32(v)/127.5 - 1
		}
	}
	return x
}

// TestCalibrateReproducesOldSequence: without per-pass draws, Calibrate on
// the normalised pool, and picking from the image set (Set.Tensor on
// rng.Perm) + imageset.Augment + Thresholds, give the
// thresholds of the old sequence (pick, Augment, Thresholds with one rng)
// bit for bit, with and without augmentation.
func TestCalibrateReproducesOldSequence(t *testing.T) {
	m, _ := toyModel(t)
	imgs := byteImages(40)
	get := func(i int) []uint8 { return imgs[i] }
	norm := imageset.Normalization{Mean: 0.5, Std: 0.5}
	set := byteSet(imgs)
	pool := set.Tensor(nil, norm.Float32Table())
	o := Defaults()
	o.Timesteps, o.Batch = 6, 7 // Poisson input, several batches: every rng draw matters
	for _, aug := range []struct {
		pad  int
		flip bool
	}{{0, false}, {2, true}} {
		const seed, k = 5, 16
		rng := rand.New(rand.NewPCG(seed, 0xca1b))
		old := oldPickImages(len(imgs), 2, 6, 6, k, get, rng)
		old = oldAugmentFill(old, aug.pad, aug.flip, -1, rng)
		want, err := Thresholds(context.Background(), m, old, o, rng)
		if err != nil {
			t.Fatal(err)
		}
		s := Sampling{Images: k, CropPad: aug.pad, Flip: aug.flip, Norm: norm}
		got, err := Calibrate(context.Background(), m, pool, s, o, rand.New(rand.NewPCG(seed, 0xca1b)))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("pad %d flip %v: Calibrate %v, old sequence %v", aug.pad, aug.flip, got, want)
		}
		rng = rand.New(rand.NewPCG(seed, 0xca1b))
		x := set.Tensor(rng.Perm(len(imgs))[:k], norm.Float32Table())
		x = imageset.Augment{CropPad: aug.pad, HFlip: aug.flip}.Tensor(x, norm.Black(), rng)
		got2, err := Thresholds(context.Background(), m, x, o, rng)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got2, want) {
			t.Fatalf("pad %d flip %v: Set.Tensor sequence %v, old sequence %v", aug.pad, aug.flip, got2, want)
		}
	}
}

// TestCalibratePerPass: with PerPass every layer's pass gets its own draw.
// With Direct input the thresholds are then the brute-force maxima of
// layer 0 on the first draw and of layer 1 on the second (given θ_0); Run
// draws one Poisson seed per image between the two draws.
func TestCalibratePerPass(t *testing.T) {
	m, _ := toyModel(t)
	imgs := byteImages(30)
	norm := imageset.Normalization{Mean: 0.3, Std: 0.4}
	pool := byteSet(imgs).Tensor(nil, norm.Float32Table())
	o := Defaults()
	o.Timesteps, o.Encoder, o.Batch = 5, snn.Direct, 64
	s := Sampling{Images: 8, CropPad: 1, Flip: true, Norm: norm, PerPass: true}
	got, err := Calibrate(context.Background(), m, pool, s, o, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	d0 := s.Draw(pool, rng)
	for range 8 {
		rng.Uint64()
	}
	d1 := s.Draw(pool, rng)
	if slices.Equal(d0.Data, d1.Data) {
		t.Fatal("the two draws are equal; the test proves nothing")
	}
	th0 := bruteForce(m, d0, 5)[0]
	want := []float32{th0, bruteForceWith(m, d1, 5, th0)[1]}
	// Summation order differs from the kernels (see TestThresholdsEqualBruteForce).
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5*math.Abs(float64(want[i])) {
			t.Fatalf("threshold %d: %g, brute force on draw %d %g", i, got[i], i, want[i])
		}
	}
	if _, err := Calibrate(context.Background(), m, pool, s, Options{Staged: true, Timesteps: 5, Leak: 1, Scale: 1, Batch: 1},
		rand.New(rand.NewPCG(3, 3))); err == nil {
		t.Fatal("staged search with per-pass draws accepted")
	}
}

// TestNormalization: calibration normalises with the float32 table, in
// which the 0.5/0.5 calibration images have always been 2p/255 − 1; a
// general normalisation stays within float32 rounding of the exact value.
func TestNormalization(t *testing.T) {
	half := imageset.Normalization{Mean: 0.5, Std: 0.5}
	set := &imageset.Set{Channels: 1, Height: 16, Width: 16, Classes: 1, ClassNames: []string{"0"}, Labels: []int32{0}, Pixels: make([]uint8, 256)}
	for p := range set.Pixels {
		set.Pixels[p] = uint8(p)
	}
	x := set.Tensor(nil, half.Float32Table())
	for p := range 256 {
		if got, want := x.Data[p], float32(p)/127.5-1; got != want {
			t.Fatalf("0.5/0.5: pixel %d → %g, want %g", p, got, want)
		}
	}
	if half.Black() != -1 {
		t.Fatalf("black %g", half.Black())
	}
	fm := imageset.Normalization{Mean: 0.2860, Std: 0.3530} // Fashion-MNIST statistics
	for p := range 256 {
		want := (float64(p)/255 - fm.Mean) / fm.Std
		// Rounding 255·std, the quotient, mean/std and the difference in
		// float32: about 2⁻²³ times terms below 2.9 (1/0.353) plus half an
		// ulp of the result, well under 2⁻²⁰.
		if got := float64(fm.Float32Value(uint8(p))); math.Abs(got-want) > 0x1p-20 {
			t.Fatalf("pixel %d → %g, want %g", p, got, want)
		}
	}
	if got, want := float64(fm.Black()), -fm.Mean/fm.Std; math.Abs(got-want) > 1e-7 {
		t.Fatalf("black %g, want %g", got, want)
	}
	if err := (Sampling{CropPad: 2, Norm: imageset.Normalization{Mean: 0.5}}).Validate(); err == nil {
		t.Error("a crop with a zero std accepted")
	}
}

// TestAugmentFill: a crop shifts in the fill value, a flip mirrors, and
// the draws are those of the verbatim old augmentation.
func TestAugmentFill(t *testing.T) {
	x := tensor.New(50, 1, 3, 3)
	for i := range x.Data {
		x.Data[i] = float32(i%9) + 1 // never the fill
	}
	const fill = -0.81
	aug := imageset.Augment{CropPad: 1, HFlip: true}
	y := aug.Tensor(x, fill, rand.New(rand.NewPCG(4, 4)))
	if old := oldAugmentFill(x, 1, true, fill, rand.New(rand.NewPCG(4, 4))); !slices.Equal(y.Data, old.Data) {
		t.Fatal("the augmentation differs from the old one")
	}
	var filled, mirrored int
	for n := range 50 {
		img := y.Data[n*9 : (n+1)*9]
		for _, v := range img {
			if v == fill {
				filled++
			} else if v < 1 || v > 9 {
				t.Fatalf("image %d: value %g is neither a pixel nor the fill", n, v)
			}
		}
		if img[4] == 5 && img[3] == 6 { // centred and mirrored: row 1 is 6 5 4
			mirrored++
		}
	}
	if filled == 0 || mirrored == 0 {
		t.Fatalf("%d filled pixels, %d centred mirrored images in 50 draws", filled, mirrored)
	}
	if (imageset.Augment{}).Tensor(x, fill, nil) != x {
		t.Fatal("no augmentation must return the input")
	}
}

func TestSamplingDraw(t *testing.T) {
	pool := tensor.New(10, 1, 4, 4)
	for i := range pool.Data {
		pool.Data[i] = float32(i/16) + 1 // image i is all i+1
	}
	norm := imageset.Normalization{Mean: 0.3, Std: 0.4}
	black := norm.Black() // (0 − .3)/.4 = −0.75
	for _, c := range []struct{ images, want int }{{4, 4}, {0, 10}, {20, 10}} {
		x := Sampling{Images: c.images, CropPad: 2, Norm: norm}.Draw(pool, rand.New(rand.NewPCG(1, 1)))
		if x.Shape[0] != c.want {
			t.Fatalf("Images %d: drew %d", c.images, x.Shape[0])
		}
		seen, filled := map[float32]bool{}, 0
		for _, v := range x.Data {
			if v == black {
				filled++
			} else {
				seen[v] = true
			}
		}
		if filled == 0 || len(seen) != c.want {
			t.Fatalf("Images %d: %d black fill pixels, %d distinct images", c.images, filled, len(seen))
		}
	}
	if math.Abs(float64(black)+0.75) > 1e-7 {
		t.Fatalf("black %g", black)
	}
}
