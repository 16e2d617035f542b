package convert

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"

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

// TestSmooth checks the box blur on a hand-worked 3×3 plane: the centre is
// the mean of all nine values, a corner the mean of its four.
func TestSmooth(t *testing.T) {
	x := tensor.FromData([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3)
	y := Smooth(x)
	want := []float32{3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7}
	for i, v := range want {
		if y.Data[i] != v {
			t.Fatalf("smoothed %v, want %v", y.Data, want)
		}
	}
}
