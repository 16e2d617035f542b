package leakage

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/privatesnn/privatesnn/safetensors"
	"github.com/privatesnn/privatesnn/tensor"
)

// relDiff returns |got − want| / max(|want|, floor).
func relDiff(got, want, floor float64) float64 {
	return math.Abs(got-want) / math.Max(math.Abs(want), floor)
}

func TestNewMomentsByHand(t *testing.T) {
	// Rows (1, 2), (3, 6), (5, 4): mean (3, 4); centred rows (−2, −2),
	// (0, 2), (2, 0); covariance [[8, 4], [4, 8]] / (3 − 1).
	m, err := NewMoments(tensor.FromData([]float32{1, 2, 3, 6, 5, 4}, 3, 2))
	if err != nil {
		t.Fatal(err)
	}
	if m.N != 3 || m.Dim() != 2 {
		t.Fatalf("N = %d, D = %d, want 3, 2", m.N, m.Dim())
	}
	if m.Mean[0] != 3 || m.Mean[1] != 4 {
		t.Errorf("mean %v, want [3 4]", m.Mean)
	}
	want := [2][2]float64{{4, 2}, {2, 4}}
	for i := range 2 {
		for j := range 2 {
			if got := m.Cov.At(i, j); got != want[i][j] {
				t.Errorf("cov[%d, %d] = %v, want %v", i, j, got, want[i][j])
			}
		}
	}
}

// TestNewMomentsNaive compares NewMoments with the textbook double loop
// Σ_n (x_ni − μ_i)(x_nj − μ_j) / (N − 1) on float32 data with a large offset
// (which a one-pass E[xxᵀ] − μμᵀ would get wrong).
func TestNewMomentsNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n, d = 37, 6
	x := tensor.New(n, d)
	for i := range x.Data {
		x.Data[i] = float32(1000 + rng.NormFloat64()*float64(1+i%d))
	}
	m, err := NewMoments(x)
	if err != nil {
		t.Fatal(err)
	}
	mean := make([]float64, d)
	for i := range n {
		for j := range d {
			mean[j] += float64(x.Data[i*d+j]) / n
		}
	}
	var worst float64
	for i := range d {
		worst = math.Max(worst, relDiff(m.Mean[i], mean[i], 1))
		for j := range d {
			var s float64
			for k := range n {
				s += (float64(x.Data[k*d+i]) - mean[i]) * (float64(x.Data[k*d+j]) - mean[j])
			}
			s /= n - 1
			worst = math.Max(worst, relDiff(m.Cov.At(i, j), s, 1))
		}
	}
	if worst > 1e-12 {
		t.Errorf("moments differ from the double loop by %g relative", worst)
	}
}

// sylvester returns the n×n Hadamard matrix of Sylvester's construction
// (n a power of 2): entries ±1, HᵀH = n·I, and every column but the first
// sums to zero.
func sylvester(n int) [][]float64 {
	h := [][]float64{{1}}
	for len(h) < n {
		m := len(h)
		next := make([][]float64, 2*m)
		for i := range next {
			next[i] = make([]float64, 2*m)
			for j := range next[i] {
				v := h[i%m][j%m]
				if i >= m && j >= m {
					v = -v
				}
				next[i][j] = v
			}
		}
		h = next
	}
	return h
}

// exactFeatures returns features [rep·n, D] whose sample moments are exactly
// μ and Σ = (rep·n)/(rep·n − 1)·AᵀA: rows μ + h_i·A where h_i is row i of
// the columns 1…D of an n×n Hadamard matrix, repeated rep times. The columns
// sum to zero and are orthogonal with squared norm rep·n, so the mean is μ
// and the scatter matrix rep·n·AᵀA. Entries of μ and A are small dyadic
// rationals so every feature is exact in float32. It returns the features
// and Σ.
func exactFeatures(n, rep int, mu []float64, a *mat.Dense) (*tensor.Tensor, *mat.SymDense) {
	d := len(mu)
	h := sylvester(n)
	x := tensor.New(rep*n, d)
	for r := range rep {
		for i := range n {
			for j := range d {
				v := mu[j]
				for k := range d {
					v += h[i][k+1] * a.At(k, j)
				}
				if float64(float32(v)) != v {
					panic("feature not exact in float32")
				}
				x.Data[(r*n+i)*d+j] = float32(v)
			}
		}
	}
	sigma := &mat.SymDense{}
	sigma.SymOuterK(float64(rep*n)/float64(rep*n-1), a.T())
	return x, sigma
}

// dyadic returns a random multiple of 1/8 in [−lim, lim].
func dyadic(rng *rand.Rand, lim int) float64 {
	return float64(rng.IntN(16*lim+1)-8*lim) / 8
}

// closedFormDiagonal is Σ_i (μ1_i − μ2_i)² + Σ_i (σ1_i + σ2_i − 2√(σ1_i σ2_i))
// for diagonal covariances σ1, σ2.
func closedFormDiagonal(mu1, mu2, s1, s2 []float64) float64 {
	var fd float64
	for i := range mu1 {
		fd += (mu1[i]-mu2[i])*(mu1[i]-mu2[i]) + s1[i] + s2[i] - 2*math.Sqrt(s1[i]*s2[i])
	}
	return fd
}

// closedFormGeneral evaluates the Fréchet distance with the trace term taken
// as Σ √λ over the eigenvalues λ of the non-symmetric product Σ1Σ2 (general
// eigensolver), a method independent of FrechetDistance's.
func closedFormGeneral(t *testing.T, mu1, mu2 []float64, s1, s2 *mat.SymDense) float64 {
	t.Helper()
	var p mat.Dense
	p.Mul(s1, s2)
	var eig mat.Eigen
	if !eig.Factorize(&p, mat.EigenNone) {
		t.Fatal("eigen factorisation failed")
	}
	var fd float64
	for i := range mu1 {
		fd += (mu1[i]-mu2[i])*(mu1[i]-mu2[i]) + s1.At(i, i) + s2.At(i, i)
	}
	for _, l := range eig.Values(nil) {
		if math.Abs(imag(l)) > 1e-9*math.Abs(real(l)) {
			t.Fatalf("eigenvalue %v of Σ1Σ2 is not real", l)
		}
		fd -= 2 * math.Sqrt(math.Max(real(l), 0))
	}
	return fd
}

func TestClosedFormDiagonal(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var worst float64
	for _, c := range []struct{ n, rep, d int }{{8, 1, 3}, {16, 3, 10}, {64, 2, 40}} {
		mu1, mu2 := make([]float64, c.d), make([]float64, c.d)
		a1, a2 := mat.NewDense(c.d, c.d, nil), mat.NewDense(c.d, c.d, nil)
		for i := range c.d {
			mu1[i], mu2[i] = dyadic(rng, 4), dyadic(rng, 4)
			a1.Set(i, i, float64(1+rng.IntN(24))/8)
			a2.Set(i, i, float64(1+rng.IntN(24))/8)
		}
		x, s1 := exactFeatures(c.n, c.rep, mu1, a1)
		y, s2 := exactFeatures(c.n, c.rep, mu2, a2)
		d1, d2 := make([]float64, c.d), make([]float64, c.d)
		for i := range c.d {
			d1[i], d2[i] = s1.At(i, i), s2.At(i, i)
		}
		want := closedFormDiagonal(mu1, mu2, d1, d2)
		got, err := FD(x, y)
		if err != nil {
			t.Fatal(err)
		}
		r := relDiff(got, want, 0)
		worst = math.Max(worst, r)
		if r > 1e-9 {
			t.Errorf("D=%d: FD %.17g, closed form %.17g (relative %g)", c.d, got, want, r)
		}
	}
	t.Logf("largest relative difference from the diagonal closed form: %.3g", worst)
}

func TestClosedFormGeneral(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var worst float64
	for _, c := range []struct{ n, rep, d int }{{8, 2, 5}, {32, 1, 20}, {128, 1, 64}} {
		mu1, mu2 := make([]float64, c.d), make([]float64, c.d)
		a1, a2 := mat.NewDense(c.d, c.d, nil), mat.NewDense(c.d, c.d, nil)
		for i := range c.d {
			mu1[i], mu2[i] = dyadic(rng, 4), dyadic(rng, 4)
			for j := range c.d {
				a1.Set(i, j, dyadic(rng, 1))
				a2.Set(i, j, dyadic(rng, 1))
			}
			// A strong diagonal keeps AᵀA well conditioned.
			a1.Set(i, i, a1.At(i, i)+4)
			a2.Set(i, i, a2.At(i, i)+3)
		}
		x, s1 := exactFeatures(c.n, c.rep, mu1, a1)
		y, s2 := exactFeatures(c.n, c.rep, mu2, a2)
		want := closedFormGeneral(t, mu1, mu2, s1, s2)
		got, err := FD(x, y)
		if err != nil {
			t.Fatal(err)
		}
		r := relDiff(got, want, 0)
		worst = math.Max(worst, r)
		if r > 1e-9 {
			t.Errorf("D=%d: FD %.17g, Σ√λ(Σ1Σ2) %.17g (relative %g)", c.d, got, want, r)
		}
		// The same on the exact moments, without going through features.
		direct, err := FrechetDistance(&Moments{N: c.n * c.rep, Mean: mu1, Cov: s1}, &Moments{N: c.n * c.rep, Mean: mu2, Cov: s2})
		if err != nil {
			t.Fatal(err)
		}
		r = relDiff(direct, want, 0)
		worst = math.Max(worst, r)
		if r > 1e-9 {
			t.Errorf("D=%d: FrechetDistance %.17g, Σ√λ(Σ1Σ2) %.17g (relative %g)", c.d, direct, want, r)
		}
	}
	t.Logf("largest relative difference from Σ√λ(Σ1Σ2): %.3g", worst)
}

// goldenCase is one entry of testdata/fd/fd_golden.json (scripts/fd_golden.py).
type goldenCase struct {
	D         int     `json:"d"`
	NX        int     `json:"n_x"`
	NY        int     `json:"n_y"`
	FD        float64 `json:"fd"`
	FDNuclear float64 `json:"fd_nuclear"`
	Offset    bool    `json:"offset"`
}

// pytorchFIDEps is the ε·I that pytorch-fid adds to both covariances inside
// the matrix square root when scipy's sqrtm of Σ1Σ2 is not finite.
const pytorchFIDEps = 1e-6

func TestGoldenNumPy(t *testing.T) {
	raw, err := os.ReadFile("../testdata/fd/fd_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases map[string]goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.ReadFile("../testdata/fd/fd_golden.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) *tensor.Tensor {
		g, ok := f.Get(name)
		if !ok {
			t.Fatalf("golden file lacks %s", name)
		}
		return tensor.FromData(g.Data, g.Shape...)
	}
	if len(doc.Cases) < 4 {
		t.Fatalf("%d golden cases, want 4", len(doc.Cases))
	}
	var worstSciPy, worstNuclear float64
	for name, c := range doc.Cases {
		x, y := get(name+".x"), get(name+".y")
		if !tensor.SameShape(x.Shape, []int{c.NX, c.D}) || !tensor.SameShape(y.Shape, []int{c.NY, c.D}) {
			t.Fatalf("%s: shapes %v, %v disagree with the JSON", name, x.Shape, y.Shape)
		}
		got, err := FD(x, y)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rn := relDiff(got, c.FDNuclear, 0)
		worstNuclear = math.Max(worstNuclear, rn)
		if rn > 1e-6 {
			t.Errorf("%s: FD %.17g, NumPy nuclear-norm form %.17g (relative %g)", name, got, c.FDNuclear, rn)
		}
		ref := got
		if c.Offset {
			// pytorch-fid took the square root of (Σ1 + εI)(Σ2 + εI) but
			// the traces of Σ1 and Σ2 without ε: its value is the distance
			// between the offset covariances minus 2·D·ε.
			mx, err := NewMoments(x)
			if err != nil {
				t.Fatal(err)
			}
			my, err := NewMoments(y)
			if err != nil {
				t.Fatal(err)
			}
			for i := range c.D {
				mx.Cov.SetSym(i, i, mx.Cov.At(i, i)+pytorchFIDEps)
				my.Cov.SetSym(i, i, my.Cov.At(i, i)+pytorchFIDEps)
			}
			off, err := FrechetDistance(mx, my)
			if err != nil {
				t.Fatal(err)
			}
			ref = off - 2*float64(c.D)*pytorchFIDEps
			t.Logf("%s: pytorch-fid needed its ε·I fallback, which moves the distance by %.3g relative", name, relDiff(c.FD, c.FDNuclear, 0))
		}
		rs := relDiff(ref, c.FD, 0)
		worstSciPy = math.Max(worstSciPy, rs)
		if rs > 1e-6 {
			t.Errorf("%s: FD %.17g, pytorch-fid way %.17g (relative %g)", name, ref, c.FD, rs)
		}
		t.Logf("%s: FD %.12g, relative difference %.3g from SciPy sqrtm, %.3g from the nuclear norm", name, got, rs, rn)
	}
	t.Logf("largest relative difference: %.3g from SciPy sqrtm, %.3g from the nuclear norm", worstSciPy, worstNuclear)
}

func randomFeatures(rng *rand.Rand, n, d int, shift float64) *tensor.Tensor {
	x := tensor.New(n, d)
	mix := make([]float64, d*d)
	for i := range mix {
		mix[i] = rng.NormFloat64() / math.Sqrt(float64(d))
	}
	z := make([]float64, d)
	for i := range n {
		for k := range z {
			z[k] = rng.NormFloat64()
		}
		for j := range d {
			v := shift + float64(j%3)
			for k := range d {
				v += mix[j*d+k] * z[k]
			}
			x.Data[i*d+j] = float32(v)
		}
	}
	return x
}

// scale returns Tr(Σ) of features x, the size of FD(x, ·) terms.
func scale(t *testing.T, x *tensor.Tensor) float64 {
	t.Helper()
	m, err := NewMoments(x)
	if err != nil {
		t.Fatal(err)
	}
	return trace(m.Cov)
}

func TestSelfAndSymmetry(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, c := range []struct{ n, d int }{{200, 16}, {500, 128}, {40, 64}, {3, 10}} {
		x := randomFeatures(rng, c.n, c.d, 0)
		y := randomFeatures(rng, c.n+7, c.d, 0.5)
		self, err := FD(x, x)
		if err != nil {
			t.Fatal(err)
		}
		s := scale(t, x)
		if self < 0 || self > 1e-9*s {
			t.Errorf("N=%d D=%d: FD(X, X) = %g, scale %g", c.n, c.d, self, s)
		}
		xy, err := FD(x, y)
		if err != nil {
			t.Fatal(err)
		}
		yx, err := FD(y, x)
		if err != nil {
			t.Fatal(err)
		}
		if r := relDiff(xy, yx, 0); r > 1e-9 {
			t.Errorf("N=%d D=%d: FD(X, Y) = %.17g, FD(Y, X) = %.17g (relative %g)", c.n, c.d, xy, yx, r)
		}
		t.Logf("N=%d D=%d: FD(X, X) = %.3g (scale %.3g), |FD(X,Y) − FD(Y,X)| relative %.3g", c.n, c.d, self, s, relDiff(xy, yx, 0))
	}
}

func TestZeroCovariance(t *testing.T) {
	// Constant features: Σ = 0, the distance is the squared mean difference
	// plus the other set's trace.
	x := tensor.FromData([]float32{1, 2, 1, 2, 1, 2}, 3, 2)
	y := tensor.FromData([]float32{0, 0, 2, 0}, 2, 2)
	// y: mean (1, 0), covariance [[2, 0], [0, 0]].
	got, err := FD(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if want := 4.0 + 2; math.Abs(got-want) > 1e-12 {
		t.Errorf("FD = %v, want %v", got, want)
	}
	got, err = FD(y, x)
	if err != nil {
		t.Fatal(err)
	}
	if want := 4.0 + 2; math.Abs(got-want) > 1e-12 {
		t.Errorf("reversed: FD = %v, want %v", got, want)
	}
}

func TestErrors(t *testing.T) {
	good := tensor.FromData([]float32{1, 2, 3, 4, 5, 7}, 3, 2)
	nan := tensor.FromData([]float32{1, 2, float32(math.NaN()), 4, 5, 7}, 3, 2)
	inf := tensor.FromData([]float32{1, 2, 3, float32(math.Inf(-1)), 5, 7}, 3, 2)
	for _, c := range []struct {
		name string
		x, y *tensor.Tensor
		want string
	}{
		{"dimension", good, tensor.FromData([]float32{1, 2, 3, 4, 5, 6}, 2, 3), "dimensions 2 and 3 differ"},
		{"one sample", good, tensor.FromData([]float32{1, 2}, 1, 2), "at least 2"},
		{"no samples", tensor.New(0, 2), good, "at least 2"},
		{"NaN", good, nan, "non-finite"},
		{"Inf", inf, good, "non-finite"},
		{"nil", nil, good, "nil tensor"},
		{"rank", good, tensor.New(3, 2, 1), "want [N, D]"},
		{"zero D", tensor.New(3, 0), good, "D ≥ 1"},
		{"data length", good, &tensor.Tensor{Shape: []int{3, 2}, Data: make([]float32, 5)}, "5 values"},
	} {
		_, err := FD(c.x, c.y)
		if err == nil || !strings.HasPrefix(err.Error(), "leakage: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}

	m, err := NewMoments(good)
	if err != nil {
		t.Fatal(err)
	}
	notPSD := &Moments{N: 3, Mean: []float64{0, 0}, Cov: mat.NewSymDense(2, []float64{1, 0, 0, -1})}
	notPSD2 := &Moments{N: 3, Mean: []float64{0, 0}, Cov: mat.NewSymDense(2, []float64{1, 2, 2, 1})}
	nanMean := &Moments{N: 3, Mean: []float64{math.NaN(), 0}, Cov: mat.NewSymDense(2, nil)}
	nanCov := &Moments{N: 3, Mean: []float64{0, 0}, Cov: mat.NewSymDense(2, []float64{1, math.Inf(1), math.Inf(1), 1})}
	short := &Moments{N: 3, Mean: []float64{0}, Cov: mat.NewSymDense(2, nil)}
	for _, c := range []struct {
		name string
		a, b *Moments
		want string
	}{
		{"negative variance", notPSD, m, "negative variance"},
		{"not PSD second", m, notPSD, "not positive semi-definite"},
		{"indefinite second", m, notPSD2, "not positive semi-definite"},
		{"indefinite first", notPSD2, m, "not positive semi-definite"},
		{"NaN mean", m, nanMean, "non-finite mean"},
		{"Inf cov", nanCov, m, "non-finite covariance"},
		{"mean length", m, short, "for a mean of length 1"},
		{"nil", nil, m, "nil moments"},
		{"nil cov", m, &Moments{Mean: []float64{0, 0}}, "nil covariance"},
	} {
		_, err := FrechetDistance(c.a, c.b)
		if err == nil || !strings.HasPrefix(err.Error(), "leakage: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func benchmarkFD(b *testing.B, d int) {
	rng := rand.New(rand.NewPCG(11, 12))
	mx, err := NewMoments(randomFeatures(rng, 2*d, d, 0))
	if err != nil {
		b.Fatal(err)
	}
	my, err := NewMoments(randomFeatures(rng, 3*d, d, 0.5))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := FrechetDistance(mx, my); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFrechetDistance128(b *testing.B) { benchmarkFD(b, 128) }
func BenchmarkFrechetDistance256(b *testing.B) { benchmarkFD(b, 256) }
func BenchmarkFrechetDistance512(b *testing.B) { benchmarkFD(b, 512) }
