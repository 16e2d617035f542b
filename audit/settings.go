package audit

import "github.com/privatesnn/privatesnn/attack"

// Settings are an audit (or one attack) as a user states it, the same from
// the command line and from a pipeline configuration; Options resolves
// them.
type Settings struct {
	Methods   Attacks                   `json:"methods"`
	PerClass  int                       `json:"per_class"`
	Seed      uint64                    `json:"seed"`
	Bootstrap int                       `json:"bootstrap"`
	Attack1   attack.VisualizeOptions   `json:"attack1"`
	Attack2   attack.SNNGradientOptions `json:"attack2"`
	Attack3   attack.InversionSettings  `json:"attack3"`
	Attack4   attack.InversionSettings  `json:"attack4"`
	Attack5   attack.NESOptions         `json:"attack5"`
}

// DefaultSettings returns the worst-case suite, DefaultPerClass images
// per class, DefaultBootstrap resamples and each attack's defaults
// (Attack 4 takes Attack 3's Adam rule and priors).
func DefaultSettings() Settings {
	d := Defaults()
	return Settings{Methods: d.Methods, PerClass: d.PerClass, Bootstrap: d.Bootstrap, Attack1: d.Visualize, Attack2: d.SNNGradient,
		Attack3: attack.DefaultInversionSettings(), Attack4: attack.DefaultInversionSettings(), Attack5: d.NES}
}

// Options returns the audit's options: Attack 2's surrogate with the
// defaults of its kind, Attacks 3 and 4 with their rule's defaults
// applied.
func (s Settings) Options() Options {
	return Options{Methods: s.Methods, PerClass: s.PerClass, Seed: s.Seed, Bootstrap: s.Bootstrap, Visualize: s.Attack1,
		SNNGradient: s.Attack2.Resolved(), Inversion: s.Attack3.Options(), ANNInversion: s.Attack4.Options(), NES: s.Attack5}
}
