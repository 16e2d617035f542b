package audit

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/snn"
)

// Attack is one attack of an audit: a method and, for the SNN-aware
// inversion (Attack 3), the surrogate and input path that replace the
// settings' own, and whether it keeps the model's defence patterns out of
// its images. Its text form is its Name: "attack1" … "attack5",
// "attack3-<surrogate>-<encoding>" ("attack3-atan-direct"), either Attack 3
// form with "-aware" appended ("attack3-triangle-direct-aware"); "1" … "5"
// and the colon form "3:atan:direct" (":aware") are accepted too.
type Attack struct {
	Method attack.Method
	// Surrogate, when not nil, is the spike derivative Attack 3
	// differentiates with (the settings' γ and slope are replaced by the
	// kind's defaults).
	Surrogate *snn.SurrogateKind
	// Encoding, when not nil, is Attack 3's input path.
	Encoding *attack.Encoding
	// Aware makes Attack 3 the attacker who knows the patterns the
	// model's defence planted (Model.Avoid: a trapdoor's triggers, one
	// per class) and keeps each image's target class's trigger out of it
	// (attack.InversionOptions.Avoid with AvoidOwn). It applies only to a
	// model that has such patterns.
	Aware bool
}

// Name is the attack's name: its row's set and its folder.
func (a Attack) Name() string {
	s := a.Method.String()
	if a.Surrogate != nil || a.Encoding != nil {
		sg, enc := "default", "default"
		if a.Surrogate != nil {
			sg = a.Surrogate.String()
		}
		if a.Encoding != nil {
			enc = a.Encoding.String()
		}
		s += "-" + sg + "-" + enc
	}
	if a.Aware {
		s += "-aware"
	}
	return s
}

// String implements fmt.Stringer.
func (a Attack) String() string { return a.Name() }

// Describe returns a one-line description of the attack.
func (a Attack) Describe() string {
	d := a.Method.Describe()
	if a.Surrogate != nil {
		d += ", " + a.Surrogate.String() + " surrogate"
	}
	if a.Encoding != nil {
		d += ", " + a.Encoding.String() + " input"
	}
	if a.Aware {
		d += ", keeping the defence's trigger for the target class out of its images"
	}
	return d
}

// Revision counts the changes to what the attack computes under an
// unchanged name, so that a cache keyed by its settings (the pipeline's
// stage hash) can tell images made by an earlier form from the current
// one. It is 0 for an attack unchanged since it was named; the aware form
// of Attack 3 is at 1: its first form kept every class's pattern out of
// every image, the current one only the image's target class's.
func (a Attack) Revision() int {
	if a.Aware {
		return 1
	}
	return 0
}

// Revisions returns the revision of every attack of as that has one
// (Revision > 0), by name; nil when none has.
func Revisions(as []Attack) map[string]int {
	var out map[string]int
	for _, a := range as {
		if r := a.Revision(); r > 0 {
			if out == nil {
				out = map[string]int{}
			}
			out[a.Name()] = r
		}
	}
	return out
}

// Validate reports an attack that cannot run: an unknown method, or a
// surrogate or encoding given to a method other than Attack 3.
func (a Attack) Validate() error {
	if _, err := a.Method.MarshalText(); err != nil {
		return err
	}
	if (a.Surrogate != nil || a.Encoding != nil) && a.Method != attack.SNNInversion {
		return fmt.Errorf("audit: %s: only Attack 3 takes a surrogate and an input path", a.Name())
	}
	if a.Aware && a.Method != attack.SNNInversion {
		return fmt.Errorf("audit: %s: only Attack 3 has an aware form", a.Name())
	}
	if a.Surrogate != nil {
		if _, err := a.Surrogate.MarshalText(); err != nil {
			return err
		}
	}
	if a.Encoding != nil {
		if _, err := a.Encoding.MarshalText(); err != nil {
			return err
		}
	}
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (a Attack) MarshalText() ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return []byte(a.Name()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Attack) UnmarshalText(b []byte) error {
	s := string(b)
	sep := "-"
	if strings.Contains(s, ":") {
		sep = ":"
	}
	base, aware := strings.CutSuffix(s, sep+"aware")
	if aware {
		var out Attack
		if err := out.UnmarshalText([]byte(base)); err != nil {
			return err
		}
		if out.Aware {
			return fmt.Errorf("unknown attack %q (aware once)", s)
		}
		out.Aware = true
		if err := out.Validate(); err != nil {
			return err
		}
		*a = out
		return nil
	}
	head, rest, variant := strings.Cut(s, sep)
	if sep == "-" && variant {
		// "fast-sigmoid" holds a dash: the encoding is the last part.
		i := strings.LastIndex(rest, "-")
		if i < 0 {
			return fmt.Errorf("unknown attack %q (attack3-SURROGATE-ENCODING)", s)
		}
		rest = rest[:i] + ":" + rest[i+1:]
	}
	var out Attack
	if err := out.Method.UnmarshalText([]byte(head)); err != nil {
		return err
	}
	if variant {
		sg, enc, ok := strings.Cut(rest, ":")
		if !ok {
			return fmt.Errorf("unknown attack %q (attack3:SURROGATE:ENCODING)", s)
		}
		if sg != "default" {
			var k snn.SurrogateKind
			if err := k.UnmarshalText([]byte(sg)); err != nil {
				return fmt.Errorf("attack %q: %w", s, err)
			}
			out.Surrogate = &k
		}
		if enc != "default" {
			var e attack.Encoding
			if err := e.UnmarshalText([]byte(enc)); err != nil {
				return fmt.Errorf("attack %q: %w", s, err)
			}
			out.Encoding = &e
		}
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*a = out
	return nil
}

// UnmarshalJSON accepts an attack as a string or a method number.
func (a *Attack) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		return a.UnmarshalText([]byte(s))
	}
	return a.UnmarshalText(b)
}

// Of returns the plain attacks of the methods.
func Of(methods ...attack.Method) []Attack {
	out := make([]Attack, len(methods))
	for i, m := range methods {
		out[i] = Attack{Method: m}
	}
	return out
}

// WorstCase returns every attack built here: Attack 1, Attack 2, Attack 3
// with each surrogate (triangle, fast-sigmoid, atan) and each input path
// (Poisson straight-through, direct analog input), Attack 3's optimiser on
// the re-converted ANN (Attack 4), the gradient-free NES attack (Attack 5)
// and, for a model with defence patterns (Model.Avoid), the aware form of
// Attack 3 with each surrogate and direct input.
func WorstCase() []Attack {
	out := Of(attack.Visualize, attack.SNNGradient)
	for _, k := range []snn.SurrogateKind{snn.Triangle, snn.FastSigmoid, snn.Atan} {
		for _, e := range []attack.Encoding{attack.PoissonEncoding, attack.DirectEncoding} {
			out = append(out, Attack{Method: attack.SNNInversion, Surrogate: &k, Encoding: &e})
		}
	}
	out = append(out, Of(attack.ANNInversion, attack.NESAttack)...)
	for _, k := range []snn.SurrogateKind{snn.Triangle, snn.FastSigmoid, snn.Atan} {
		e := attack.DirectEncoding
		out = append(out, Attack{Method: attack.SNNInversion, Surrogate: &k, Encoding: &e, Aware: true})
	}
	return out
}

// Attacks is a list of attacks written as "1,2,attack3-atan-direct", or
// "worst-case" for WorstCase: a flag.Value.
type Attacks []Attack

// Set implements flag.Value.
func (as *Attacks) Set(text string) error {
	var out Attacks
	for _, s := range strings.Split(text, ",") {
		s = strings.TrimSpace(s)
		if s == "worst-case" {
			out = append(out, WorstCase()...)
			continue
		}
		var a Attack
		if err := a.UnmarshalText([]byte(s)); err != nil {
			return err
		}
		out = append(out, a)
	}
	*as = out
	return nil
}

// String implements flag.Value.
func (as *Attacks) String() string {
	if as == nil {
		return ""
	}
	parts := make([]string, len(*as))
	for i, a := range *as {
		parts[i] = a.Name()
	}
	s := strings.Join(parts, ",")
	if s == worstCaseNames() {
		return "worst-case"
	}
	return s
}

// worstCaseNames is the String of WorstCase's attacks, listed.
func worstCaseNames() string {
	var parts []string
	for _, a := range WorstCase() {
		parts = append(parts, a.Name())
	}
	return strings.Join(parts, ",")
}

// UnmarshalJSON accepts a list of attacks, or the string "worst-case".
func (as *Attacks) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*as = nil
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		return as.Set(s)
	}
	var list []Attack
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*as = list
	return nil
}
