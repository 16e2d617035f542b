package optim

import "fmt"

// StepSchedule divides the base learning rate by Factor at the start of each
// milestone epoch, milestone_i = ⌊Fraction_i · Epochs⌋ (the reference's
// --lr_interval rule, SPEC §1.3).
type StepSchedule struct {
	Base      float64
	Factor    float64   // e.g. 10
	Fractions []float64 // increasing, in (0, 1)
	Epochs    int
}

// Validate reports an inconsistent schedule.
func (s StepSchedule) Validate() error {
	if s.Base <= 0 || s.Factor <= 0 || s.Epochs < 1 {
		return fmt.Errorf("lr schedule: base %g, factor %g and epochs %d must be positive", s.Base, s.Factor, s.Epochs)
	}
	prev := 0.0
	for _, f := range s.Fractions {
		if f <= prev || f >= 1 {
			return fmt.Errorf("lr schedule: fractions %v must increase strictly within (0, 1)", s.Fractions)
		}
		prev = f
	}
	return nil
}

// LR returns the learning rate for epoch e (0-based).
func (s StepSchedule) LR(e int) float64 {
	lr := s.Base
	for _, f := range s.Fractions {
		if e >= int(f*float64(s.Epochs)) {
			lr /= s.Factor
		}
	}
	return lr
}
