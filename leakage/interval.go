package leakage

import (
	"errors"
	"fmt"
	"math"
)

// Interval is a confidence interval [Lo, Hi].
type Interval struct {
	// Lo is the lower limit.
	Lo float64 `json:"lo"`
	// Hi is the upper limit.
	Hi float64 `json:"hi"`
}

// String formats the interval with two decimals, as in "[0.52, 0.71]".
func (i Interval) String() string { return fmt.Sprintf("[%.2f, %.2f]", i.Lo, i.Hi) }

// Contains reports whether Lo ≤ x ≤ Hi.
func (i Interval) Contains(x float64) bool { return i.Lo <= x && x <= i.Hi }

// Z95 is the standard normal quantile Φ⁻¹(0.975), the z of a two-sided 95 %
// interval.
const Z95 = 1.959963984540054

// Wilson returns the Wilson score interval (Wilson 1927) for k successes in
// n trials at the normal quantile z (Z95 for 95 %): the p with
// |k/n − p| ≤ z·√(p(1 − p)/n), which is
//
//	(2k + z² ∓ z·√(z² + 4k(n − k)/n)) / (2(n + z²)).
//
// The limits lie in [0, 1] and contain k/n; the lower one is exactly 0 when
// k = 0 and the upper one exactly 1 when k = n. Newcombe (1998, Statistics
// in Medicine 17:857) recommends it among seven intervals for a single
// proportion.
//
// Wilson does not fail: n ≤ 0 gives [0, 1] (no information), k outside
// [0, n] is clamped to it, z = 0 gives [k/n, k/n], and a z that is negative,
// NaN or infinite gives [0, 1].
func Wilson(k, n int, z float64) Interval {
	if n <= 0 || !(z >= 0) || math.IsInf(z, 0) {
		return Interval{Lo: 0, Hi: 1}
	}
	k = min(max(k, 0), n)
	fk, fn, z2 := float64(k), float64(n), z*z
	root := z * math.Sqrt(z2+4*fk*(fn-fk)/fn)
	den := 2 * (fn + z2)
	lo := (2*fk + z2 - root) / den
	hi := (2*fk + z2 + root) / den
	p := fk / fn
	// Round-off could put a limit a few ulps beyond 0, 1 or k/n.
	lo, hi = min(max(lo, 0), p), max(min(hi, 1), p)
	if k == 0 {
		lo = 0
	}
	if k == n {
		hi = 1
	}
	return Interval{Lo: lo, Hi: hi}
}

// PairedDifference compares two hit vectors on the same items (a[i] and b[i]
// are two models' results on item i): it returns d = mean(a) − mean(b) and
// Newcombe's hybrid score interval for the difference of paired proportions
// at the normal quantile z (Newcombe 1998, Statistics in Medicine 17:2635,
// method 10).
//
// With e items hit by both, f by a only, g by b only and h by neither
// (n = e + f + g + h), d = (f − g)/n; [l₁, u₁] and [l₂, u₂] are the Wilson
// intervals of p₁ = (e + f)/n and p₂ = (e + g)/n, and
//
//	Lo = d − √((p₁ − l₁)² − 2φ(p₁ − l₁)(u₂ − p₂) + (u₂ − p₂)²)
//	Hi = d + √((p₂ − l₂)² − 2φ(p₂ − l₂)(u₁ − p₁) + (u₁ − p₁)²)
//
// where φ estimates the correlation of the two results with the paper's
// correction: with A = eh − fg and P = (e + f)(g + h)(e + g)(f + h),
// φ = (A − n/2)/√P if A > n/2, 0 if 0 ≤ A ≤ n/2, A/√P if A < 0, and φ = 0
// whenever P = 0 (a margin of the 2×2 table is empty). The limits lie in
// [−1, 1] and contain d.
//
// It returns an error if the vectors are empty or of different lengths, or
// if z is negative, NaN or infinite.
func PairedDifference(a, b []bool, z float64) (d float64, ci Interval, err error) {
	if len(a) != len(b) {
		return 0, Interval{}, fmt.Errorf("leakage: paired difference: %d and %d results", len(a), len(b))
	}
	if len(a) == 0 {
		return 0, Interval{}, errors.New("leakage: paired difference: no results")
	}
	if !(z >= 0) || math.IsInf(z, 0) {
		return 0, Interval{}, fmt.Errorf("leakage: paired difference: normal quantile %v, want a finite z ≥ 0", z)
	}
	var e, f, g, h int
	for i, x := range a {
		switch {
		case x && b[i]:
			e++
		case x:
			f++
		case b[i]:
			g++
		default:
			h++
		}
	}
	d, ci = newcombePaired(e, f, g, h, z)
	return d, ci, nil
}

// newcombePaired is PairedDifference's interval from the counts of the
// paired 2×2 table: e both hit, f first only, g second only, h neither;
// e + f + g + h > 0.
func newcombePaired(e, f, g, h int, z float64) (float64, Interval) {
	n := float64(e + f + g + h)
	d := float64(f-g) / n
	p1, p2 := float64(e+f)/n, float64(e+g)/n
	w1, w2 := Wilson(e+f, e+f+g+h, z), Wilson(e+g, e+f+g+h, z)
	phi := newcombePhi(e, f, g, h)
	dl1, du1 := p1-w1.Lo, w1.Hi-p1
	dl2, du2 := p2-w2.Lo, w2.Hi-p2
	// |φ| ≤ 1, so each radicand is at least (x − y)² ≥ 0 but for round-off.
	lo := d - math.Sqrt(max(dl1*dl1-2*phi*dl1*du2+du2*du2, 0))
	hi := d + math.Sqrt(max(dl2*dl2-2*phi*dl2*du1+du1*du1, 0))
	return d, Interval{Lo: min(max(lo, -1), d), Hi: max(min(hi, 1), d)}
}

// newcombePhi is the corrected correlation estimate φ of Newcombe's method
// 10 (see PairedDifference).
func newcombePhi(e, f, g, h int) float64 {
	fe, ff, fg, fh := float64(e), float64(f), float64(g), float64(h)
	p := (fe + ff) * (fg + fh) * (fe + fg) * (ff + fh)
	if p == 0 {
		return 0
	}
	a := fe*fh - ff*fg
	half := (fe + ff + fg + fh) / 2
	switch {
	case a > half:
		return (a - half) / math.Sqrt(p)
	case a >= 0:
		return 0
	default:
		return a / math.Sqrt(p)
	}
}
