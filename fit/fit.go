// Package fit runs the epoch and step loop that the training stages
// (packages train and encrypt) share: where a run stands, its finished
// epochs, progress reports, checkpoints at the end of every epoch, and
// stopping with a checkpoint on cancellation or on the progress callback's
// error, so that a saved State resumes the run where it stood.
//
// # Overview
//
// A Loop runs Epochs epochs of Steps steps. Its caller supplies what a run
// does: Begin starts an epoch from the running sums of its steps already
// run and returns its Epoch, whose Step runs one step, whose Sums are its
// running sums so far and whose End sums the epoch up into a result R.
// Loop.Run moves a State through the run:
//
//   - before every step it checks ctx; a cancelled ctx saves the State at
//     that step, with the epoch's running sums, and returns ctx's error;
//   - after every step it reports "epoch e/E" with the step's values; the
//     callback's error counts the step (its update is in the weights),
//     saves the State at the next step and stops;
//   - after the last step it appends End's result to the history, moves
//     the State to step 0 of the next epoch, reports the result as the
//     report's Detail (a *R) and saves the State; the callback's error
//     saves the same State and stops: the epoch is finished.
//
// Every random choice of a run comes from Stream, one PCG generator per
// (seed, epoch, step), so a resumed run draws what the uninterrupted run
// drew; and a State saved in the middle of an epoch carries the epoch's
// running sums, so the resumed epoch's result sums up all of its steps, as
// the uninterrupted run's did (its time too, less the time between the
// stop and the resume).
//
// # Error handling
//
// A step's or End's error that wraps context.Canceled or
// context.DeadlineExceeded is a cancellation: the State is saved at the
// unfinished step and the error returned as it is. Any other error of
// theirs (a diverged loss) is returned as it is, without a save, the State
// at the failed step. The progress callback's error is returned wrapped as
// "Name: " + its text, keeping the *progress.StopError for errors.Is and
// errors.As. An error of Save is wrapped as "save checkpoint: …", joined
// to the cause of the stop when it was saving on a stop.
//
// # Concurrency
//
// Run calls its caller's functions from the calling goroutine, one at a
// time.
package fit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/privatesnn/privatesnn/progress"
)

// State is where a run stands: the next epoch and step to run (0-based),
// the running sums of that epoch's steps already run and the results of
// the finished epochs, in order.
type State[R any] struct {
	Epoch, Step int
	// Sums are epoch Epoch's running sums after its steps before Step
	// (zero at step 0).
	Sums    Sums
	History []R
}

// Sums are an unfinished epoch's running sums after some of its steps:
// what its result sums up, kept in a State so that an epoch resumed in
// its middle sums up all of its steps.
type Sums struct {
	// Seen counts the images the steps trained on.
	Seen int `json:"seen"`
	// Values are the caller's sums over those images (a loss times the
	// batch size, the correct predictions, …), in the caller's order.
	Values []float64 `json:"values,omitempty"`
	// Seconds is the time the steps took.
	Seconds float64 `json:"seconds"`
}

// Check reports sums that are not an epoch's of n values: negative counts
// or time, or other than n values (none only when nothing was seen, as at
// an epoch's start or in a State saved without them).
func (s Sums) Check(n int) error {
	if s.Seen < 0 || !(s.Seconds >= 0) || len(s.Values) != n && (len(s.Values) != 0 || s.Seen != 0) {
		return fmt.Errorf("epoch sums: %d images, %g s and %d values, want ≥ 0, ≥ 0 and %d", s.Seen, s.Seconds, len(s.Values), n)
	}
	return nil
}

// Clone returns a copy of s that shares no memory with it.
func (s Sums) Clone() Sums {
	s.Values = slices.Clone(s.Values)
	return s
}

// Epoch is the work of one epoch, returned by Loop.Begin.
type Epoch[R any] interface {
	// Step runs step s (0-based) of the epoch and returns the values to
	// report after it (the epoch's means so far); a step that fails adds
	// nothing to the sums.
	Step(ctx context.Context, s int) ([]progress.Value, error)
	// Sums returns the epoch's running sums after the steps run so far,
	// those it began from included, sharing no memory with the epoch.
	Sums() Sums
	// End is called after the epoch's last step and returns its result
	// and the values to report with it.
	End(ctx context.Context) (R, []progress.Value, error)
}

// Loop describes a run of Epochs epochs of Steps steps each.
type Loop[R any] struct {
	Epochs, Steps int
	// Begin starts epoch e (0-based) from the running sums of its steps
	// already run (zero but when a run resumes in the middle of the
	// epoch): it sets the epoch's learning rate, draws its order and
	// starts its sums from those.
	Begin func(e int, from Sums) Epoch[R]
	// Progress receives the reports (see the package documentation); nil
	// reports nothing.
	Progress progress.Func
	// Save stores the State to resume from; nil saves nothing. The State's
	// History is the run's own slice: a Save that keeps it must copy it.
	Save func(State[R]) error
	// Name prefixes the progress callback's error ("train", "encrypt").
	Name string
}

// Run runs l from st's position to the end of epoch Epochs, updating st
// as it goes; on return st is where the run stopped (see the package
// documentation).
func (l Loop[R]) Run(ctx context.Context, st *State[R]) error {
	for st.Epoch < l.Epochs {
		ep := l.Begin(st.Epoch, st.Sums.Clone())
		label := Label(st.Epoch, l.Epochs)
		for ; st.Step < l.Steps; st.Step++ {
			if err := ctx.Err(); err != nil {
				st.Sums = ep.Sums()
				return l.saveOnStop(st, err)
			}
			values, err := ep.Step(ctx, st.Step)
			if err != nil {
				st.Sums = ep.Sums()
				return l.fail(st, err)
			}
			if err := l.Progress.Report(progress.Report{Label: label, Done: st.Step + 1, Total: l.Steps, Values: values}); err != nil {
				st.Step++ // the step's update is in the weights
				st.Sums = ep.Sums()
				return l.saveOnStop(st, fmt.Errorf("%s: %w", l.Name, err))
			}
		}
		st.Sums = ep.Sums()
		res, values, err := ep.End(ctx)
		if err != nil {
			return l.fail(st, err)
		}
		st.History = append(st.History, res)
		st.Epoch, st.Step, st.Sums = st.Epoch+1, 0, Sums{} // the epoch is finished
		if err := l.Progress.Report(progress.Report{Label: label, Done: l.Steps, Total: l.Steps, Values: values, Detail: &res}); err != nil {
			return l.saveOnStop(st, fmt.Errorf("%s: %w", l.Name, err))
		}
		if l.Save != nil {
			if err := l.Save(*st); err != nil {
				return fmt.Errorf("save checkpoint: %w", err)
			}
		}
	}
	return nil
}

// fail returns the error of a step or of End: a cancellation saves st
// first.
func (l Loop[R]) fail(st *State[R], err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return l.saveOnStop(st, err)
	}
	return err
}

// saveOnStop saves st and returns cause, joined with Save's error if the
// save failed.
func (l Loop[R]) saveOnStop(st *State[R], cause error) error {
	if l.Save != nil {
		if err := l.Save(*st); err != nil {
			return errors.Join(cause, fmt.Errorf("save checkpoint: %w", err))
		}
	}
	return cause
}

// Label is the progress label of 0-based epoch e of E: "epoch e+1/E".
func Label(e, E int) string { return "epoch " + strconv.Itoa(e+1) + "/" + strconv.Itoa(E) }

// Stream returns the PCG generator of (seed, epoch, step), both 0-based;
// step −1 is the epoch's shuffle. Its stream number is epoch·2³² XOR
// (step+1).
func Stream(seed uint64, epoch, step int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(epoch)<<32^uint64(step+1)))
}
