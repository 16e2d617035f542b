package qcfs

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// teacher returns a random 1×8×8 → 3-class ReLU network.
func teacher(t *testing.T, seed uint64) *vgg.Model {
	t.Helper()
	cfg := vgg.Config{Name: "tiny", Features: []vgg.Item{6, vgg.Pool, 8}, Hidden: []int{12}, Classes: 3, InChannels: 1, InHeight: 8, InWidth: 8}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// images returns n normalised random images.
func images(n int, seed uint64) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 2))
	x := tensor.New(n, 1, 8, 8)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

func small() Options {
	o := Defaults()
	o.Levels, o.Epochs, o.BatchSize, o.HeldOut, o.LR, o.ClipLR, o.Seed = 4, 6, 10, -1, 3e-3, 3e-3, 7
	return o
}

// Training lowers the distillation loss, leaves the teacher alone and
// returns a QCFS network of the asked levels.
func TestRunDistils(t *testing.T) {
	m := teacher(t, 1)
	before := slices.Clone(m.Convs[0].Weight.W.Data)
	r, err := Run(context.Background(), m, images(80, 3), small(), imageset.TrainingNormalization(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := r.Record.History
	if len(h) != 6 || !(h[5].Loss < 0.8*h[0].Loss) {
		t.Errorf("loss by epoch %+v: want the last below 0.8× the first", h)
	}
	if r.Model.Config.Levels != 4 || len(r.Model.Acts) != 3 || r.Record.Kept != 6 {
		t.Errorf("levels %d, %d activations, kept epoch %d", r.Model.Config.Levels, len(r.Model.Acts), r.Record.Kept)
	}
	if !slices.Equal(before, m.Convs[0].Weight.W.Data) {
		t.Error("Run changed the teacher's weights")
	}
	if slices.Equal(before, r.Model.Convs[0].Weight.W.Data) {
		t.Error("Run left the student's weights as the teacher's")
	}
}

// Without epochs the clips are the percentile of the ANN's
// pre-activations, and the weights the ANN's.
func TestRunClipsOnly(t *testing.T) {
	m := teacher(t, 2)
	x := images(50, 4)
	o := small()
	o.Epochs, o.Percentile = 0, 95
	r, err := Run(context.Background(), m, x, o, imageset.TrainingNormalization(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := convert.ActivationClips(context.Background(), m, x, 95, rand.New(rand.NewPCG(o.Seed, 0xc11b)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Model.Clips(), want) || !slices.Equal(r.Record.InitClips, want) {
		t.Errorf("clips %v, want %v", r.Model.Clips(), want)
	}
	if !slices.Equal(r.Model.Linears[0].Weight.W.Data, m.Linears[0].Weight.W.Data) {
		t.Error("weights changed without training")
	}
}

// With held-out images Run returns the epoch (or the start) that agrees
// most with the ANN on them, and the same options give the same network.
func TestRunKeepsBest(t *testing.T) {
	m := teacher(t, 3)
	x := images(120, 5)
	o := small()
	o.HeldOut, o.LR = 40, 5e-2 // a rate high enough that some epochs lose agreement
	r, err := Run(context.Background(), m, x, o, imageset.TrainingNormalization(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("before %g, history %+v, kept %d", r.Record.Agreement, r.Record.History, r.Record.Kept)
	best, kept := r.Record.Agreement, 0
	for _, e := range r.Record.History {
		if e.Agreement > best {
			best, kept = e.Agreement, e.Epoch
		}
	}
	if r.Record.Kept != kept {
		t.Errorf("kept epoch %d, want %d (history %+v, before %g)", r.Record.Kept, kept, r.Record.History, r.Record.Agreement)
	}
	held := imageset.Smooth(tensor.FromData(x.Data[80*64:], 40, 1, 8, 8))
	want, err := convert.ANNPredictions(context.Background(), m, held)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := agreement(context.Background(), r.Model, held, want); err != nil || got != best {
		t.Errorf("returned network agrees on %g of the held-out images, record says %g", got, best)
	}
	again, err := Run(context.Background(), m, x, o, imageset.TrainingNormalization(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range r.Model.Params() {
		if !slices.Equal(p.W.Data, again.Model.Params()[i].W.Data) {
			t.Fatalf("two runs with the same options differ in %s", p.Name)
		}
	}
}

func TestRunRefuses(t *testing.T) {
	m := teacher(t, 4)
	norm := imageset.TrainingNormalization()
	for _, c := range []struct {
		name string
		edit func(*Options)
		key  string
	}{
		{"no levels or timesteps", func(o *Options) { o.Levels, o.Timesteps = 0, 0 }, "timesteps"},
		{"percentile", func(o *Options) { o.Percentile = 20 }, "percentile"},
		{"tau", func(o *Options) { o.Tau = 0 }, "tau"},
		{"lr", func(o *Options) { o.LR = 2 }, "lr"},
		{"batch", func(o *Options) { o.BatchSize = 0 }, "batch"},
	} {
		o := small()
		c.edit(&o)
		_, err := Run(context.Background(), m, images(40, 1), o, norm, nil)
		var se *setting.Error
		if !errors.As(err, &se) || se.Key != c.key {
			t.Errorf("%s: %v, want a setting error of %s", c.name, err, c.key)
		}
	}
	o := small()
	o.HeldOut = 35
	if _, err := Run(context.Background(), m, images(40, 1), o, norm, nil); err == nil {
		t.Error("5 training images for a batch of 10 accepted")
	}
	q, err := Run(context.Background(), m, images(40, 1), Options{Levels: 2, Percentile: 99, BatchSize: 10, Tau: 1}, norm, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), q.Model, images(40, 1), small(), norm, nil); err == nil {
		t.Error("a QCFS network quantised again")
	}
	if _, err := Run(context.Background(), m, tensor.New(10, 1, 4, 4), small(), norm, nil); err == nil {
		t.Error("images of the wrong shape accepted")
	}
}

func TestLevelsFor(t *testing.T) {
	for T, want := range map[int]int{1: 2, 2: 2, 4: 4, 8: 8, 100: 64} {
		if got := LevelsFor(T); got != want {
			t.Errorf("LevelsFor(%d) = %d, want %d", T, got, want)
		}
	}
	o := small()
	o.Levels, o.Timesteps = 0, 8
	if o.levels() != 8 {
		t.Errorf("levels from T=8: %d", o.levels())
	}
}

// HeldOut 0 holds out DefaultHeldOut images, a third of a smaller set;
// −1 none; a count is taken as given.
func TestHeldOutImages(t *testing.T) {
	o := Defaults()
	for n, want := range map[int]int{5000: 1000, 3000: 1000, 300: 100, 2: 0} {
		if got := o.HeldOutImages(n); got != want {
			t.Errorf("default held out of %d: %d, want %d", n, got, want)
		}
	}
	o.HeldOut = -1
	if got := o.HeldOutImages(5000); got != 0 {
		t.Errorf("-1 holds out %d", got)
	}
	o.HeldOut = 7
	if got := o.HeldOutImages(5000); got != 7 {
		t.Errorf("7 holds out %d", got)
	}
	o.HeldOut = -2
	if o.Validate() == nil {
		t.Error("held_out -2 accepted")
	}
}
