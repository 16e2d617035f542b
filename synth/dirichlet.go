package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// logGamma returns log X for X ~ Gamma(alpha, 1), alpha > 0, with the
// Marsaglia–Tsang (2000) squeeze method. For alpha < 1 it uses their boost
// X = Y · U^(1/alpha) with Y ~ Gamma(alpha+1), computed as
// log Y + log(U)/alpha: for small alpha the product underflows float64
// (U^(1/alpha) with alpha = 1e-3 is below 1e-300 half the time), the
// logarithm does not.
func logGamma(rng *rand.Rand, alpha float64) float64 {
	if alpha < 1 {
		u := rng.Float64()
		for u == 0 { // Float64 is in [0, 1); log(0) would be −∞
			u = rng.Float64()
		}
		return logGamma(rng, alpha+1) + math.Log(u)/alpha
	}
	d := alpha - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		x2 := x * x
		if u < 1-0.0331*x2*x2 || (u > 0 && math.Log(u) < 0.5*x2+d*(1-v+math.Log(v))) {
			return math.Log(d * v)
		}
	}
}

// Gamma draws X ~ Gamma(alpha, 1) (shape alpha, unit scale) from rng. It
// returns 0 for alpha = 0 (the degenerate limit) and panics for a negative
// or non-finite alpha, a programmer error.
func Gamma(rng *rand.Rand, alpha float64) float64 {
	if !(alpha >= 0) || math.IsInf(alpha, 0) {
		panic(fmt.Sprintf("synth: Gamma shape %g", alpha))
	}
	if alpha == 0 {
		return 0
	}
	return math.Exp(logGamma(rng, alpha))
}

// Dirichlet writes one draw y ~ Dir(alpha) into dst (len(dst) = len(alpha))
// by normalising independent Gamma(alpha_k) draws.
//
// A zero concentration is allowed and gives y_k = 0 exactly: the
// Gamma(alpha → 0) draw tends to 0, which is what the reference's PyTorch
// 1.5 effectively computes. This is the choice
// recorded in manifests as ZeroConcentration; the alternative, adding
// ε = 1e-4 to every concentration as ZSKD does, is not used. At least one
// concentration must be positive; every one must be finite and
// non-negative. The draws are normalised in log space, so tiny
// concentrations (whose Gamma draws underflow float64) still give a valid
// probability vector. rng is used for the positive entries only, in order.
func Dirichlet(rng *rand.Rand, alpha, dst []float64) error {
	if len(dst) != len(alpha) {
		return fmt.Errorf("synth: Dirichlet with %d concentrations into %d values", len(alpha), len(dst))
	}
	positive := false
	for k, a := range alpha {
		if !(a >= 0) || math.IsInf(a, 0) {
			return fmt.Errorf("synth: Dirichlet concentration %d is %g, want finite and non-negative", k, a)
		}
		positive = positive || a > 0
	}
	if !positive {
		return fmt.Errorf("synth: Dirichlet needs a positive concentration, all %d are zero", len(alpha))
	}
	top := math.Inf(-1)
	for k, a := range alpha {
		if a == 0 {
			dst[k] = math.Inf(-1)
			continue
		}
		dst[k] = logGamma(rng, a)
		top = max(top, dst[k])
	}
	var sum float64
	for k, l := range dst {
		dst[k] = math.Exp(l - top) // exp(−∞) = 0 for zero concentrations
		sum += dst[k]
	}
	for k := range dst {
		dst[k] /= sum
	}
	return nil
}
