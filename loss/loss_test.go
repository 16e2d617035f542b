package loss

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/privatesnn/privatesnn/tensor"
)

// The losses compute in float64 internally; central differences with step
// 1e-3 on float32 logits of magnitude ≤ 3 agree to ~1e-4 relative, so 1e-3
// of the largest gradient is a safe tolerance.
const (
	fdStep = 1e-3
	fdTol  = 1e-3
)

func numericGrad(z *tensor.Tensor, f func() float64) []float64 {
	g := make([]float64, z.Len())
	for i := range z.Data {
		old := z.Data[i]
		z.Data[i] = old + fdStep
		p := f()
		z.Data[i] = old - fdStep
		m := f()
		z.Data[i] = old
		g[i] = (p - m) / (2 * float64(fdStep))
	}
	return g
}

func assertGrad(t *testing.T, name string, analytic *tensor.Tensor, num []float64) {
	t.Helper()
	var scale float64
	for _, v := range num {
		scale = math.Max(scale, math.Abs(v))
	}
	for i, v := range num {
		if math.Abs(v-float64(analytic.Data[i])) > fdTol*math.Max(scale, 1e-6)+1e-7 {
			t.Fatalf("%s: grad[%d] analytic %g numeric %g", name, i, analytic.Data[i], v)
		}
	}
}

func randLogits(rng *rand.Rand, n, k int) *tensor.Tensor {
	z := tensor.New(n, k)
	z.RandUniform(rng, -3, 3)
	return z
}

func TestCrossEntropyGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	z := randLogits(rng, 4, 5)
	labels := []int32{0, 4, 2, 2}
	_, g := CrossEntropy(z, labels)
	assertGrad(t, "ce", g, numericGrad(z, func() float64 { l, _ := CrossEntropy(z, labels); return l }))
}

func TestCrossEntropyUniformLogits(t *testing.T) {
	// Equal logits give log K exactly.
	z := tensor.New(3, 10)
	l, _ := CrossEntropy(z, []int32{1, 2, 3})
	if math.Abs(l-math.Log(10)) > 1e-12 {
		t.Fatalf("loss %g, want log 10", l)
	}
}

func TestSoftCrossEntropyGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, tau := range []float64{1, 20} {
		z := randLogits(rng, 3, 6)
		tg := tensor.New(3, 6)
		for i := range 3 {
			var s float32
			for j := range 6 {
				tg.Data[i*6+j] = float32(rng.Float64())
				s += tg.Data[i*6+j]
			}
			for j := range 6 {
				tg.Data[i*6+j] /= s
			}
		}
		_, g := SoftCrossEntropy(z, tg, tau)
		assertGrad(t, "soft ce", g, numericGrad(z, func() float64 { l, _ := SoftCrossEntropy(z, tg, tau); return l }))
	}
}

func TestSoftCrossEntropyOneHotEqualsHard(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	z := randLogits(rng, 2, 4)
	tg := tensor.New(2, 4)
	tg.Data[1], tg.Data[4+3] = 1, 1
	ls, _ := SoftCrossEntropy(z, tg, 1)
	lh, _ := CrossEntropy(z, []int32{1, 3})
	if math.Abs(ls-lh) > 1e-9 {
		t.Fatalf("soft %g hard %g", ls, lh)
	}
}

func TestDistillGradAndZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, tau := range []float64{1, 4, 20} {
		s, te := randLogits(rng, 3, 5), randLogits(rng, 3, 5)
		_, g := Distill(s, te, tau)
		assertGrad(t, "distill", g, numericGrad(s, func() float64 { l, _ := Distill(s, te, tau); return l }))
		if l, _ := Distill(te, te, tau); math.Abs(l) > 1e-9 {
			t.Fatalf("KL of identical distributions %g", l)
		}
	}
}

func TestCorrect(t *testing.T) {
	z := tensor.FromData([]float32{1, 2, 0, 5, 1, 1}, 2, 3)
	if c := Correct(z, []int32{1, 1}); c != 1 {
		t.Fatalf("correct %d", c)
	}
}

// TestCrossEntropyRowsMatchesBatch checks that the gradient computed in
// chunks of rows equals CrossEntropy's, bit for bit.
func TestCrossEntropyRowsMatchesBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	n, k := 7, 4
	z := tensor.New(n, k)
	z.RandUniform(rng, -5, 5)
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(rng.IntN(k))
	}
	_, want := CrossEntropy(z, labels)
	got := make([]float32, n*k)
	for i0 := 0; i0 < n; i0 += 3 {
		i1 := min(n, i0+3)
		CrossEntropyRows(got[i0*k:i1*k], z.Data[i0*k:i1*k], labels[i0:i1], k, n)
	}
	for i, v := range want.Data {
		if math.Float32bits(v) != math.Float32bits(got[i]) {
			t.Fatalf("gradient %d: %g in chunks, %g for the batch", i, got[i], v)
		}
	}
}

// TestDistillRowsMatchesBatch checks that the distillation gradient
// computed in chunks of rows equals Distill's, bit for bit.
func TestDistillRowsMatchesBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	n, k := 7, 4
	s, a := tensor.New(n, k), tensor.New(n, k)
	s.RandUniform(rng, -5, 5)
	a.RandUniform(rng, -20, 20)
	_, want := Distill(s, a, 20)
	got := make([]float32, n*k)
	for i0 := 0; i0 < n; i0 += 3 {
		i1 := min(n, i0+3)
		DistillRows(got[i0*k:i1*k], s.Data[i0*k:i1*k], a.Data[i0*k:i1*k], k, n, 20)
	}
	for i, v := range want.Data {
		if math.Float32bits(v) != math.Float32bits(got[i]) {
			t.Fatalf("gradient %d: %g in chunks, %g for the batch", i, got[i], v)
		}
	}
}
