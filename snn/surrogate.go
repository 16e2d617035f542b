package snn

import (
	"fmt"
	"math"
)

// SurrogateKind names the shape of the pseudo-derivative that stands in for
// the spike function's derivative during backpropagation through time.
type SurrogateKind uint8

const (
	// Triangle is ∂o/∂u = (γ/θ)·max(0, 1 − |u/θ − 1|), the reference's
	// LinearSpike with γ = 0.3.
	Triangle SurrogateKind = iota
	// FastSigmoid is ∂o/∂u = (γ/θ) / (1 + k·|u/θ − 1|)² with slope k
	// (SuperSpike).
	FastSigmoid
	// Atan is ∂o/∂u = (γ/θ) / (1 + (π/2·k·(u/θ − 1))²) with slope k, the
	// derivative of an arctangent step.
	Atan
)

// String implements fmt.Stringer.
func (k SurrogateKind) String() string {
	switch k {
	case Triangle:
		return "triangle"
	case FastSigmoid:
		return "fast-sigmoid"
	case Atan:
		return "atan"
	}
	return fmt.Sprintf("SurrogateKind(%d)", uint8(k))
}

// MarshalText implements encoding.TextMarshaler.
func (k SurrogateKind) MarshalText() ([]byte, error) {
	if k > Atan {
		return nil, fmt.Errorf("snn: invalid surrogate %d", uint8(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *SurrogateKind) UnmarshalText(b []byte) error {
	switch string(b) {
	case "triangle", "linear":
		*k = Triangle
	case "fast-sigmoid", "fastsigmoid":
		*k = FastSigmoid
	case "atan", "arctan":
		*k = Atan
	default:
		return fmt.Errorf("unknown surrogate %q (triangle, fast-sigmoid or atan)", b)
	}
	return nil
}

// Surrogate is the pseudo-derivative of the spike o = 1[u > θ] with
// respect to the membrane potential u. Every shape peaks at γ/θ where
// u = θ; the 1/θ factor is the chain rule through the normalised argument
// u/θ − 1 that the reference's spike function receives.
type Surrogate struct {
	Kind  SurrogateKind `json:"kind"`
	Gamma float64       `json:"gamma"`           // height at u = θ, times θ
	Slope float64       `json:"slope,omitempty"` // k of FastSigmoid and Atan
}

// Default surrogate parameters.
const (
	DefaultGamma            = 0.3 // the reference's LinearSpike scale
	DefaultFastSigmoidSlope = 5.0
	DefaultAtanSlope        = 2.0
)

// DefaultSurrogate returns the reference's triangle with γ = 0.3.
func DefaultSurrogate() Surrogate { return Surrogate{Kind: Triangle, Gamma: DefaultGamma} }

// NewSurrogate returns a surrogate of the given kind with γ = 0.3 and that
// kind's default slope.
func NewSurrogate(k SurrogateKind) Surrogate {
	s := Surrogate{Kind: k, Gamma: DefaultGamma}
	switch k {
	case FastSigmoid:
		s.Slope = DefaultFastSigmoidSlope
	case Atan:
		s.Slope = DefaultAtanSlope
	}
	return s
}

// WithDefaults returns s with a zero γ replaced by DefaultGamma and, for
// the shapes that have one, a zero slope by the kind's default.
func (s Surrogate) WithDefaults() Surrogate {
	d := NewSurrogate(s.Kind)
	if s.Gamma == 0 {
		s.Gamma = d.Gamma
	}
	if s.Slope == 0 {
		s.Slope = d.Slope
	}
	return s
}

// CheckGiven reports settings of a surrogate that contradict each other as
// a user gave them: a slope with the triangle, which has none (Validate
// ignores it).
func (s Surrogate) CheckGiven() error {
	if s.Kind == Triangle && s.Slope != 0 {
		return fmt.Errorf("snn: slope %g: the triangle surrogate has none (the slope applies to fast-sigmoid and atan)", s.Slope)
	}
	return s.Validate()
}

// Validate reports an unusable surrogate.
func (s Surrogate) Validate() error {
	if s.Kind > Atan {
		return fmt.Errorf("snn: invalid surrogate %d", uint8(s.Kind))
	}
	if !(s.Gamma > 0) || math.IsInf(s.Gamma, 0) {
		return fmt.Errorf("snn: surrogate scale γ %g, want a positive finite value", s.Gamma)
	}
	if s.Kind != Triangle && (!(s.Slope > 0) || math.IsInf(s.Slope, 0)) {
		return fmt.Errorf("snn: %v surrogate slope %g, want a positive finite value", s.Kind, s.Slope)
	}
	return nil
}

// Derivative returns ∂o/∂u at membrane u for threshold θ.
func (s Surrogate) Derivative(u, theta float32) float32 {
	return surrogateAt(s.Kind, float32(s.Gamma)/theta, float32(s.Slope), u/theta-1)
}
