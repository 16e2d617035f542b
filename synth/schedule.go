package synth

import "fmt"

// Schedule names a synthesis schedule: how many Adam steps at which rate.
type Schedule string

const (
	// Fast is privatesnn's default: FastIterations steps at FastLR on the
	// bounded parametrisation.
	Fast Schedule = "fast"
	// Reference is the reference code's: ReferenceLR, ReferenceIterations
	// for the image size, pixels optimised unconstrained.
	Reference Schedule = "reference"
)

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Schedule) UnmarshalText(b []byte) error {
	switch Schedule(b) {
	case Fast, Reference:
		*s = Schedule(b)
		return nil
	}
	return fmt.Errorf("synth: unknown schedule %q (fast or reference)", b)
}

// MarshalText implements encoding.TextMarshaler.
func (s Schedule) MarshalText() ([]byte, error) { return []byte(s), nil }

// Apply sets o's step count and rate from the schedule for images of the
// given size, keeping any that are already set (non-zero). The reference
// schedule also turns Bounded off unless keepBounded, as the reference
// optimises pixels unconstrained.
func (s Schedule) Apply(o *Options, height, width int, keepBounded bool) error {
	switch s {
	case Fast, "":
		if o.Invert.Iterations == 0 {
			o.Invert.Iterations = FastIterations
		}
		if o.Invert.LR == 0 {
			o.Invert.LR = FastLR
		}
	case Reference:
		if !keepBounded {
			o.Invert.Bounded = false
		}
		if o.Invert.Iterations == 0 {
			o.Invert.Iterations = ReferenceIterations(height, width)
		}
		if o.Invert.LR == 0 {
			o.Invert.LR = ReferenceLR
		}
	default:
		return fmt.Errorf("synth: unknown schedule %q (fast or reference)", string(s))
	}
	return nil
}
