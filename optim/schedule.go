package optim

import (
	"fmt"
	"math"
)

// StepSchedule divides the base learning rate by Factor at the start of each
// milestone epoch, one milestone per fraction (see Milestones for where they
// fall).
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

// Milestones returns the 0-based epoch at which each fraction's division
// takes effect, in the fractions' order. Fraction f falls at ⌊f·Epochs⌋,
// but never at epoch 0, so the first epoch always runs at the base rate (a
// 1-epoch run would otherwise train only at Base/Factor^k), and never on
// or before an earlier milestone: a milestone that would coincide with an
// earlier one moves to the epoch after it. So no epoch divides the rate
// twice, and every rate Base/Factor^k a schedule names runs for at least
// one epoch while the run has epochs left (a 4-epoch run with fractions
// 0.5 and 0.7 divides at epochs 2 and 3, where ⌊f·Epochs⌋ alone would put
// both at 2 and skip Base/Factor); a milestone moved to Epochs or beyond
// is not reached (a 2-epoch run with those fractions runs at Base, then
// Base/Factor). Moved, a division comes at the first epoch boundary left
// at or after its fraction of the run; dropped, it would leave the run at
// a higher final rate than the schedule states.
//
// The reference loop (ann.py) counts epochs from 1, runs epochs 1 … E−1 and
// divides at the start of epoch ⌊f·E⌋, so it runs ⌊f·E⌋−1 epochs at the base
// rate; here the first max(1, ⌊f·E⌋) epochs do. Both then run E−⌊f·E⌋
// epochs at the reduced rate when the milestones do not coincide.
func (s StepSchedule) Milestones() []int {
	out := make([]int, len(s.Fractions))
	prev := 0
	for i, f := range s.Fractions {
		m := max(prev+1, int(f*float64(s.Epochs)))
		out[i], prev = m, m
	}
	return out
}

// LR returns the learning rate for epoch e (0-based).
func (s StepSchedule) LR(e int) float64 {
	lr := s.Base
	for _, m := range s.Milestones() {
		if e >= m {
			lr /= s.Factor
		}
	}
	return lr
}
