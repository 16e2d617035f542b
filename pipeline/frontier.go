package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/privatesnn/privatesnn/audit"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/stage"
)

// FrontierConfig configures the privacy–accuracy frontier: every strength
// listed trains one more CET + OD model, with the encrypt section's
// settings plus that one inversion defence at that strength, and a
// reduced audit scores them all. Strength 0 of every defence is the
// CET + OD model itself (implied, not listed). Empty lists: no frontier.
type FrontierConfig struct {
	// Smoothing lists label smoothing strengths α in [-1, 0), negative
	// label smoothing (encrypt's label_smoothing), one model each.
	Smoothing []float64 `json:"label_smoothing,omitempty"`
	// TrapdoorRate lists trapdoor rates ρ in (0, 1] (encrypt's
	// trapdoor_rate), one model each.
	TrapdoorRate []float64 `json:"trapdoor_rate,omitempty"`
	// EraseRate lists random-erasing probabilities p in (0, 1] (encrypt's
	// erase_rate), one model each.
	EraseRate []float64 `json:"erase_rate,omitempty"`
	// Audit is the reduced audit of the frontier's models, with DC,
	// DC + CET + OD and DC + CET; unset, it is the audit section's
	// settings with FrontierPerClass images per class and FrontierMethods.
	Audit audit.Settings `json:"audit"`
}

// FrontierPerClass is the default images per class of the frontier's
// audit.
const FrontierPerClass = 10

// FrontierMethodsText names the default attacks of the frontier's audit
// as the audit section's methods are written: Attacks 2 and 3, the
// strongest against the encrypted SNNs, and on trapdoored models the
// aware Attack 3, which keeps their triggers out of its images.
const FrontierMethodsText = "attack2,attack3,attack3-aware"

// FrontierMethods returns the attacks FrontierMethodsText names; it
// panics if they do not parse, a mistake in the constant.
func FrontierMethods() audit.Attacks {
	var as audit.Attacks
	if err := as.Set(FrontierMethodsText); err != nil {
		panic(fmt.Sprintf("pipeline: FrontierMethodsText %q: %v", FrontierMethodsText, err))
	}
	return as
}

// FrontierAudit returns the frontier audit's default settings given the
// main audit's: the same settings with FrontierPerClass images per class
// and FrontierMethods.
func FrontierAudit(main audit.Settings) audit.Settings {
	s := main
	s.PerClass, s.Methods = FrontierPerClass, FrontierMethods()
	return s
}

// frontierDefense is one defence of the frontier: its key, the stage
// and model name parts, the report's line, its strengths and how it is
// turned on.
type frontierDefense struct {
	key, short, symbol, label, line string
	list                            func(FrontierConfig) []float64
	set                             func(*stage.EncryptSettings, float64)
	// ok reports whether a strength is in range; want says what is.
	ok   func(float64) bool
	want string
}

// frontierDefenses are the frontier's defences, in the order of its
// stages and of the report's lines.
var frontierDefenses = []frontierDefense{
	{key: "label_smoothing", short: "nls", symbol: "α", label: "NLS", line: "negative label smoothing (α)",
		list: func(f FrontierConfig) []float64 { return f.Smoothing },
		set:  func(s *stage.EncryptSettings, v float64) { s.LabelSmoothing = v },
		ok:   func(v float64) bool { return v >= -1 && v < 0 }, want: "a negative α in [-1, 0)"},
	{key: "trapdoor_rate", short: "trapdoor", symbol: "ρ", label: "trapdoor", line: "trapdoor (ρ)",
		list: func(f FrontierConfig) []float64 { return f.TrapdoorRate },
		set:  func(s *stage.EncryptSettings, v float64) { s.TrapdoorRate = v },
		ok:   func(v float64) bool { return v > 0 && v <= 1 }, want: "a rate ρ in (0, 1]"},
	{key: "erase_rate", short: "erase", symbol: "p", label: "erasing", line: "random erasing (p)",
		list: func(f FrontierConfig) []float64 { return f.EraseRate },
		set:  func(s *stage.EncryptSettings, v float64) { s.EraseRate = v },
		ok:   func(v float64) bool { return v > 0 && v <= 1 }, want: "a probability p in (0, 1]"},
}

// frontierPoint is one model of the frontier.
type frontierPoint struct {
	defense  *frontierDefense
	strength float64
	target   evalTarget
}

// frontierPoints lists the frontier's models in the order of
// frontierDefenses and of their lists, each with a stage name
// ("frontier-nls-0.1", "frontier-trapdoor-0.2", "frontier-erase-0.5")
// that is unique and safe as a file name.
func frontierPoints(c Config) []frontierPoint {
	var out []frontierPoint
	used := map[string]bool{}
	for i := range frontierDefenses {
		d := &frontierDefenses[i]
		for _, v := range d.list(c.Frontier) {
			base := "frontier-" + d.short + "-" + fileSafe(strconv.FormatFloat(math.Abs(v), 'g', -1, 64))
			name := base
			for k := 2; used[name]; k++ {
				name = fmt.Sprintf("%s-%d", base, k)
			}
			used[name] = true
			out = append(out, frontierPoint{defense: d, strength: v, target: evalTarget{
				name: fmt.Sprintf("DC + CET + OD + %s %s=%g", d.label, d.symbol, v), stage: name,
				role: RoleFrontier, perClass: c.Encrypt.PerClass, sweep: true}})
		}
	}
	return out
}

// fileSafe replaces every character of s but ASCII letters, digits, '.'
// and '-' with '-'.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '-'
	}, s)
}

// frontierSettings returns the encryption settings of a frontier point:
// s with the point's defence at its strength.
func frontierSettings(s stage.EncryptSettings, p frontierPoint) stage.EncryptSettings {
	p.defense.set(&s, p.strength)
	return s
}

// validateFrontier reports a strength out of its defence's range or
// listed twice, a point whose encryption options are unusable, and an
// unusable frontier audit.
func (c Config) validateFrontier() error {
	for _, d := range frontierDefenses {
		vs := d.list(c.Frontier)
		for i, v := range vs {
			if !d.ok(v) {
				return fmt.Errorf("frontier.%s %g: want %s (0 is DC + CET + OD itself, implied)", d.key, v, d.want)
			}
			if slices.Contains(vs[:i], v) {
				return fmt.Errorf("frontier.%s lists %g twice", d.key, v)
			}
		}
	}
	for _, p := range frontierPoints(c) {
		if err := validEncryptOptions(frontierSettings(c.Encrypt.EncryptSettings, p)); err != nil {
			return fmt.Errorf("frontier.%s %g: %w", p.defense.key, p.strength, err)
		}
	}
	a := c.Frontier.Audit
	if a.PerClass < 1 || len(a.Methods) == 0 {
		return fmt.Errorf("frontier.audit: per_class %d and %d methods: want at least 1 of each", a.PerClass, len(a.Methods))
	}
	if err := a.Options().Validate(); err != nil {
		return fmt.Errorf("frontier.audit: %w", err)
	}
	return nil
}

// decodeFrontier decodes the frontier section of the configuration js
// (JSON) over the frontier's defaults, whose audit follows c's audit
// section (FrontierAudit).
func decodeFrontier(c *Config, js []byte) error {
	c.Frontier = FrontierConfig{Audit: FrontierAudit(c.Audit)}
	var raw struct {
		Frontier json.RawMessage `json:"frontier"`
	}
	if err := json.Unmarshal(js, &raw); err != nil {
		return fmt.Errorf("frontier: %w", err)
	}
	if len(raw.Frontier) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw.Frontier, &c.Frontier); err != nil {
		return fmt.Errorf("frontier: %w", err)
	}
	return nil
}

// frontierStages returns the frontier's encryption stages and their
// models, seeded with seed as the encrypt stage is.
func frontierStages(c Config, seed uint64) ([]Stage, []evalTarget) {
	var stages []Stage
	var targets []evalTarget
	for _, p := range frontierPoints(c) {
		s := frontierSettings(encryptSettings(c.Encrypt, p.target.perClass, true, seed), p)
		stages = append(stages, encryptStage(p.target.stage, c.software(), s))
		targets = append(targets, p.target)
	}
	return stages, targets
}

// frontierAuditStage returns the frontier-audit stage: the frontier's
// audit of DC, DC + CET + OD, DC + CET (when trained) and every frontier
// model of targets, scored by both evaluators.
func frontierAuditStage(c Config, seed func(uint64) uint64, targets []evalTarget) Stage {
	fa := c.Frontier.Audit
	fa.Seed = seed(fa.Seed)
	var audited []evalTarget
	var names []string
	deps := []string{"synth"}
	for _, t := range targets {
		main := !t.sweep && (t.role == RoleDC || t.role == RoleCETOD || t.role == RoleCET)
		if main || t.role == RoleFrontier {
			audited, names, deps = append(audited, t), append(names, t.name), append(deps, t.stage)
		}
	}
	deps = append(deps, "evaluator", "evaluator2")
	return Stage{Name: "frontier-audit", Deps: deps, Settings: auditSettings(fa, map[string]any{"data": c.Data, "models": names}),
		RealData: true, Seed: fa.Seed, Reads: "attacks: the SNNs' weights only; scoring: the test split and the two evaluators",
		Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
			return auditModels(ctx, dir, c.Data, fa, in, audited, p)
		}}
}
