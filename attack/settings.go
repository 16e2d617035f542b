package attack

import (
	"encoding/json"

	"github.com/privatesnn/privatesnn/snn"
)

// InversionSettings are Attack 3 as a user states it, the same from the
// command line and from a pipeline configuration. The update rule decides
// the defaults of the step count, the restarts, the rate, the encoding and
// the surrogate: zero counts and rates and nil values take the rule's
// (DefaultInversion for AdamRule, DefaultPopulation for PopulationRule).
type InversionSettings struct {
	Rule       Rule           `json:"rule"`
	Iterations int            `json:"iterations,omitempty"`
	Restarts   int            `json:"restarts,omitempty"`
	LR         float64        `json:"lr,omitempty"`
	Encoding   *Encoding      `json:"encoding,omitempty"`
	TV         float64        `json:"tv"`
	L2         float64        `json:"l2"`
	Jitter     int            `json:"jitter"`
	Flip       bool           `json:"flip"`
	BlurEvery  int            `json:"blur_every"`
	Population int            `json:"population,omitempty"`
	Surrogate  *snn.Surrogate `json:"surrogate,omitempty"`
}

// DefaultInversionSettings returns the Adam rule with the priors of
// DefaultInversion and every rule-dependent setting left to the rule.
func DefaultInversionSettings() InversionSettings {
	d := DefaultInversion()
	return InversionSettings{Rule: AdamRule, TV: d.TV, L2: d.L2, Jitter: d.Jitter, Flip: d.Flip, BlurEvery: d.BlurEvery, Population: d.Population}
}

// Options returns the options the settings state: the rule's defaults
// where the settings leave them, and a given surrogate with the defaults
// of its kind for a zero γ or slope (snn.Surrogate.WithDefaults).
func (s InversionSettings) Options() InversionOptions {
	o := DefaultInversion()
	if s.Rule == PopulationRule {
		o = DefaultPopulation()
	}
	o.TV, o.L2, o.Jitter, o.Flip, o.BlurEvery = s.TV, s.L2, s.Jitter, s.Flip, s.BlurEvery
	if s.Population != 0 {
		o.Population = s.Population
	}
	if s.Iterations != 0 {
		o.Iterations = s.Iterations
	}
	if s.Restarts != 0 {
		o.Restarts = s.Restarts
	}
	if s.LR != 0 {
		o.LR = s.LR
	}
	if s.Encoding != nil {
		o.Encoding = *s.Encoding
	}
	if s.Surrogate != nil {
		o.Surrogate = s.Surrogate.WithDefaults()
	}
	return o
}

// Resolved returns o with a zero surrogate γ or slope replaced by the
// defaults of its kind.
func (o SNNGradientOptions) Resolved() SNNGradientOptions {
	o.Surrogate = o.Surrogate.WithDefaults()
	return o
}

// UnmarshalJSON accepts a method as a string ("attack1", "1") or a number
// (1).
func (m *Method) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		return m.UnmarshalText([]byte(s))
	}
	return m.UnmarshalText(b)
}
