package convert

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/setting"
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

	cands := []Candidate{{Percentile: 99, InitMembrane: 0.5, Encoder: snn.Direct}, {Encoder: snn.Poisson}}
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
	if s.Options().Timesteps != SelectTimesteps {
		t.Fatalf("select defaults %+v", s.Options())
	}
	var shrunk []Shrunk
	note := func(k Shrunk) error { shrunk = append(shrunk, k); return nil }
	// 3,000 images: the defaults fit.
	p, err := s.Resolve(3000, "pool", norm, note)
	if err != nil || p.HeldOut != SelectHeldOutImages || p.Sampling.Images != SelectCalibImages || len(shrunk) != 0 {
		t.Fatalf("3000 images: %+v, %v, shrunk %+v", p, err, shrunk)
	}
	// 900 images: the default held-out (1,024) shrinks to a third, the
	// default calibration count (512) fits the remaining 600.
	p, err = s.Resolve(900, "pool", norm, note)
	if err != nil || p.HeldOut != 300 || p.Sampling.Images != 512 || len(shrunk) != 1 || !p.Smooth || p.Sampling.CropPad != 0 {
		t.Fatalf("900 images: %+v, %v, shrunk %+v", p, err, shrunk)
	}
	if k := shrunk[0]; k.Key != "held_out" || k.Used != 300 || k.Default != SelectHeldOutImages || k.Of != 900 {
		t.Errorf("held-out shrunk %+v", k)
	}
	// 600 images: both shrink, and both say so.
	shrunk = nil
	if p, err = s.Resolve(600, "pool", norm, note); err != nil || p.HeldOut != 200 || p.Sampling.Images != 400 || len(shrunk) != 2 {
		t.Fatalf("600 images: %+v, %v, shrunk %+v", p, err, shrunk)
	}
	// Counts given that do not fit are errors naming the setting.
	s.CalibImages = 700
	if _, err := s.Resolve(900, "pool", norm, nil); !isSetting(err, "calib_images") {
		t.Errorf("calibration count beyond the pool: %v", err)
	}
	s = DefaultSettings(RecipeSelect)
	s.HeldOut = 900
	if _, err := s.Resolve(900, "pool", norm, nil); !isSetting(err, "held_out") {
		t.Errorf("held-out of the whole pool: %v", err)
	}
	// A count given that fits is kept, even above the default.
	s.HeldOut, s.CalibImages = 2000, 600
	if p, err = s.Resolve(3000, "pool", norm, nil); err != nil || p.HeldOut != 2000 || p.Sampling.Images != 600 {
		t.Fatalf("given counts: %+v, %v", p, err)
	}
	// The paper's recipe augments every pass; pinning a select setting
	// narrows the candidates.
	s = DefaultSettings(RecipePaper)
	if p, err = s.Resolve(5000, "pool", norm, nil); err != nil || p.HeldOut != 0 || !p.Sampling.PerPass || !p.Sampling.Flip ||
		p.Sampling.CropPad != PaperCropPad || p.Sampling.Images != PaperCalibImages || p.Options.Timesteps != PaperTimesteps {
		t.Fatalf("paper: %+v, %v", p, err)
	}
	s = DefaultSettings(RecipeSelect)
	pc := 99.0
	s.Percentile = &pc
	for _, c := range s.Candidates() {
		if c.Percentile != 99 {
			t.Fatalf("pinned percentile: candidate %+v", c)
		}
	}
	if len(s.Candidates()) >= len(DefaultCandidates()) {
		t.Errorf("pinning left %d of %d candidates", len(s.Candidates()), len(DefaultCandidates()))
	}
	paperPinned := DefaultSettings(RecipePaper)
	paperPinned.Percentile = &pc
	var pinned *PinnedError
	if err := paperPinned.Validate(); !errors.As(err, &pinned) || pinned.Key != "percentile" {
		t.Errorf("paper recipe with a pinned percentile: %v", err)
	}
	badRecipe, badAugment := DefaultSettings(RecipePaper), DefaultSettings(RecipePaper)
	badRecipe.Recipe, badAugment.Augment = "fast", "maybe"
	for _, bad := range []Settings{badRecipe, badAugment} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// isSetting reports whether err is a setting.Error for key.
func isSetting(err error, key string) bool {
	e, ok := setting.As(err)
	return ok && e.Key == key
}
