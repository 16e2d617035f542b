package audit

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/progress/progresstest"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/vgg"
)

var norm = imageset.Normalization{Mean: 0.5, Std: 0.5}

func tinyModel(t *testing.T, seed uint64, features []vgg.Item) *vgg.Model {
	t.Helper()
	cfg := vgg.Config{Name: "t", Features: features, Hidden: []int{16}, Classes: 3, InChannels: 1, InHeight: 8, InWidth: 8}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func tinySNN(t *testing.T) *snn.Network {
	t.Helper()
	m := tinyModel(t, 1, []vgg.Item{4, vgg.A, 8})
	net, err := snn.New(m, snn.Config{Timesteps: 4, Leak: 1, Thresholds: []float32{0.3, 0.3, 0.3}, Encoder: snn.Poisson})
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// images returns n random images per class of 3.
func images(n int, seed uint64) *imageset.Set {
	r := rand.New(rand.NewPCG(seed, 9))
	s := &imageset.Set{Channels: 1, Height: 8, Width: 8, Classes: 3, ClassNames: imageset.GenericNames(3)}
	for c := range int32(3) {
		for range n {
			s.Labels = append(s.Labels, c)
			for range 64 {
				s.Pixels = append(s.Pixels, uint8(r.IntN(256)))
			}
		}
	}
	return s
}

func quick() Options {
	o := Defaults()
	o.Methods = Of(attack.Visualize, attack.SNNGradient, attack.SNNInversion)
	o.PerClass = 2
	o.Bootstrap = 20
	o.Visualize.Iterations = 3
	o.SNNGradient.Iterations = 2
	o.Inversion.Iterations = 2
	o.Inversion.Restarts = 1
	o.ANNInversion = o.Inversion
	o.NES.Iterations, o.NES.Samples = 2, 2
	return o
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	ev := []*Evaluator{{Model: tinyModel(t, 7, []vgg.Item{2, vgg.A}), Norm: norm, Batch: 5}}
	models := []Model{{Name: "snn", SNN: tinySNN(t), Norm: norm}, {Name: "ann", ANN: tinyModel(t, 3, []vgg.Item{4, vgg.A, 8}), Norm: norm}}
	test, syn := images(6, 1), images(3, 2)
	var stages []string
	rec := &progresstest.Recorder{T: t}
	record := rec.Func()
	rep, err := Run(ctx, models, ev, test, syn, quick(), func(r progress.Report) error {
		stage := cmp.Or(r.Stage, r.Label)
		if len(stages) == 0 || stages[len(stages)-1] != stage {
			stages = append(stages, stage)
		}
		return record(r)
	})
	if err != nil {
		t.Fatal(err)
	}
	var sets []string
	for _, r := range rep.Rows {
		sets = append(sets, r.Model+"/"+r.Set)
		if r.Score.Images != 6 {
			t.Errorf("%s/%s: %d images scored, want 6", r.Model, r.Set, r.Score.Images)
		}
		if (r.Self != nil) != (r.Result != nil) {
			t.Errorf("%s/%s: self %v with result %v", r.Model, r.Set, r.Self, r.Result != nil)
		}
	}
	want := []string{"snn/attack1", "snn/attack2", "snn/attack3", "ann/attack1", "/real", "/noise", "/synthetic"}
	if !reflect.DeepEqual(sets, want) {
		t.Fatalf("rows %v, want %v", sets, want)
	}
	if len(rep.Skipped) != 2 || !strings.Contains(rep.Skipped[0], "attack2 on ann") {
		t.Errorf("skipped %v", rep.Skipped)
	}
	if rep.Reference != test.Len()-6 {
		t.Errorf("reference of %d images, want %d", rep.Reference, test.Len()-6)
	}
	if stages[0] != "reference distribution" || !contains(stages, "attack3 on snn") {
		t.Errorf("stages %v", stages)
	}
	// A callback's error stops the audit in the attack it reports on.
	stop := &progresstest.Recorder{T: t, StopAfter: 3}
	_, err = Run(ctx, models, ev, test, syn, quick(), stop.Func())
	stop.CheckStopped(err)
	if s := stop.Reports[2].Stage; s != "attack1 on snn" || !strings.Contains(err.Error(), s) {
		t.Errorf("stopped in %q: %v", s, err)
	}
	// The same seed gives the same images; another seed other ones.
	again, err := Run(ctx, models, ev, test, syn, quick(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rep.Rows {
		if !reflect.DeepEqual(rep.Rows[i].Score, again.Rows[i].Score) {
			t.Errorf("row %d: %+v, then %+v", i, rep.Rows[i].Score, again.Rows[i].Score)
		}
	}
	o := quick()
	o.Seed = 1
	other, err := Run(ctx, models, ev, test, syn, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(other.Rows[0].Result.Pixels, rep.Rows[0].Result.Pixels) {
		t.Error("seeds 0 and 1 gave the same Attack 1 images")
	}
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| Attack 2 (", "| real test images (disjoint split) |", "Skipped: attack3 on ann"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, b.String())
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// The real row and the reference distribution are disjoint, and together
// they are the test set.
func TestSplit(t *testing.T) {
	s := images(5, 3)
	picked, rest, err := split(s, 3, 2, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if picked.Len() != 6 || rest.Len() != 9 {
		t.Fatalf("split %d + %d of %d", picked.Len(), rest.Len(), s.Len())
	}
	count := map[string]int{}
	for i := range s.Len() {
		count[string(s.Pixels[i*64:(i+1)*64])]++
	}
	for _, part := range []*imageset.Set{picked, rest} {
		for i := range part.Len() {
			count[string(part.Pixels[i*64:(i+1)*64])]--
		}
	}
	for _, n := range count {
		if n != 0 {
			t.Fatal("the split is not a partition of the test set")
		}
	}
	if !reflect.DeepEqual(labelsOf(picked), attack.Targets(3, 2)) {
		t.Errorf("picked labels %v", picked.Labels)
	}
	if _, _, err := split(s, 3, 6, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("no error for more images per class than a class has")
	}
}

func TestRunErrors(t *testing.T) {
	ctx := context.Background()
	ev := []*Evaluator{{Model: tinyModel(t, 7, []vgg.Item{2, vgg.A}), Norm: norm}}
	m := []Model{{Name: "snn", SNN: tinySNN(t), Norm: norm}}
	test := images(6, 1)
	bad := *test
	bad.Labels = append([]int32(nil), test.Labels...)
	bad.Labels[0] = 3
	wrongShape := *test
	wrongShape.Height = 7
	noMethods := quick()
	noMethods.Methods = nil
	for name, run := range map[string]func() error{
		"no models":      func() error { _, err := Run(ctx, nil, ev, test, nil, quick(), nil); return err },
		"no evaluator":   func() error { _, err := Run(ctx, m, nil, test, nil, quick(), nil); return err },
		"label":          func() error { _, err := Run(ctx, m, ev, &bad, nil, quick(), nil); return err },
		"shape":          func() error { _, err := Run(ctx, m, ev, &wrongShape, nil, quick(), nil); return err },
		"no methods":     func() error { _, err := Run(ctx, m, ev, test, nil, noMethods, nil); return err },
		"too few images": func() error { o := quick(); o.PerClass = 7; _, err := Run(ctx, m, ev, test, nil, o, nil); return err },
		"empty network": func() error {
			_, err := Run(ctx, []Model{{Name: "x", Norm: norm}}, ev, test, nil, quick(), nil)
			return err
		},
		"progress error": func() error {
			_, err := Run(ctx, m, ev, test, nil, quick(), func(progress.Report) error { return context.Canceled })
			return err
		},
	} {
		if err := run(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestDirName(t *testing.T) {
	for in, want := range map[string]string{
		"DC":                     "DC",
		"DC + CET + OD":          "DC-CET-OD",
		"DC + CET + OD (T = 64)": "DC-CET-OD-T-64",
		"../x":                   "..-x",
		"..":                     "model",
		"":                       "model",
		"é/ü":                    "model",
		"runs/fm-sel8":           "runs-fm-sel8",
	} {
		if got := DirName(in); got != want {
			t.Errorf("DirName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLabelParentheses: an attack's label puts its description in one
// pair of parentheses, with none nested inside.
func TestLabelParentheses(t *testing.T) {
	for _, m := range []attack.Method{attack.Visualize, attack.SNNGradient, attack.SNNInversion, attack.ANNInversion, attack.NESAttack} {
		r := Row{Set: m.String()}
		l := r.Label()
		if !strings.HasPrefix(l, fmt.Sprintf("Attack %d (", int(m))) || !strings.HasSuffix(l, ")") ||
			strings.Count(l, "(") != 1 || strings.Count(l, ")") != 1 {
			t.Errorf("%v: label %q, want one pair of parentheses", m, l)
		}
	}
}
