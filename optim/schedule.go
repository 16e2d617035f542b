package optim

import (
	"fmt"
	"math"
)

// StepSchedule divides the base learning rate by Factor at the start of each
// milestone epoch (see Milestone for where the milestones fall).
type StepSchedule struct {
	Base      float64
	Factor    float64   // e.g. 10
	Fractions []float64 // increasing, in (0, 1)
	Epochs    int
}

// Validate reports an inconsistent schedule.
func (s StepSchedule) Validate() error {
	if !(s.Base > 0) || !(s.Factor > 0) || math.IsInf(s.Base, 0) || math.IsInf(s.Factor, 0) || s.Epochs < 1 {
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

// Milestone returns the 0-based epoch from which fraction f of the run is
// in effect: ⌊f·Epochs⌋, but never 0, so the first epoch always runs at the
// base rate (a 1-epoch run would otherwise train only at Base/Factor^k).
//
// The reference loop (ann.py) counts epochs from 1, runs epochs 1 … E−1 and
// divides at the start of epoch ⌊f·E⌋, so it runs ⌊f·E⌋−1 epochs at the base
// rate; here the first max(1, ⌊f·E⌋) epochs do. Both then run E−⌊f·E⌋
// epochs at the reduced rate.
func (s StepSchedule) Milestone(f float64) int {
	return max(1, int(f*float64(s.Epochs)))
}

// LR returns the learning rate for epoch e (0-based).
func (s StepSchedule) LR(e int) float64 {
	lr := s.Base
	for _, f := range s.Fractions {
		if e >= s.Milestone(f) {
			lr /= s.Factor
		}
	}
	return lr
}
