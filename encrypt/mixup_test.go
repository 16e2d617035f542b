package encrypt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/tensor"
)

// The finite-difference step and tolerance of the blended loss's gradient
// check, as the plain loss's (encrypt_test.go): float32 logits of
// magnitude ≤ 3 give central differences good to about 1e-4 of the
// largest gradient entry at this step.
const (
	mixFDStep = 1.0 / 1024
	mixFDTol  = 1e-3
)

// blendedLoss is the loss of a batch with blended targets, as Run computes
// it: the value for the images' own labels, then the blend's.
func blendedLoss(bl *blend, s, a *tensor.Tensor, y []int32, kappa, m, tau float64) LossValue {
	return bl.values(s, y, LossValues(s, a, y, kappa, m, tau), kappa, m)
}

func TestBlendGradientFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	y := []int32{0, 4, 2, 2, 1}
	bl := &blend{lam: []float64{0.9, 0.25, 0.5, 0.01, 1}, partner: []int32{3, 2, 4, 0, 1}}
	const b, k = 5, 5
	for _, kappa := range []float64{1, 0.3} {
		for _, m := range []float64{0, 0.7} {
			name := fmt.Sprintf("κ=%g m=%g", kappa, m)
			s, a := tensor.New(b, k), tensor.New(b, k)
			s.RandUniform(rng, -3, 3)
			a.RandUniform(rng, -3, 3)
			ds := make([]float32, b*k)
			// In two chunks, as TrainStep calls it.
			LossRows(ds[:2*k], s.Data[:2*k], a.Data[:2*k], y[:2], k, b, kappa, m, 20)
			bl.rows(ds[:2*k], s.Data[:2*k], a.Data[:2*k], 0, 2, k, b, kappa, m, 20)
			LossRows(ds[2*k:], s.Data[2*k:], a.Data[2*k:], y[2:], k, b, kappa, m, 20)
			bl.rows(ds[2*k:], s.Data[2*k:], a.Data[2*k:], 2, b, k, b, kappa, m, 20)
			var scale, worst float64
			num := make([]float64, len(ds))
			for i, old := range s.Data {
				sp, sm := float32(float64(old)+mixFDStep), float32(float64(old)-mixFDStep)
				s.Data[i] = sp
				lp := blendedLoss(bl, s, a, y, kappa, m, 20).Total
				s.Data[i] = sm
				lm := blendedLoss(bl, s, a, y, kappa, m, 20).Total
				s.Data[i] = old
				num[i] = (lp - lm) / (float64(sp) - float64(sm))
				scale = max(scale, math.Abs(num[i]))
			}
			if !(scale > 0) {
				t.Fatalf("%s: numeric gradient is zero", name)
			}
			for i, v := range num {
				d := math.Abs(v - float64(ds[i]))
				worst = max(worst, d/scale)
				if d > mixFDTol*scale {
					t.Errorf("%s: ∂L/∂S[%d] analytic %g, numeric %g", name, i, ds[i], v)
				}
			}
			t.Logf("%s: worst relative error %.2g", name, worst)
		}
	}
}

// With every λ = 1 the blend is the images' own labels: the same gradient
// and loss bit for bit.
func TestBlendOfOneIsPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	y := []int32{1, 0, 3}
	bl := &blend{lam: []float64{1, 1, 1}, partner: []int32{3, 1, 0}}
	s, a := tensor.New(3, 4), tensor.New(3, 4)
	s.RandUniform(rng, -3, 3)
	a.RandUniform(rng, -3, 3)
	lv, g := Loss(s, a, y, 0.6, 0.7, 20)
	ds := make([]float32, 12)
	LossRows(ds, s.Data, a.Data, y, 4, 3, 0.6, 0.7, 20)
	bl.rows(ds, s.Data, a.Data, 0, 3, 4, 3, 0.6, 0.7, 20)
	if !slices.Equal(ds, g.Data) {
		t.Errorf("gradient with λ = 1: %v, plain %v", ds, g.Data)
	}
	got := blendedLoss(bl, s, a, y, 0.6, 0.7, 20)
	if d := math.Abs(got.CE - lv.CE); d > 1e-12*math.Abs(lv.CE) {
		t.Errorf("CE with λ = 1: %v, plain %v", got.CE, lv.CE)
	}
	if got.KD != lv.KD || math.Abs(got.Total-lv.Total) > 1e-12*math.Abs(lv.Total) {
		t.Errorf("loss with λ = 1: %+v, plain %+v", got, lv)
	}
}

func TestMixBatch(t *testing.T) {
	x := tensor.New(3, 1, 2, 2)
	for i := range x.Data {
		x.Data[i] = float32(i)
	}
	src := slices.Clone(x.Data)
	y := []int32{5, 6, 7}
	bl := mixBatch(x, y, rand.New(rand.NewPCG(1, 2)))
	if !slices.Equal(bl.partner, []int32{7, 6, 5}) {
		t.Fatalf("partners %v, want the batch reversed [7 6 5]", bl.partner)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i, l := range bl.lam {
		if want := rng.Float64(); l != want {
			t.Fatalf("λ[%d] = %v, want the generator's next value %v", i, l, want)
		}
		j := 2 - i
		for p := range 4 {
			want := float32(l*float64(src[i*4+p]) + (1-l)*float64(src[j*4+p]))
			if x.Data[i*4+p] != want {
				t.Errorf("image %d pixel %d = %v, want λ·x_i + (1−λ)·x_%d = %v", i, p, x.Data[i*4+p], j, want)
			}
		}
	}
	// The middle image of an odd batch is blended with itself: unchanged.
	for p := range 4 {
		if math.Abs(float64(x.Data[4+p]-src[4+p])) > 1e-6 {
			t.Errorf("middle image pixel %d = %v, want %v", p, x.Data[4+p], src[4+p])
		}
	}
}

func TestBlendMajor(t *testing.T) {
	bl := &blend{lam: []float64{0.5, 0.49, 0.9}, partner: []int32{9, 8, 7}}
	if got := bl.major([]int32{1, 2, 3}); !slices.Equal(got, []int32{1, 8, 3}) {
		t.Errorf("major = %v, want [1 8 3] (own label when λ ≥ ½)", got)
	}
	var none *blend
	if got := none.major([]int32{1, 2}); !slices.Equal(got, []int32{1, 2}) {
		t.Errorf("no blend: major = %v, want the labels", got)
	}
}
