package leakage

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/privatesnn/privatesnn/tensor"
)

// Moments are the sample mean and covariance of a feature set, in float64.
type Moments struct {
	// N is the number of feature vectors the moments were computed from.
	N int
	// Mean is the per-dimension mean, of length D.
	Mean []float64
	// Cov is the D×D unbiased sample covariance Σ_n (x_n − μ)(x_n − μ)ᵀ / (N − 1),
	// the estimate numpy.cov(x, rowvar=False) returns.
	Cov *mat.SymDense
}

// Dim returns the feature dimension D.
func (m *Moments) Dim() int { return len(m.Mean) }

// NewMoments returns the moments of features [N, D] (one feature vector per
// row). The float32 values are converted to float64 before any arithmetic;
// the mean is subtracted before the covariance is accumulated (two passes).
// It returns an error if features is not a consistent 2-D tensor, if N < 2
// (the unbiased covariance needs two samples), if D < 1 or if a value is NaN
// or infinite.
func NewMoments(features *tensor.Tensor) (*Moments, error) {
	m, err := moments(features)
	if err != nil {
		return nil, fmt.Errorf("leakage: features: %w", err)
	}
	return m, nil
}

// moments is NewMoments with errors that do not name the package.
func moments(features *tensor.Tensor) (*Moments, error) {
	n, d, err := matrixShape(features)
	if err != nil {
		return nil, err
	}
	if n < 2 {
		return nil, fmt.Errorf("%d vectors, the covariance needs at least 2", n)
	}
	mean := make([]float64, d)
	for i := range n {
		row := features.Data[i*d : (i+1)*d]
		for j, v := range row {
			f := float64(v)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("non-finite value %v at [%d, %d]", v, i, j)
			}
			mean[j] += f
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	centered := make([]float64, n*d)
	for i := range n {
		row := features.Data[i*d : (i+1)*d]
		out := centered[i*d : (i+1)*d]
		for j, v := range row {
			out[j] = float64(v) - mean[j]
		}
	}
	cov := &mat.SymDense{}
	cov.SymOuterK(1/float64(n-1), mat.NewDense(n, d, centered).T())
	return &Moments{N: n, Mean: mean, Cov: cov}, nil
}

// matrixShape checks that t is a non-nil 2-D tensor [N, D] with D ≥ 1 whose
// data length matches its shape, and returns N and D.
func matrixShape(t *tensor.Tensor) (n, d int, err error) {
	if t == nil {
		return 0, 0, errors.New("nil tensor")
	}
	if len(t.Shape) != 2 {
		return 0, 0, fmt.Errorf("shape %v, want [N, D]", t.Shape)
	}
	n, d = t.Shape[0], t.Shape[1]
	if n < 0 || d < 1 {
		return 0, 0, fmt.Errorf("shape %v, want N ≥ 0 and D ≥ 1", t.Shape)
	}
	if len(t.Data) != n*d {
		return 0, 0, fmt.Errorf("%d values for shape %v", len(t.Data), t.Shape)
	}
	return n, d, nil
}

// validate checks that m is usable by FrechetDistance.
func (m *Moments) validate() error {
	if m == nil {
		return errors.New("nil moments")
	}
	d := len(m.Mean)
	if d == 0 {
		return errors.New("empty mean")
	}
	if m.Cov == nil {
		return errors.New("nil covariance")
	}
	if c := m.Cov.SymmetricDim(); c != d {
		return fmt.Errorf("covariance is %d×%d for a mean of length %d", c, c, d)
	}
	for i, v := range m.Mean {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("non-finite mean %v at %d", v, i)
		}
	}
	for i := range d {
		for j := i; j < d; j++ {
			if v := m.Cov.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("non-finite covariance %v at [%d, %d]", v, i, j)
			}
		}
		if v := m.Cov.At(i, i); v < 0 {
			return fmt.Errorf("covariance is not positive semi-definite: negative variance %g at %d", v, i)
		}
	}
	return nil
}

// eigenZero is the factor of n·ε·λ_max at or below which an eigenvalue of an
// n×n positive semi-definite matrix counts as zero (see FrechetDistance).
const eigenZero = 1

// negativeTol is the largest negative eigenvalue, relative to λ_max, that
// FrechetDistance attributes to round-off (and counts as zero); a more
// negative one means the matrix is not positive semi-definite.
const negativeTol = 1e-8

// FrechetDistance returns the Fréchet distance between the Gaussians with
// the moments a and b,
//
//	‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a^½ Σ_b Σ_a^½)^½),
//
// in float64. The trace term equals Σ √λ over the eigenvalues λ of Σ_a Σ_b,
// that is Tr((Σ_a Σ_b)^½): Σ_a Σ_b = Σ_a^½ (Σ_a^½ Σ_b) has the same non-zero
// eigenvalues as (Σ_a^½ Σ_b) Σ_a^½.
//
// It is computed with symmetric eigendecompositions only: Σ_a = V Λ Vᵀ and
// W = V Λ^½, keeping only the columns of non-zero eigenvalues. Then
// M = Wᵀ Σ_b W (symmetrised as (M + Mᵀ)/2) is the part of
// Vᵀ (Σ_a^½ Σ_b Σ_a^½) V on those columns, whose other rows and columns
// vanish, so M has the non-zero eigenvalues μ_i of Σ_a^½ Σ_b Σ_a^½ and the
// trace term is Σ_i √μ_i. In both decompositions, eigenvalues of an n×n
// matrix at most n·ε·λ_max (ε the float64 epsilon, λ_max the largest
// eigenvalue) count as zero: the symmetric eigensolver's absolute error is
// of that order, and the square roots of such round-off would add terms of
// order √ε·√λ_max each to the trace.
// This needs no complex arithmetic and works for singular covariances (fewer
// samples than dimensions, or features constant over a set).
//
// The distance of exact arithmetic is ≥ 0. A negative total whose magnitude
// is below √ε times Tr(Σ_a) + Tr(Σ_b) + ‖μ_a − μ_b‖² is round-off of a
// distance near zero (for example between a set and itself) and is returned
// as 0.
//
// Covariances must be positive semi-definite, as those of NewMoments are by
// construction. For moments built otherwise, FrechetDistance reports an error
// for a negative variance, an eigenvalue of Σ_a or of M below −1e-8·λ_max,
// or a total below the round-off margin. When Σ_a is non-singular, M is
// congruent to Σ_b and so shows any negative eigenvalue of Σ_b; Σ_b on the
// null space of Σ_a is not examined beyond its diagonal.
//
// It returns an error if the dimensions differ, a mean or covariance is
// missing, inconsistent or not finite, or an eigendecomposition fails. The
// result is never NaN.
func FrechetDistance(a, b *Moments) (float64, error) {
	fd, err := frechet(a, b)
	if err != nil {
		return 0, fmt.Errorf("leakage: Fréchet distance: %w", err)
	}
	return fd, nil
}

// frechet is FrechetDistance with errors that do not name the package.
func frechet(a, b *Moments) (float64, error) {
	if err := a.validate(); err != nil {
		return 0, fmt.Errorf("first moments: %w", err)
	}
	if err := b.validate(); err != nil {
		return 0, fmt.Errorf("second moments: %w", err)
	}
	d := a.Dim()
	if b.Dim() != d {
		return 0, fmt.Errorf("feature dimensions %d and %d differ", d, b.Dim())
	}
	w, err := sqrtFactor(a.Cov)
	if err != nil {
		return 0, fmt.Errorf("first covariance: %w", err)
	}
	return frechetFactored(a, w, b)
}

// frechetFactored is frechet for validated moments of equal dimension, given
// W = sqrtFactor(a.Cov).
func frechetFactored(a *Moments, w *mat.Dense, b *Moments) (float64, error) {
	var diff2 float64
	for i := range a.Dim() {
		t := a.Mean[i] - b.Mean[i]
		diff2 += t * t
	}
	traceA, traceB := trace(a.Cov), trace(b.Cov)
	var traceSqrt float64
	if _, r := w.Dims(); r > 0 {
		var bw mat.Dense
		bw.Mul(b.Cov, w)
		var m mat.Dense
		m.Mul(w.T(), &bw)
		sym := mat.NewSymDense(r, nil)
		for i := range r {
			for j := i; j < r; j++ {
				sym.SetSym(i, j, (m.At(i, j)+m.At(j, i))/2)
			}
		}
		var err error
		if traceSqrt, err = sqrtTrace(sym); err != nil {
			return 0, err
		}
	}
	return frechetTotal(diff2, traceA, traceB, traceSqrt)
}

// sqrtTrace returns Σ √μ over the eigenvalues μ of M = Wᵀ Σ_b W above the
// zero threshold, the trace term of FrechetDistance.
func sqrtTrace(m *mat.SymDense) (float64, error) {
	var es mat.EigenSym
	if !es.Factorize(m, false) {
		return 0, errors.New("eigendecomposition of Σ_a^½ Σ_b Σ_a^½ failed")
	}
	vals := es.RawValues()
	zero, err := zeroThreshold(vals, "Σ_a^½ Σ_b Σ_a^½ (second covariance)")
	if err != nil {
		return 0, err
	}
	var traceSqrt float64
	for _, v := range vals {
		if v > zero {
			traceSqrt += math.Sqrt(v)
		}
	}
	return traceSqrt, nil
}

// frechetTotal returns diff2 + traceA + traceB − 2·traceSqrt, with a
// negative total within the round-off margin returned as 0 (see
// FrechetDistance).
func frechetTotal(diff2, traceA, traceB, traceSqrt float64) (float64, error) {
	total := diff2 + traceA + traceB - 2*traceSqrt
	if math.IsNaN(total) || math.IsInf(total, 0) {
		return 0, fmt.Errorf("non-finite result %v", total)
	}
	if total < 0 {
		scale := diff2 + traceA + traceB
		if -total > math.Sqrt(epsilon)*scale {
			return 0, fmt.Errorf("negative result %g (scale %g): a covariance is not positive semi-definite", total, scale)
		}
		total = 0
	}
	return total, nil
}

// epsilon is the float64 machine epsilon 2⁻⁵².
const epsilon = 0x1p-52

// trace returns the sum of the diagonal of s.
func trace(s *mat.SymDense) float64 {
	var t float64
	for i := range s.SymmetricDim() {
		t += s.At(i, i)
	}
	return t
}

// zeroThreshold returns the value at or below which the eigenvalues vals
// (ascending) of an n×n positive semi-definite matrix count as zero,
// eigenZero·n·ε·λ_max with λ_max = max(vals[n−1], 0), or an error if the
// smallest is below −negativeTol·λ_max and so not round-off.
func zeroThreshold(vals []float64, what string) (float64, error) {
	maxv := vals[len(vals)-1]
	if maxv < 0 {
		maxv = 0
	}
	if vals[0] < -negativeTol*maxv {
		return 0, fmt.Errorf("%s is not positive semi-definite: eigenvalue %g, largest %g", what, vals[0], maxv)
	}
	return eigenZero * float64(len(vals)) * epsilon * maxv, nil
}

// sqrtFactor returns W = V Λ^½ for the eigendecomposition s = V Λ Vᵀ, keeping
// only the columns whose eigenvalue exceeds the zero threshold; W Wᵀ = s up to
// round-off and W Vᵀ = s^½. W has zero columns when s is (numerically) zero.
func sqrtFactor(s *mat.SymDense) (*mat.Dense, error) {
	d := s.SymmetricDim()
	var es mat.EigenSym
	if !es.Factorize(s, true) {
		return nil, errors.New("eigendecomposition failed")
	}
	vals := es.RawValues()
	zero, err := zeroThreshold(vals, "covariance")
	if err != nil {
		return nil, err
	}
	var keep []int
	for i, v := range vals {
		if v > zero {
			keep = append(keep, i)
		}
	}
	w := &mat.Dense{}
	if len(keep) == 0 {
		return w, nil
	}
	q := es.RawQ()
	w.ReuseAs(d, len(keep))
	for c, k := range keep {
		root := math.Sqrt(vals[k])
		for i := range d {
			w.Set(i, c, q.At(i, k)*root)
		}
	}
	return w, nil
}

// FD returns the Fréchet distance between the feature sets x [N_x, D] and
// y [N_y, D], FrechetDistance(NewMoments(x), NewMoments(y)).
func FD(x, y *tensor.Tensor) (float64, error) {
	mx, err := moments(x)
	if err != nil {
		return 0, fmt.Errorf("leakage: FD: first features: %w", err)
	}
	my, err := moments(y)
	if err != nil {
		return 0, fmt.Errorf("leakage: FD: second features: %w", err)
	}
	fd, err := frechet(mx, my)
	if err != nil {
		return 0, fmt.Errorf("leakage: FD: %w", err)
	}
	return fd, nil
}
