package convert

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

// TestConvertRecipes: the paper recipe is Calibrate; the select recipe
// holds out the first HeldOut images of one shuffle of the pool, draws the
// calibration images from the rest and runs Select on them; both are
// deterministic in the seed.
func TestConvertRecipes(t *testing.T) {
	m, _ := toyModel(t)
	pool := tensor.New(30, 2, 6, 6)
	pool.RandUniform(rand.New(rand.NewPCG(5, 5)), -1, 1)
	o := Defaults()
	o.Timesteps = 10

	paper := Plan{Recipe: RecipePaper, Options: o, Sampling: Sampling{Images: 12}}
	got, err := Convert(context.Background(), m, pool, paper, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Calibrate(context.Background(), m, pool, paper.Sampling, o, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Thresholds, want) || got.CalibrationImages != 12 || got.Selection != nil {
		t.Fatalf("paper recipe %+v, want Calibrate's %v", got, want)
	}

	cands := []snn.Candidate{{Percentile: 99, InitMembrane: 0.5, Encoder: snn.Direct}, {Encoder: snn.Poisson}}
	sel := Plan{Recipe: RecipeSelect, Options: o, Sampling: Sampling{Images: 8}, Candidates: cands, HeldOut: 10}
	got, err = Convert(context.Background(), m, pool, sel, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	// The same split by hand.
	rng := rand.New(rand.NewPCG(3, 3))
	perm := rng.Perm(30)
	per := pool.Len() / 30
	take := func(idx []int) *tensor.Tensor {
		x := tensor.New(len(idx), 2, 6, 6)
		for j, i := range idx {
			copy(x.Data[j*per:(j+1)*per], pool.Data[i*per:(i+1)*per])
		}
		return x
	}
	held, rest := take(perm[:10]), take(perm[10:])
	calib := sel.Sampling.Draw(rest, rng)
	r, err := Select(context.Background(), m, calib, held, SelectOptions{Base: o, Candidates: cands}, rng)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Thresholds, r.Thresholds) || got.Selection == nil || got.Selection.HeldOutImages != 10 ||
		got.Selection.CalibrationImages != 8 || got.CalibrationImages != 8 || got.Options.Encoder != r.Options.Encoder {
		t.Fatalf("select recipe %+v, want %+v", got, r)
	}

	for name, p := range map[string]Plan{
		"per-pass select": {Recipe: RecipeSelect, Options: o, Sampling: Sampling{PerPass: true}, HeldOut: 5},
		"no held-out":     {Recipe: RecipeSelect, Options: o, HeldOut: 0},
		"all held out":    {Recipe: RecipeSelect, Options: o, HeldOut: 30},
		"unknown recipe":  {Recipe: "fast", Options: o},
	} {
		if _, err := Convert(context.Background(), m, pool, p, rand.New(rand.NewPCG(3, 3))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSettingsResolve(t *testing.T) {
	norm := imageset.Normalization{Mean: 0.5, Std: 0.5}
	s := DefaultSettings(RecipeSelect)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Options.Timesteps != SelectTimesteps || s.CalibImages != SelectCalibImages || s.HeldOut != SelectHeldOutImages {
		t.Fatalf("select defaults %+v", s)
	}
	var notes []string
	note := func(f string, a ...any) { notes = append(notes, fmt.Sprintf(f, a...)) }
	// 900 images: the default held-out (1,024) shrinks to a third, the
	// default calibration count (512) fits the remaining 600.
	p, err := s.Resolve(900, "pool", norm, note)
	if err != nil || p.HeldOut != 300 || p.Sampling.Images != 512 || len(notes) != 1 || !p.Smooth || p.Sampling.CropPad != 0 {
		t.Fatalf("900 images: %+v, %v, notes %q", p, err, notes)
	}
	// 600 images: both shrink, and both say so.
	notes = nil
	if p, err = s.Resolve(600, "pool", norm, note); err != nil || p.HeldOut != 200 || p.Sampling.Images != 400 || len(notes) != 2 {
		t.Fatalf("600 images: %+v, %v, notes %q", p, err, notes)
	}
	// Explicit counts that do not fit are errors.
	s.CalibImages, s.CalibExplicit = 700, true
	if _, err := s.Resolve(900, "pool", norm, nil); !errors.Is(err, ErrSettings) {
		t.Errorf("explicit calibration count beyond the pool: %v", err)
	}
	s = DefaultSettings(RecipeSelect)
	s.HeldOut, s.HeldOutExplicit = 900, true
	_ = s.Validate()
	if _, err := s.Resolve(900, "pool", norm, nil); !errors.Is(err, ErrSettings) {
		t.Errorf("explicit held-out of the whole pool: %v", err)
	}
	// The paper's recipe augments every pass; pinning a select setting
	// narrows the candidates.
	s = DefaultSettings(RecipePaper)
	_ = s.Validate()
	if p, err = s.Resolve(5000, "pool", norm, nil); err != nil || p.HeldOut != 0 || !p.Sampling.PerPass || !p.Sampling.Flip ||
		p.Sampling.CropPad != PaperCropPad || p.Sampling.Images != PaperCalibImages || p.Options.Timesteps != PaperTimesteps {
		t.Fatalf("paper: %+v, %v", p, err)
	}
	s = DefaultSettings(RecipeSelect)
	s.Options.Percentile, s.Pin.Percentile = 99, true
	for _, c := range s.Candidates() {
		if c.Percentile != 99 {
			t.Fatalf("pinned percentile: candidate %+v", c)
		}
	}
	if len(s.Candidates()) >= len(DefaultCandidates()) {
		t.Errorf("pinning left %d of %d candidates", len(s.Candidates()), len(DefaultCandidates()))
	}
	for _, bad := range []Settings{{Recipe: "fast", Augment: AugmentAuto, Options: Defaults()}, {Recipe: RecipePaper, Augment: "maybe", Options: Defaults()}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
