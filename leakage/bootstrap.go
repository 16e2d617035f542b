package leakage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/privatesnn/privatesnn/tensor"
)

// MaxBootstrap is the largest number of bootstrap resamples ScoreImagesWith
// accepts.
const MaxBootstrap = 10000

// ScoreOptions are the options of ScoreImagesWith.
type ScoreOptions struct {
	// Bootstrap is the number of bootstrap resamples of the images for the
	// interval on FD, in [0, MaxBootstrap]; 0 computes no interval.
	Bootstrap int
	// Rand draws the resamples; it is needed when Bootstrap > 0.
	Rand *rand.Rand
}

// validate checks the options before any work.
func (o ScoreOptions) validate() error {
	if o.Bootstrap < 0 || o.Bootstrap > MaxBootstrap {
		return fmt.Errorf("%d bootstrap resamples, want 0 to %d", o.Bootstrap, MaxBootstrap)
	}
	if o.Bootstrap > 0 && o.Rand == nil {
		return errors.New("bootstrap without a random source (nil ScoreOptions.Rand)")
	}
	return nil
}

// Bootstrap percentiles of the 95 % interval.
const (
	lowerPercentile = 0.025
	upperPercentile = 0.975
)

// bootstrapFD returns the bias-shifted percentile bootstrap interval of the
// Fréchet distance fd between ref and the moments m of features [N, D]:
// the 2.5 and 97.5 percentiles of the resamples' distances, each minus the
// bootstrap estimate of the bias, mean(resampled) − fd, and clamped at 0.
// The shift matters: the distance of a finite sample to fixed moments is
// biased upward (its covariance term does not average out), and a
// resample, which repeats about a third of its images, more so, so the
// plain percentiles can lie wholly above fd. frechet(ref, m) has already
// succeeded.
func bootstrapFD(ctx context.Context, ref *Moments, features *tensor.Tensor, m *Moments, fd float64, o ScoreOptions) (Interval, error) {
	s, err := newResampler(ref, features, m)
	if err != nil {
		return Interval{}, err
	}
	fds := make([]float64, o.Bootstrap)
	for b := range fds {
		if err := ctx.Err(); err != nil {
			return Interval{}, err
		}
		s.draw(o.Rand)
		if fds[b], err = s.distance(); err != nil {
			return Interval{}, fmt.Errorf("resample %d of %d: %w", b+1, o.Bootstrap, err)
		}
	}
	slices.Sort(fds)
	var mean float64
	for _, v := range fds {
		mean += v
	}
	bias := mean/float64(len(fds)) - fd
	return Interval{Lo: max(0, percentile(fds, lowerPercentile)-bias), Hi: max(0, percentile(fds, upperPercentile)-bias)}, nil
}

// percentile returns the p-quantile of sorted (non-empty), interpolating
// linearly between the order statistics at (len − 1)·p (NumPy's default).
func percentile(sorted []float64, p float64) float64 {
	h := float64(len(sorted)-1) * p
	i := int(math.Floor(h))
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (h-float64(i))*(sorted[i+1]-sorted[i])
}

// resampler computes the Fréchet distance between fixed reference moments
// and the moments of a resample of N feature rows given as a count vector
// (row i drawn counts[i] times), without copying the rows.
//
// With x̃_i = x_i − x̄ (x̄ the full-sample mean), weights w_i summing to N
// and δ = Σ w_i x̃_i / N, the resample's mean is x̄ + δ and its covariance
// Σ_w = Σ w_i (x̃_i − δ)(x̃_i − δ)ᵀ / (N − 1). With W = sqrtFactor(Σ_ref)
// (computed once, D×r) and y_i = Wᵀ x̃_i (projected once), the matrix of
// FrechetDistance is Wᵀ Σ_w W = ZᵀZ with the rows
// z_i = √(w_i/(N − 1)) (y_i − η), η = Σ w_i y_i / N, over the m distinct
// rows drawn. Its non-zero eigenvalues are those of the m×m Gram matrix
// ZZᵀ, whose entries follow from the Gram matrix K = YYᵀ of all rows
// (computed once): (y_i − η)·(y_j − η) = K_ij − a_i − a_j + c with
// a_i = Σ_k w_k K_ik / N and c = Σ_i w_i a_i / N. Each resample therefore
// needs one symmetric eigenvalue problem of size min(m, r) (m ≈ 0.63 N)
// and no product with D×D matrices.
type resampler struct {
	n, d, r  int
	centered []float64     // x̃, N×D
	y        []float64     // Wᵀx̃ per row, N×r
	gram     *mat.SymDense // K = YYᵀ, N×N; nil when N > maxGramRows
	shift    []float64     // μ_ref − x̄, D
	traceRef float64

	counts []int     // the resample
	rows   []int     // rows with counts > 0
	delta  []float64 // δ, D
	eta    []float64 // η, r
	a      []float64 // a_i per drawn row
	z      []float64 // z_i per drawn row, up to N×r
	mbuf   []float64 // storage of ZᵀZ or ZZᵀ
}

// maxGramRows is the largest N for which the resampler keeps the N×N Gram
// matrix K (8·N² bytes, 32 MiB at the limit).
const maxGramRows = 2048

// newResampler prepares the resampling of features with full-sample moments
// m against ref.
func newResampler(ref *Moments, features *tensor.Tensor, m *Moments) (*resampler, error) {
	n, d := features.Shape[0], features.Shape[1]
	w, err := sqrtFactor(ref.Cov)
	if err != nil {
		return nil, fmt.Errorf("reference covariance: %w", err)
	}
	_, r := w.Dims()
	s := &resampler{
		n: n, d: d, r: r,
		centered: make([]float64, n*d), shift: make([]float64, d), traceRef: trace(ref.Cov),
		counts: make([]int, n), delta: make([]float64, d), eta: make([]float64, r), z: make([]float64, n*r),
	}
	for i := range n {
		for j, v := range features.Data[i*d : (i+1)*d] {
			s.centered[i*d+j] = float64(v) - m.Mean[j]
		}
	}
	for j := range d {
		s.shift[j] = ref.Mean[j] - m.Mean[j]
	}
	if r > 0 {
		s.y = make([]float64, n*r)
		y := mat.NewDense(n, r, s.y)
		y.Mul(mat.NewDense(n, d, s.centered), w)
		if n <= maxGramRows {
			s.gram = mat.NewSymDense(n, nil)
			s.gram.SymOuterK(1, y)
			s.a = make([]float64, n)
		}
	}
	return s, nil
}

// draw sets the counts of a resample of N rows drawn uniformly with
// replacement with rng.
func (s *resampler) draw(rng *rand.Rand) {
	clear(s.counts)
	for range s.n {
		s.counts[rng.IntN(s.n)]++
	}
}

// distance returns the Fréchet distance between the reference and the
// moments of the current resample.
func (s *resampler) distance() (float64, error) {
	s.rows = s.rows[:0]
	for i, c := range s.counts {
		if c > 0 {
			s.rows = append(s.rows, i)
		}
	}
	// A resample that draws one image N times has a zero covariance: its
	// distance is still defined (‖μ_ref − x‖² + Tr Σ_ref).
	diff2, traceW := s.meanAndTrace()
	var traceSqrt float64
	if s.r > 0 && len(s.rows) > 1 {
		var err error
		if traceSqrt, err = sqrtTrace(s.projected()); err != nil {
			return 0, fmt.Errorf("resample covariance: %w", err)
		}
	}
	return frechetTotal(diff2, s.traceRef, traceW, traceSqrt)
}

// meanAndTrace returns ‖μ_ref − (x̄ + δ)‖² and Tr Σ_w for the current
// resample, setting δ.
func (s *resampler) meanAndTrace() (diff2, traceW float64) {
	d, nf := s.d, float64(s.n)
	clear(s.delta)
	for _, i := range s.rows {
		w := float64(s.counts[i])
		for j, v := range s.centered[i*d : (i+1)*d] {
			s.delta[j] += w * v
		}
	}
	for j := range s.delta {
		s.delta[j] /= nf
		t := s.shift[j] - s.delta[j]
		diff2 += t * t
	}
	for _, i := range s.rows {
		var ss float64
		for j, v := range s.centered[i*d : (i+1)*d] {
			t := v - s.delta[j]
			ss += t * t
		}
		traceW += float64(s.counts[i]) * ss
	}
	return diff2, traceW / (nf - 1)
}

// projected returns ZᵀZ = Wᵀ Σ_w W or, when it is smaller and K is kept,
// ZZᵀ, for the current resample (r > 0).
func (s *resampler) projected() *mat.SymDense {
	if s.gram != nil && len(s.rows) < s.r {
		return s.projectedGram()
	}
	r, nf := s.r, float64(s.n)
	clear(s.eta)
	for _, i := range s.rows {
		w := float64(s.counts[i])
		for k, v := range s.y[i*r : (i+1)*r] {
			s.eta[k] += w * v
		}
	}
	for k := range s.eta {
		s.eta[k] /= nf
	}
	for c, i := range s.rows {
		root := math.Sqrt(float64(s.counts[i]))
		out := s.z[c*r : (c+1)*r]
		for k, v := range s.y[i*r : (i+1)*r] {
			out[k] = root * (v - s.eta[k])
		}
	}
	z := mat.NewDense(len(s.rows), r, s.z[:len(s.rows)*r])
	g := s.symmetric(r)
	g.SymOuterK(1/(nf-1), z.T())
	return g
}

// projectedGram returns the Gram matrix ZZᵀ of the current resample's
// distinct rows from K.
func (s *resampler) projectedGram() *mat.SymDense {
	nf := float64(s.n)
	k := s.gram.RawSymmetric() // upper triangle
	at := func(i, j int) float64 {
		if i > j {
			i, j = j, i
		}
		return k.Data[i*k.Stride+j]
	}
	var c float64
	for p, i := range s.rows {
		var ai float64
		for _, j := range s.rows {
			ai += float64(s.counts[j]) * at(i, j)
		}
		s.a[p] = ai / nf
		c += float64(s.counts[i]) * s.a[p]
	}
	c /= nf
	m := len(s.rows)
	g := s.symmetric(m)
	scale := 1 / (nf - 1)
	for p, i := range s.rows {
		wi := float64(s.counts[i])
		for q := p; q < m; q++ {
			j := s.rows[q]
			v := at(i, j) - s.a[p] - s.a[q] + c
			g.SetSym(p, q, math.Sqrt(wi*float64(s.counts[j]))*v*scale)
		}
	}
	return g
}

// symmetric returns an m×m symmetric matrix on the resampler's storage.
func (s *resampler) symmetric(m int) *mat.SymDense {
	if cap(s.mbuf) < m*m {
		s.mbuf = make([]float64, m*m)
	}
	return mat.NewSymDense(m, s.mbuf[:m*m])
}
