package convert

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

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

// oldPickImages is the image picking privatesnn's convert command used
// before PickImages existed, kept verbatim as the reference.
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
// the normalised pool, and PickImages + AugmentFill + Thresholds, give the
// thresholds of the old sequence (pick, Augment, Thresholds with one rng)
// bit for bit, with and without augmentation.
func TestCalibrateReproducesOldSequence(t *testing.T) {
	m, _ := toyModel(t)
	imgs := byteImages(40)
	get := func(i int) []uint8 { return imgs[i] }
	norm := Normalization{Mean: 0.5, Std: 0.5}
	pool, err := NormalizeImages(len(imgs), 2, 6, 6, get, norm)
	if err != nil {
		t.Fatal(err)
	}
	o := Defaults()
	o.Timesteps, o.Batch = 6, 7 // Poisson input, several batches: every rng draw matters
	for _, aug := range []struct {
		pad  int
		flip bool
	}{{0, false}, {2, true}} {
		const seed, k = 5, 16
		rng := rand.New(rand.NewPCG(seed, 0xca1b))
		old := oldPickImages(len(imgs), 2, 6, 6, k, get, rng)
		old = Augment(old, aug.pad, aug.flip, rng)
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
		x, err := PickImages(len(imgs), 2, 6, 6, k, get, norm, rng)
		if err != nil {
			t.Fatal(err)
		}
		x = AugmentFill(x, aug.pad, aug.flip, norm.Black(), rng)
		got2, err := Thresholds(context.Background(), m, x, o, rng)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got2, want) {
			t.Fatalf("pad %d flip %v: PickImages sequence %v, old sequence %v", aug.pad, aug.flip, got2, want)
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
	norm := Normalization{Mean: 0.3, Std: 0.4}
	pool, err := NormalizeImages(len(imgs), 2, 6, 6, func(i int) []uint8 { return imgs[i] }, norm)
	if err != nil {
		t.Fatal(err)
	}
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

func TestNormalization(t *testing.T) {
	half := Normalization{Mean: 0.5, Std: 0.5}
	for p := range 256 {
		// The calibration images have always been 2p/255 − 1 in float32.
		if got, want := half.Value(uint8(p)), float32(p)/127.5-1; got != want {
			t.Fatalf("0.5/0.5: pixel %d → %g, want %g", p, got, want)
		}
	}
	if half.Black() != -1 {
		t.Fatalf("black %g", half.Black())
	}
	fm := Normalization{Mean: 0.2860, Std: 0.3530} // Fashion-MNIST statistics
	for p := range 256 {
		want := (float64(p)/255 - fm.Mean) / fm.Std
		// Rounding 255·std, the quotient, mean/std and the difference in
		// float32: about 2⁻²³ times terms below 2.9 (1/0.353) plus half an
		// ulp of the result, well under 2⁻²⁰.
		if got := float64(fm.Value(uint8(p))); math.Abs(got-want) > 0x1p-20 {
			t.Fatalf("pixel %d → %g, want %g", p, got, want)
		}
	}
	if got, want := float64(fm.Black()), -fm.Mean/fm.Std; math.Abs(got-want) > 1e-7 {
		t.Fatalf("black %g, want %g", got, want)
	}
	for _, bad := range []Normalization{{0.5, 0}, {0.5, -1}, {math.NaN(), 1}, {0, math.Inf(1)}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, err := PickImages(3, 1, 1, 1, 2, func(int) []uint8 { return []uint8{1, 2} }, half, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("image of the wrong size accepted")
	}
}

// TestAugmentFill: a crop shifts in the fill value, a flip mirrors.
func TestAugmentFill(t *testing.T) {
	x := tensor.New(50, 1, 3, 3)
	for i := range x.Data {
		x.Data[i] = float32(i%9) + 1 // never the fill
	}
	const fill = -0.81
	y := AugmentFill(x, 1, true, fill, rand.New(rand.NewPCG(4, 4)))
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
	if AugmentFill(x, 0, false, fill, nil) != x {
		t.Fatal("no augmentation must return the input")
	}
}

func TestNonFiniteCurrent(t *testing.T) {
	for _, c := range []struct {
		layer string
		value float32
	}{{"features.0.weight", float32(math.NaN())}, {"classifier.0.weight", float32(math.Inf(1))}} {
		m, x := toyModel(t)
		for _, p := range m.Params() {
			if p.Name == c.layer {
				for i := range p.W.Data {
					p.W.Data[i] = c.value
				}
			}
		}
		for _, staged := range []bool{false, true} {
			for _, pct := range []float64{0, 99} {
				o := Defaults()
				o.Timesteps, o.Encoder, o.Staged, o.Percentile = 4, snn.Direct, staged, pct
				_, err := Thresholds(context.Background(), m, x, o, rand.New(rand.NewPCG(1, 1)))
				if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), c.layer) {
					t.Errorf("%s = %g (staged %v, percentile %g): error %v, want ErrNonFinite naming the layer", c.layer, c.value, staged, pct, err)
				}
			}
		}
	}
}

// TestStagedThresholds: a staged search equals the re-simulating one for
// Direct input (no noise; one batch, so the same chunks and kernels) and,
// for Poisson input, a re-simulating search that reuses the same seeds in
// every pass, bit for bit.
func TestStagedThresholds(t *testing.T) {
	m, x := toyModel(t)
	for _, pct := range []float64{0, 99.5} {
		o := Defaults()
		o.Timesteps, o.Encoder, o.Percentile, o.InitMembrane = 7, snn.Direct, pct, 0.5
		want, err := Thresholds(context.Background(), m, x, o, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		o.Staged = true
		got, err := Thresholds(context.Background(), m, x, o, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("direct p%g: staged %v, re-simulated %v", pct, got, want)
		}
		// Poisson: re-simulate every pass with the same seeds.
		o.Encoder = snn.Poisson
		got, err = Thresholds(context.Background(), m, x, o, rand.New(rand.NewPCG(2, 2)))
		if err != nil {
			t.Fatal(err)
		}
		th := []float32{1, 1}
		for l := range th {
			net, _ := snn.New(m, o.Config(th))
			ob := observer{}
			if pct > 0 {
				ob.hist = make([]int64, histBins)
			}
			_, err := net.Run(context.Background(), x, rand.New(rand.NewPCG(2, 2)), snn.Options{Observe: l + 1,
				Current: func(layer int, cur []float32, _, _ int) {
					if layer == l {
						ob.add(cur)
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			th[l], _ = ob.threshold(pct, "", 0)
		}
		if !slices.Equal(got, th) {
			t.Fatalf("poisson p%g: staged %v, re-simulated with shared seeds %v", pct, got, th)
		}
	}
}

// TestSamplingDraw: a draw takes Images images (all when 0 or more than
// the pool), and the crop fills with the normalisation's black pixel.
func TestSamplingDraw(t *testing.T) {
	pool := tensor.New(10, 1, 4, 4)
	for i := range pool.Data {
		pool.Data[i] = float32(i/16) + 1 // image i is all i+1
	}
	norm := Normalization{Mean: 0.3, Std: 0.4}
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
