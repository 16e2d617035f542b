package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/qcfs"
)

// CompareConfig is one further conversion of the run's ANN on its
// synthetic images, set beside DC in the accuracy table, Fig. 5a, the
// spike-rate table and the energy table; no other stage uses it. Its keys
// are the convert section's, and every key it leaves out takes the
// convert command's default, not the run's convert section: each entry
// states a whole conversion.
type CompareConfig struct {
	// Name names the model in the report ("DC, T = 4, ANN clips").
	Name string `json:"name"`
	// Quantise, when set, first fine-tunes a QCFS copy of the ANN on the
	// synthetic images (a stage of its own, "quantise-" and the dashed
	// name) and converts that copy, with thresholds from its clips unless
	// thresholds says otherwise: a [compare.quantise] table of the
	// quantise command's keys, each unset key its default.
	Quantise *QuantiseConfig `json:"quantise,omitempty"`
	convert.Settings
}

// QuantiseConfig is a compare entry's fine-tuning: qcfs.Options over
// qcfs.Defaults. Its levels default (0) follows the entry's timesteps,
// which it takes in place of its own; a seed left out is the convert
// section's.
type QuantiseConfig struct {
	qcfs.Options
	seedSet bool
}

// UnmarshalJSON decodes the table over qcfs.Defaults, refusing unknown
// keys and timesteps (the entry's).
func (q *QuantiseConfig) UnmarshalJSON(b []byte) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return err
	}
	if _, ok := keys["timesteps"]; ok {
		return fmt.Errorf("quantise: timesteps is the compare entry's; set it there")
	}
	o := qcfs.Defaults()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return err
	}
	_, seedSet := keys["seed"]
	*q = QuantiseConfig{Options: o, seedSet: seedSet}
	return nil
}

// MarshalJSON writes the options, without a seed the table left out (it
// is then the convert section's), so that the written table parses back
// to the same entry.
func (q QuantiseConfig) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(q.Options)
	if err != nil || q.seedSet {
		return b, err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, err
	}
	delete(keys, "seed")
	return json.Marshal(keys)
}

// options returns the fine-tuning's options for an entry converted at T
// timesteps, seeded with seed unless the table set its own.
func (q *QuantiseConfig) options(timesteps int, seed uint64) qcfs.Options {
	o := q.Options
	o.Timesteps = timesteps
	if !q.seedSet {
		o.Seed = seed
	}
	return o
}

// quantiseStageName returns the stage name of a compare entry's
// fine-tuning.
func quantiseStageName(name string) string { return "quantise-" + dashed(name) }

// MaxCompare bounds the compare list.
const MaxCompare = 16

// UnmarshalJSON decodes an entry over the convert command's defaults,
// refusing unknown keys.
func (c *CompareConfig) UnmarshalJSON(b []byte) error {
	type plain CompareConfig
	v := plain{Settings: convert.DefaultSettings(convert.RecipeSelect)}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	*c = CompareConfig(v)
	return nil
}

// compareStageName returns the stage name of a compare entry named name:
// "compare-" and the name dashed, or "compare" for a name without a letter
// or digit (which validCompare refuses).
func compareStageName(name string) string {
	if d := dashed(name); d != "" {
		return "compare-" + d
	}
	return "compare"
}

// dashed returns name lowered, with every run of characters other than
// a-z and 0-9 made one "-" and none at either end ("" for a name without
// a letter or digit).
func dashed(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}

// validCompare checks the compare list: at most MaxCompare entries, each
// with a name of at least one letter or digit, names distinct as stage
// names and from the run's own models, and settings that convert accepts.
func validCompare(list []CompareConfig) error {
	if len(list) > MaxCompare {
		return fmt.Errorf("compare: %d entries, want at most %d", len(list), MaxCompare)
	}
	seen := map[string]string{}
	for i, cc := range list {
		st := compareStageName(cc.Name)
		if st == "compare" {
			return fmt.Errorf("compare %d: name %q: want a name with at least one letter or digit", i+1, cc.Name)
		}
		if prev, ok := seen[st]; ok {
			return fmt.Errorf("compare %d: name %q gives the same stage name as %q (%s)", i+1, cc.Name, prev, st)
		}
		seen[st] = cc.Name
		switch strings.TrimSpace(cc.Name) {
		case "ANN", "DC", "DC + CET + OD", "DC + CET":
			return fmt.Errorf("compare %d: name %q is one of the run's own models", i+1, cc.Name)
		}
		if err := cc.Settings.Validate(); err != nil {
			return fmt.Errorf("compare %d (%s): %w", i+1, cc.Name, err)
		}
		if cc.Quantise == nil && cc.Source == convert.SourceClips {
			return fmt.Errorf("compare %d (%s): thresholds from clips need a [compare.quantise] table (a QCFS ANN)", i+1, cc.Name)
		}
		if q := cc.Quantise; q != nil {
			if err := q.options(cc.Settings.Options().Timesteps, 0).Validate(); err != nil {
				return fmt.Errorf("compare %d (%s): quantise: %w", i+1, cc.Name, err)
			}
		}
	}
	return nil
}

// compareStages returns one conversion stage per compare entry, with the
// convert section's seed, and their evaluation targets.
func compareStages(c Config, seed uint64) ([]Stage, []evalTarget) {
	var stages []Stage
	var targets []evalTarget
	for _, cc := range c.Compare {
		cv := ConvertConfig{Settings: cc.Settings, Seed: seed}
		name := compareStageName(cc.Name)
		from := "ann"
		if cc.Quantise != nil {
			from = quantiseStageName(cc.Name)
			// What stage.Convert makes of a QCFS ANN's settings, written
			// out so that the stage's hash records it.
			cv.Settings = cv.Settings.ForQCFS()
			o := cc.Quantise.options(cc.Settings.Options().Timesteps, seed)
			stages = append(stages, Stage{Name: from, Deps: []string{"ann", "synth"}, Settings: o, Reads: "the ANN and the synthetic images", Seed: o.Seed,
				Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
					return quantiseANN(ctx, dir, c.software(), modelPath(in["ann"]), in["synth"].Dir, o, p)
				}})
		}
		stages = append(stages, Stage{Name: name, Deps: []string{from, "synth"}, Settings: cv, Reads: "the ANN and the synthetic images", Seed: seed,
			Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
				return convertANN(ctx, dir, c.software(), modelPath(in[from]), in["synth"].Dir, cv, p)
			}})
		targets = append(targets, evalTarget{name: cc.Name, stage: name, role: RoleCompare})
	}
	return stages, targets
}
