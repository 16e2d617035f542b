package audit

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Every attack's text form reads back as the same attack, in all the
// spellings the flags and configurations accept.
func TestAttackText(t *testing.T) {
	for _, a := range WorstCase() {
		b, err := a.MarshalText()
		if err != nil {
			t.Fatalf("%v: %v", a, err)
		}
		var back Attack
		if err := back.UnmarshalText(b); err != nil || back.Name() != a.Name() || !reflect.DeepEqual(back, a) {
			t.Errorf("%s read back as %+v, %v", b, back, err)
		}
	}
	for in, want := range map[string]string{
		"3":                                  "attack3",
		"attack5":                            "attack5",
		"nes":                                "attack5",
		"3:atan:direct":                      "attack3-atan-direct",
		"attack3-fast-sigmoid-poisson":       "attack3-fast-sigmoid-poisson",
		"attack3-default-direct":             "attack3-default-direct",
		"attack3:fast-sigmoid:default":       "attack3-fast-sigmoid-default",
		"attack3-aware":                      "attack3-aware",
		"3:atan:direct:aware":                "attack3-atan-direct-aware",
		"attack3-fast-sigmoid-poisson-aware": "attack3-fast-sigmoid-poisson-aware",
	} {
		var a Attack
		if err := a.UnmarshalText([]byte(in)); err != nil || a.Name() != want {
			t.Errorf("%q: %q, %v; want %q", in, a.Name(), err, want)
		}
	}
	for _, bad := range []string{"", "6", "attack3-atan", "attack3-atan-sideways", "attack2-atan-direct", "3:nope:direct",
		"attack2-aware", "attack1:aware", "attack3-aware-aware", "aware"} {
		var a Attack
		if err := a.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q: no error (%v)", bad, a)
		}
	}
	var as Attacks
	if err := as.Set("1,worst-case"); err == nil {
		if o := (Options{Methods: as, PerClass: 1, Visualize: attack.DefaultVisualize(), SNNGradient: attack.DefaultSNNGradient(),
			Inversion: attack.DefaultInversion(), ANNInversion: attack.DefaultInversion(), NES: attack.DefaultNES()}); o.Validate() == nil {
			t.Error("attack1 listed twice passes Validate")
		}
	} else {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`"worst-case"`), &as); err != nil || len(as) != len(WorstCase()) {
		t.Errorf("worst-case from JSON: %v, %v", as, err)
	}
	if err := json.Unmarshal([]byte(`[1, "attack3-atan-poisson"]`), &as); err != nil || as.String() != "attack1,attack3-atan-poisson" {
		t.Errorf("list from JSON: %v, %v", as.String(), err)
	}
}

// The worst-case suite holds Attack 3 once per surrogate and input path,
// and its aware form once per surrogate with direct input.
func TestWorstCaseSuite(t *testing.T) {
	seen := map[string]bool{}
	n3 := 0
	for _, a := range WorstCase() {
		if seen[a.Name()] {
			t.Errorf("%s twice", a.Name())
		}
		seen[a.Name()] = true
		if a.Method == attack.SNNInversion {
			n3++
		}
	}
	if n3 != 9 || !seen["attack1"] || !seen["attack2"] || !seen["attack4"] || !seen["attack5"] || !seen["attack3-fast-sigmoid-direct"] ||
		!seen["attack3-triangle-direct-aware"] || !seen["attack3-atan-direct-aware"] {
		t.Errorf("suite %v", seen)
	}
}

// Two copies of one network are attacked from the same starting images
// and draws: their images are identical, every paired difference is 0,
// and the worst case is the highest top-1 over attacks and evaluators.
func TestPairedAndWorstCase(t *testing.T) {
	ctx := context.Background()
	a, b := tinySNN(t), tinySNN(t)
	evs := []*Evaluator{{Name: "E1", Model: tinyModel(t, 7, []vgg.Item{2, vgg.A}), Norm: norm},
		{Name: "E2", Model: tinyModel(t, 8, []vgg.Item{4, vgg.A}), Norm: norm}}
	o := quick()
	k, e := snn.Atan, attack.DirectEncoding
	o.Methods = append(Of(attack.SNNGradient, attack.ANNInversion, attack.NESAttack), Attack{Method: attack.SNNInversion, Surrogate: &k, Encoding: &e})
	rep, err := Run(ctx, []Model{{Name: "A", SNN: a, Norm: norm}, {Name: "B", SNN: b, Norm: norm}}, evs, images(6, 1), nil, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]*Row{}
	for i := range rep.Rows {
		byKey[rep.Rows[i].Model+"/"+rep.Rows[i].Set] = &rep.Rows[i]
	}
	for _, at := range o.Methods {
		ra, rb := byKey["A/"+at.Name()], byKey["B/"+at.Name()]
		if ra == nil || rb == nil || !reflect.DeepEqual(ra.Result.Pixels, rb.Result.Pixels) {
			t.Errorf("%s: the two copies got different images", at.Name())
		}
		if len(ra.More) != 1 || ra.SelfCI == nil || ra.Top1CI.Lo > ra.Top1 || ra.Top1CI.Hi < ra.Top1 || ra.FDCI == nil {
			t.Errorf("%s: row %+v lacks the second evaluator or an interval", at.Name(), ra)
		}
	}
	if len(rep.Pairs) != len(o.Methods)*len(evs) {
		t.Fatalf("%d pairs, want %d", len(rep.Pairs), len(o.Methods)*len(evs))
	}
	for _, p := range rep.Pairs {
		if p.Diff != 0 || p.CI.Lo > 0 || p.CI.Hi < 0 || p.Model != "B" || p.Against != "A" {
			t.Errorf("pair %+v of identical models", p)
		}
	}
	if len(rep.WorstCase) != 2 {
		t.Fatalf("worst case %+v", rep.WorstCase)
	}
	for _, w := range rep.WorstCase {
		best := -1.0
		for _, r := range rep.Rows {
			if r.Model != w.Model {
				continue
			}
			for _, s := range r.Scores() {
				best = max(best, s.Top1)
			}
		}
		row := byKey[w.Model+"/"+w.Attack]
		if w.Top1 != best || row == nil {
			t.Errorf("worst case %+v, best top-1 %g", w, best)
			continue
		}
		if s := row.Scores()[map[string]int{"E1": 0, "E2": 1}[w.Evaluator]]; s.Top1 != w.Top1 || s.Top1CI != w.Top1CI {
			t.Errorf("worst case %+v does not match its row's score %+v", w, s)
		}
	}
	var tb strings.Builder
	if err := rep.WriteTable(&tb); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"top-1, E1 [95 % CI]", "top-1, E2 [95 % CI]", "Worst case:", "| attack5 | B − A | E2 | +0.0 pp ["} {
		if !strings.Contains(tb.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, tb.String())
		}
	}
	evs[1].Name = "E1"
	if _, err := Run(ctx, []Model{{Name: "A", SNN: a, Norm: norm}}, evs, images(6, 1), nil, o, nil); err == nil || !strings.Contains(err.Error(), `two evaluators are named "E1"`) {
		t.Errorf("two evaluators of one name: %v", err)
	}
}

// The aware forms of Attack 3 run on a model with defence patterns and
// are skipped, in one line with the reason, on a model without.
func TestAwareAttack(t *testing.T) {
	ctx := context.Background()
	evs := []*Evaluator{{Name: "E1", Model: tinyModel(t, 7, []vgg.Item{2, vgg.A}), Norm: norm}}
	classes := tinySNN(t).Model.Config.Classes
	pat := tensor.New(classes, 1, 8, 8) // one trigger per class
	for i := range pat.Data {
		pat.Data[i] = float32((i%8)*(1+i/64%3)) / 21
	}
	o := quick()
	k, k2, e := snn.Triangle, snn.Atan, attack.DirectEncoding
	o.Methods = Attacks{{Method: attack.SNNInversion, Surrogate: &k, Encoding: &e, Aware: true},
		{Method: attack.SNNInversion, Surrogate: &k2, Encoding: &e, Aware: true}}
	rep, err := Run(ctx, []Model{{Name: "trap", SNN: tinySNN(t), Norm: norm, Avoid: pat}, {Name: "plain", SNN: tinySNN(t), Norm: norm}},
		evs, images(6, 1), nil, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rows int
	for _, r := range rep.Rows {
		if strings.HasSuffix(r.Set, "-aware") {
			rows++
			if r.Model != "trap" {
				t.Errorf("aware row for %s", r.Model)
			}
		}
	}
	if rows != 2 || len(rep.Skipped) != 1 ||
		rep.Skipped[0] != "attack3-triangle-direct-aware, attack3-atan-direct-aware on plain: the model has no defence patterns (trapdoor triggers) to keep out" {
		t.Errorf("%d aware rows, skipped %q", rows, rep.Skipped)
	}
	m := Model{Name: "plain", SNN: tinySNN(t), Norm: norm}
	if _, err := RunAttack(ctx, &m, o.Methods[0], []int{0}, o, AttackStream(0, o.Methods[0]), nil); err == nil {
		t.Error("RunAttack ran the aware attack on a model without patterns")
	}
	m.Avoid = tensor.FromData(pat.Data[:64], 1, 1, 8, 8) // one trigger for several classes
	if _, err := RunAttack(ctx, &m, o.Methods[0], []int{classes - 1}, o, AttackStream(0, o.Methods[0]), nil); err == nil {
		t.Error("RunAttack ran the aware attack for a target without a trigger")
	}
}

// Only the aware Attack 3 has changed under its name (revision 1); the
// worst-case suite's revisions name exactly its three aware attacks.
func TestRevisions(t *testing.T) {
	all := WorstCase()
	got := Revisions(all)
	aware := 0
	for _, a := range all {
		want := 0
		if a.Aware {
			want = 1
			aware++
		}
		if a.Revision() != want {
			t.Errorf("%s: revision %d, want %d", a.Name(), a.Revision(), want)
		}
		if got[a.Name()] != want {
			t.Errorf("Revisions: %s → %d, want %d", a.Name(), got[a.Name()], want)
		}
	}
	if len(got) != aware || aware != 3 {
		t.Errorf("Revisions(WorstCase()) = %v, want the 3 aware attacks", got)
	}
	if r := Revisions(Of(attack.Visualize, attack.SNNGradient, attack.SNNInversion, attack.ANNInversion, attack.NESAttack)); r != nil {
		t.Errorf("Revisions of the plain attacks = %v, want nil", r)
	}
}
