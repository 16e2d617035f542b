// Package progresstest checks that a library keeps the progress contract
// (see package progress): it records the reports a run makes, checks each
// one, and stops the run on demand.
package progresstest

import (
	"errors"
	"testing"

	"github.com/privatesnn/privatesnn/progress"
)

// ErrStop is the error a Recorder returns to stop a run.
var ErrStop = errors.New("progresstest: stop")

// Recorder records reports and checks 0 ≤ Done ≤ Total in each.
type Recorder struct {
	T testing.TB
	// StopAfter, when positive, makes the StopAfter-th report return
	// ErrStop (a wrapping error: the library must wrap it again).
	StopAfter int
	// Reports are the reports received, in order.
	Reports []progress.Report
}

// Func returns the recording Func.
func (r *Recorder) Func() progress.Func {
	return func(rep progress.Report) error {
		r.T.Helper()
		r.Reports = append(r.Reports, rep)
		if rep.Done < 0 || rep.Total < 0 || rep.Done > rep.Total {
			r.T.Errorf("report %d %q: done %d of total %d", len(r.Reports), rep.Name(), rep.Done, rep.Total)
		}
		if r.StopAfter > 0 && len(r.Reports) >= r.StopAfter {
			return ErrStop
		}
		return nil
	}
}

// Counted returns the reports that count units (not events).
func (r *Recorder) Counted() []progress.Report {
	var out []progress.Report
	for _, rep := range r.Reports {
		if !rep.Event() {
			out = append(out, rep)
		}
	}
	return out
}

// CheckStopped checks that err reports the stop: it wraps ErrStop in a
// *progress.StopError, and no report came after the one that stopped.
func (r *Recorder) CheckStopped(err error) {
	r.T.Helper()
	var se *progress.StopError
	switch {
	case err == nil:
		r.T.Fatalf("the run went on after its progress callback returned an error (%d reports)", len(r.Reports))
	case !errors.Is(err, ErrStop):
		r.T.Fatalf("error %v does not wrap the callback's error", err)
	case !errors.As(err, &se):
		r.T.Fatalf("error %v holds no *progress.StopError", err)
	}
	if len(r.Reports) != r.StopAfter {
		r.T.Fatalf("%d reports after the stop at report %d", len(r.Reports)-r.StopAfter, r.StopAfter)
	}
}
