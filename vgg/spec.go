package vgg

import (
	"fmt"
	"strconv"
	"strings"
)

// FeatureList is a feature list written as text: "32,32,A,64,64,A".
type FeatureList []Item

// UnmarshalText implements encoding.TextUnmarshaler (ParseFeatures).
func (f *FeatureList) UnmarshalText(b []byte) error {
	items, err := ParseFeatures(string(b))
	if err != nil {
		return err
	}
	*f = items
	return nil
}

// MarshalText implements encoding.TextMarshaler (FormatFeatures).
func (f FeatureList) MarshalText() ([]byte, error) { return []byte(FormatFeatures(f)), nil }

// MaxWidth bounds a hidden layer's width.
const MaxWidth = 1 << 20

// Widths are the hidden widths of a classifier written as text: "4096",
// "4096,4096", or "-" for none.
type Widths []int

// UnmarshalText implements encoding.TextUnmarshaler.
func (w *Widths) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "-" {
		*w = Widths{}
		return nil
	}
	var out Widths
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > MaxWidth {
			return fmt.Errorf("hidden width %q is not an integer in [1, %d] (none: -)", f, MaxWidth)
		}
		out = append(out, n)
	}
	*w = out
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (w Widths) MarshalText() ([]byte, error) {
	if len(w) == 0 {
		return []byte("-"), nil
	}
	parts := make([]string, len(w))
	for i, n := range w {
		parts[i] = strconv.Itoa(n)
	}
	return []byte(strings.Join(parts, ",")), nil
}

// Spec names an architecture as a user states it: a preset, with its
// feature list, hidden widths and dropout rates replaced where given.
type Spec struct {
	// Preset names the architecture (Names; "" is "small").
	Preset string `json:"model"`
	// Features and Hidden replace the preset's when not nil (an empty
	// Hidden: no hidden layer).
	Features FeatureList `json:"features,omitempty"`
	Hidden   *Widths     `json:"hidden,omitempty"`
	// ConvDropout and FCDropout replace the preset's when not negative.
	ConvDropout float64 `json:"conv_dropout"`
	FCDropout   float64 `json:"fc_dropout"`
}

// DefaultSpec returns the "small" preset as it is.
func DefaultSpec() Spec { return Spec{Preset: "small", ConvDropout: -1, FCDropout: -1} }

// Config returns the architecture for inputs of the given shape and class
// count.
func (s Spec) Config(inC, inH, inW, classes int) (Config, error) {
	name := s.Preset
	if name == "" {
		name = "small"
	}
	cfg, err := Preset(name, inC, inH, inW, classes)
	if err != nil {
		return cfg, err
	}
	if s.Features != nil {
		cfg.Features, cfg.Name = append([]Item(nil), s.Features...), "custom"
	}
	if s.Hidden != nil {
		cfg.Hidden = nil // as the preset's "none" is written
		if len(*s.Hidden) > 0 {
			cfg.Hidden = append([]int{}, *s.Hidden...)
		}
	}
	if s.ConvDropout >= 0 {
		cfg.ConvDropout = s.ConvDropout
	}
	if s.FCDropout >= 0 {
		cfg.FCDropout = s.FCDropout
	}
	return cfg, cfg.Validate()
}
