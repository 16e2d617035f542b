package audit

import "github.com/privatesnn/privatesnn/attack"

// Settings are an audit (or one attack) as a user states it, the same from
// the command line and from a pipeline configuration; Options resolves
// them.
type Settings struct {
	Methods  []attack.Method           `json:"methods"`
	PerClass int                       `json:"per_class"`
	Seed     uint64                    `json:"seed"`
	Attack1  attack.VisualizeOptions   `json:"attack1"`
	Attack2  attack.SNNGradientOptions `json:"attack2"`
	Attack3  attack.InversionSettings  `json:"attack3"`
}

// DefaultSettings returns every method, 10 images per class and each
// attack's defaults.
func DefaultSettings() Settings {
	d := Defaults()
	return Settings{Methods: d.Methods, PerClass: d.PerClass, Attack1: d.Visualize, Attack2: d.SNNGradient,
		Attack3: attack.DefaultInversionSettings()}
}

// Options returns the audit's options: Attack 2's surrogate with the
// defaults of its kind, Attack 3's rule defaults applied.
func (s Settings) Options() Options {
	return Options{Methods: s.Methods, PerClass: s.PerClass, Seed: s.Seed, Visualize: s.Attack1, SNNGradient: s.Attack2.Resolved(),
		Inversion: s.Attack3.Options()}
}
