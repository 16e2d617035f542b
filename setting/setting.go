// Package setting names the settings of privatesnn's stages in errors.
//
// A setting is named by its configuration key (the JSON/TOML key of a
// pipeline configuration, such as "calib_images"), never by a command-line
// flag: the front end that took the value words the error in its own
// terms (the privatesnn command turns the key into its flag name, the
// pipeline prefixes the section).
package setting

import (
	"errors"
	"fmt"
)

// Error is a setting whose value does not fit: its key, the value as
// given, and why.
type Error struct {
	Key    string
	Value  string
	Reason string
}

func (e *Error) Error() string {
	if e.Value == "" {
		return e.Key + ": " + e.Reason
	}
	return e.Key + " " + e.Value + ": " + e.Reason
}

// Errorf returns an *Error for the setting key with value v (formatted
// with %v; nil for none) and the reason format, args.
func Errorf(key string, v any, format string, args ...any) error {
	e := &Error{Key: key, Reason: fmt.Sprintf(format, args...)}
	if v != nil {
		e.Value = fmt.Sprint(v)
	}
	return e
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// InvalidError is settings that cannot run, as their validation says: the
// caller's mistake, not a failure.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }

func (e *InvalidError) Unwrap() error { return e.Err }

// Check returns a validation error as an *InvalidError (an *Error stays as
// it is); nil stays nil.
func Check(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := As(err); ok {
		return err
	}
	var inv *InvalidError
	if errors.As(err, &inv) {
		return err
	}
	return &InvalidError{Err: err}
}

// IsUser reports whether err is a setting the caller gave that does not
// fit or cannot run (an *Error or an *InvalidError).
func IsUser(err error) bool {
	var inv *InvalidError
	_, ok := As(err)
	return ok || errors.As(err, &inv)
}
