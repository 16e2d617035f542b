package snn

import (
	"math"
	"testing"
)

// TestSurrogateDerivative checks Surrogate.Derivative against the formulas,
// evaluated in float64, for each kind at a few membranes and thresholds:
// below 0, 0, inside the support, at θ (the peak γ/θ), at 2θ and beyond.
func TestSurrogateDerivative(t *testing.T) {
	formula := map[SurrogateKind]func(g, k, u, th float64) float64{
		Triangle: func(g, _, u, th float64) float64 { return g / th * math.Max(0, 1-math.Abs(u/th-1)) },
		FastSigmoid: func(g, k, u, th float64) float64 {
			d := 1 + k*math.Abs(u/th-1)
			return g / th / (d * d)
		},
		Atan: func(g, k, u, th float64) float64 {
			a := math.Pi / 2 * k * (u/th - 1)
			return g / th / (1 + a*a)
		},
	}
	surrogates := []Surrogate{DefaultSurrogate(), NewSurrogate(FastSigmoid), NewSurrogate(Atan),
		{Kind: Triangle, Gamma: 1}, {Kind: FastSigmoid, Gamma: 0.5, Slope: 1}, {Kind: Atan, Gamma: 2, Slope: 0.25}}
	for _, s := range surrogates {
		if err := s.Validate(); err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		for _, th := range []float32{0.5, 1, 1.25} {
			for _, f := range []float32{-0.75, 0, 0.3, 1, 1.4, 2, 3} { // u = f·θ
				u := f * th
				got := s.Derivative(u, th)
				want := formula[s.Kind](s.Gamma, s.Slope, float64(u), float64(th))
				if math.Abs(float64(got)-want) > 1e-6*s.Gamma/float64(th) {
					t.Errorf("%v γ=%g k=%g: ∂o/∂u(u=%g, θ=%g) = %g, want %g", s.Kind, s.Gamma, s.Slope, u, th, got, want)
				}
			}
			if got, want := s.Derivative(th, th), float32(s.Gamma)/th; got != want {
				t.Errorf("%v: peak at u = θ = %g is %g, want γ/θ = %g", s.Kind, th, got, want)
			}
		}
	}
	// The triangle vanishes outside (0, 2θ); the other two stay positive.
	tri := DefaultSurrogate()
	for _, u := range []float32{-1, 0, 2, 5} {
		if d := tri.Derivative(u, 1); d != 0 {
			t.Errorf("triangle at u = %g, θ = 1: %g, want 0", u, d)
		}
	}
	for _, k := range []SurrogateKind{FastSigmoid, Atan} {
		if d := NewSurrogate(k).Derivative(10, 1); !(d > 0) {
			t.Errorf("%v at u = 10θ: %g, want > 0", k, d)
		}
	}
}

// TestSurrogateRejects checks that Validate, UnmarshalText and MarshalText
// refuse bad surrogates.
func TestSurrogateRejects(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, s := range []Surrogate{
		{Kind: Atan + 1, Gamma: 0.3, Slope: 1},
		{Kind: 255, Gamma: 0.3},
		{Kind: Triangle, Gamma: 0},
		{Kind: Triangle, Gamma: -0.3},
		{Kind: Triangle, Gamma: nan},
		{Kind: Triangle, Gamma: inf},
		{Kind: FastSigmoid, Gamma: 0.3, Slope: 0},
		{Kind: FastSigmoid, Gamma: 0.3, Slope: -5},
		{Kind: FastSigmoid, Gamma: 0.3, Slope: nan},
		{Kind: Atan, Gamma: 0.3, Slope: inf},
		{Kind: Atan, Gamma: 0.3},
		{}, // the zero value: γ = 0
	} {
		if err := s.Validate(); err == nil {
			t.Errorf("Validate accepted %+v", s)
		}
		if err := (TrainOptions{Surrogate: s}).Validate(); err == nil {
			t.Errorf("TrainOptions.Validate accepted surrogate %+v", s)
		}
	}
	// The triangle ignores the slope.
	if err := (Surrogate{Kind: Triangle, Gamma: 0.3}).Validate(); err != nil {
		t.Errorf("triangle without slope: %v", err)
	}
	for _, text := range []string{"", "sigmoid", "tri", "atan2", "fast sigmoid", " triangle", "triangle\n", "0"} {
		k := Atan
		if err := k.UnmarshalText([]byte(text)); err == nil {
			t.Errorf("UnmarshalText accepted %q (as %v)", text, k)
		} else if k != Atan {
			t.Errorf("UnmarshalText(%q) failed but changed the kind to %v", text, k)
		}
	}
	for _, k := range []SurrogateKind{Triangle, FastSigmoid, Atan} {
		b, err := k.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back SurrogateKind
		if err := back.UnmarshalText(b); err != nil || back != k {
			t.Errorf("%v: round trip through %q gives %v, %v", k, b, back, err)
		}
	}
	if b, err := (Atan + 1).MarshalText(); err == nil {
		t.Errorf("MarshalText of an invalid kind gave %q", b)
	}
}

// A slope given with the triangle is a contradiction CheckGiven reports;
// WithDefaults fills a zero γ and slope from the kind.
func TestSurrogateGivenAndDefaults(t *testing.T) {
	if err := (Surrogate{Kind: Triangle, Gamma: 0.3, Slope: 2}).CheckGiven(); err == nil {
		t.Error("triangle with a slope: no error")
	}
	if err := (Surrogate{Kind: Atan, Gamma: 0.3, Slope: 2}).CheckGiven(); err != nil {
		t.Error(err)
	}
	for _, c := range []struct{ in, want Surrogate }{
		{Surrogate{Kind: Atan}, Surrogate{Kind: Atan, Gamma: DefaultGamma, Slope: DefaultAtanSlope}},
		{Surrogate{Kind: FastSigmoid, Gamma: 1}, Surrogate{Kind: FastSigmoid, Gamma: 1, Slope: DefaultFastSigmoidSlope}},
		{Surrogate{Kind: Triangle}, Surrogate{Kind: Triangle, Gamma: DefaultGamma}},
		{Surrogate{Kind: Atan, Gamma: 2, Slope: 3}, Surrogate{Kind: Atan, Gamma: 2, Slope: 3}},
	} {
		if got := c.in.WithDefaults(); got != c.want {
			t.Errorf("%+v.WithDefaults() = %+v, want %+v", c.in, got, c.want)
		}
	}
}
