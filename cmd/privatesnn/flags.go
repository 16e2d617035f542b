package main

import (
	"encoding"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// bounds registers numeric flags with their allowed ranges and checks them
// after parsing, so every range error names the flag and its range.
type bounds struct{ checks []func() error }

// Int registers an int flag that must lie in [lo, hi].
func (b *bounds) Int(fs *flag.FlagSet, p *int, name string, def, lo, hi int, usage string) {
	fs.IntVar(p, name, def, usage)
	b.checks = append(b.checks, func() error {
		if *p < lo || *p > hi {
			if hi == math.MaxInt32 {
				return usagef("--%s %d out of range: want at least %d", name, *p, lo)
			}
			return usagef("--%s %d out of range [%d, %d]", name, *p, lo, hi)
		}
		return nil
	})
}

// Float registers a float flag that must lie in the interval iv.
func (b *bounds) Float(fs *flag.FlagSet, p *float64, name string, def float64, iv interval, usage string) {
	fs.Float64Var(p, name, def, usage)
	b.checks = append(b.checks, func() error {
		if !iv.contains(*p) {
			return usagef("--%s %g out of range %s", name, *p, iv)
		}
		return nil
	})
}

// check returns the first range error.
func (b *bounds) check() error {
	for _, c := range b.checks {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}

// interval is a real interval; open ends exclude their bound.
type interval struct {
	lo, hi         float64
	loOpen, hiOpen bool
}

func (iv interval) contains(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	return (v > iv.lo || !iv.loOpen && v == iv.lo) && (v < iv.hi || !iv.hiOpen && v == iv.hi)
}

func (iv interval) String() string {
	l, r := "[", "]"
	if iv.loOpen {
		l = "("
	}
	if iv.hiOpen {
		r = ")"
	}
	return fmt.Sprintf("%s%g, %g%s", l, iv.lo, iv.hi, r)
}

// optional is a flag whose value stays nil until the flag is given: the
// settings it fills tell "not given" (the library's default) from a
// value.
type optional[T any] struct {
	p     **T
	parse func(string) (T, error)
	show  func(T) string
}

func (o *optional[T]) Set(s string) error {
	v, err := o.parse(s)
	if err != nil {
		return err
	}
	*o.p = &v
	return nil
}

func (o *optional[T]) String() string {
	if o.p == nil || *o.p == nil {
		return ""
	}
	return o.show(**o.p)
}

// optFloat registers an optional float flag; iv bounds a given value.
func optFloat(fs *flag.FlagSet, b *bounds, p **float64, name string, iv interval, usage string) {
	fs.Var(&optional[float64]{p: p, parse: func(s string) (float64, error) { return strconv.ParseFloat(s, 64) },
		show: func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }}, name, usage)
	b.checks = append(b.checks, func() error {
		if *p != nil && !iv.contains(**p) {
			return usagef("--%s %g out of range %s", name, **p, iv)
		}
		return nil
	})
}

// textValue is a type read from text.
type textValue[T any] interface {
	*T
	encoding.TextUnmarshaler
}

// optText registers an optional flag of a type read from text.
func optText[T any, PT textValue[T]](fs *flag.FlagSet, p **T, name, usage string) {
	fs.Var(&optional[T]{p: p, parse: func(s string) (T, error) {
		var v T
		err := PT(&v).UnmarshalText([]byte(s))
		return v, err
	}, show: func(v T) string { return fmt.Sprint(v) }}, name, usage)
}

// exists reports whether dir holds the named file.
func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// optionalBool is an optional bool flag, given as --name or --name=false.
type optionalBool struct{ optional[bool] }

// IsBoolFlag lets the flag package take --name without a value.
func (o *optionalBool) IsBoolFlag() bool { return true }

// optBool registers an optional bool flag.
func optBool(fs *flag.FlagSet, p **bool, name, usage string) {
	fs.Var(&optionalBool{optional[bool]{p: p, parse: strconv.ParseBool, show: strconv.FormatBool}}, name, usage)
}
