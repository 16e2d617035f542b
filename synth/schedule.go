package synth

import (
	"fmt"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/invert"
)

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
	return fmt.Errorf("unknown schedule %q (fast or reference)", b)
}

// MarshalText implements encoding.TextMarshaler.
func (s Schedule) MarshalText() ([]byte, error) { return []byte(s), nil }

// Settings are a synthesis as a user states it, the same from the command
// line and from a pipeline configuration. Zero Iterations and LR and a nil
// Bounded take the schedule's.
type Settings struct {
	PerClass    int      `json:"per_class"`
	Schedule    Schedule `json:"schedule,omitempty"` // Fast (default) or Reference
	Iterations  int      `json:"iterations,omitempty"`
	LR          float64  `json:"lr,omitempty"`
	Temperature float64  `json:"temperature"`
	// Bounded optimises x = tanh(w) (invert.Options.Bounded); nil takes the
	// schedule's: bounded for Fast, unconstrained for Reference.
	Bounded *bool  `json:"bounded,omitempty"`
	Batch   int    `json:"batch"`
	Seed    uint64 `json:"seed"`
}

// DefaultSettings returns the fast schedule with DefaultPerClass images per
// class, τ = Temperature and batch DefaultBatch.
func DefaultSettings() Settings {
	return Settings{PerClass: DefaultPerClass, Schedule: Fast, Temperature: Temperature, Batch: DefaultBatch}
}

// Options returns the options of a synthesis for images of the given
// size, with the model's input normalisation.
func (s Settings) Options(height, width int, norm imageset.Normalization) (Options, error) {
	o := Options{PerClass: s.PerClass, Normalization: norm, Seed: s.Seed,
		Invert: invert.Options{Iterations: s.Iterations, LR: s.LR, Temperature: s.Temperature, Batch: s.Batch}}
	switch s.Schedule {
	case Fast, "":
		o.Invert.Bounded = FastBounded
		if o.Invert.Iterations == 0 {
			o.Invert.Iterations = FastIterations
		}
		if o.Invert.LR == 0 {
			o.Invert.LR = FastLR
		}
	case Reference:
		if o.Invert.Iterations == 0 {
			o.Invert.Iterations = ReferenceIterations(height, width)
		}
		if o.Invert.LR == 0 {
			o.Invert.LR = ReferenceLR
		}
	default:
		return Options{}, fmt.Errorf("synth: unknown schedule %q (fast or reference)", string(s.Schedule))
	}
	if s.Bounded != nil {
		o.Invert.Bounded = *s.Bounded
	}
	return o, o.Validate()
}
