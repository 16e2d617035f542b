package progress

import (
	"errors"
	"strings"
)

// Func receives progress reports; a non-nil error stops the run (see the
// package documentation for the contract).
type Func func(Report) error

// Report is one progress report.
type Report struct {
	// Stage names the stage the report comes from when a caller runs
	// several ("ann", "audit attack1 on DC"); empty otherwise. Set by
	// WithStage, not by the library that counts.
	Stage string
	// Label says what Done and Total count: "epoch 3/8" (its steps),
	// "images", "layers", "candidates", "steps". With Total 0, it is the
	// text of an event.
	Label string
	// Done of Total units are finished: 0 ≤ Done ≤ Total.
	Done, Total int
	// Values are named measurements ("loss", "threshold", …) in an order
	// fixed by the library, so that a display does not reorder them.
	Values []Value
	// Detail, when not nil, is a value of a type documented by the
	// library reporting (the result of an epoch, a scored candidate) for
	// callers that need more than display.
	Detail any
}

// Value is one named measurement.
type Value struct {
	Name  string
	Value float64
}

// Value returns the measurement called name and whether the report has it.
func (r Report) Value(name string) (float64, bool) {
	for _, v := range r.Values {
		if v.Name == name {
			return v.Value, true
		}
	}
	return 0, false
}

// Event reports whether r marks an event rather than counting units.
func (r Report) Event() bool { return r.Total == 0 }

// StopError is the error a library returns when its Func stopped the run:
// it wraps the Func's error.
type StopError struct {
	// Label and Done, Total are those of the report that was answered
	// with the error.
	Label       string
	Done, Total int
	Err         error
}

func (e *StopError) Error() string {
	return "stopped by the progress callback: " + e.Err.Error()
}

func (e *StopError) Unwrap() error { return e.Err }

// Report calls f with r and returns nil for a nil f. A non-nil error from
// f is returned wrapped in a *StopError (an error that already holds one,
// from a nested run, is returned as it is). Libraries call it instead of
// calling f directly.
func (f Func) Report(r Report) error {
	if f == nil {
		return nil
	}
	err := f(r)
	if err == nil {
		return nil
	}
	var se *StopError
	if errors.As(err, &se) {
		return err
	}
	return &StopError{Label: r.Label, Done: r.Done, Total: r.Total, Err: err}
}

// WithStage returns a Func that forwards every report to f with its Stage
// prefixed by stage (stages nest: "audit" around "attack1 on DC" gives
// "audit attack1 on DC"). It returns nil for a nil f, so that a library
// given no Func does not build reports for nobody.
func (f Func) WithStage(stage string) Func {
	if f == nil {
		return nil
	}
	return func(r Report) error {
		r.Stage = join(stage, r.Stage)
		return f(r)
	}
}

// join joins the non-empty parts with a space.
func join(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p)
	}
	return b.String()
}

// Name returns the report's stage and label joined by a space: what a
// display shows before the counts.
func (r Report) Name() string { return join(r.Stage, r.Label) }
