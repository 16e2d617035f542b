package train

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/loss"
	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/progress/progresstest"
	"github.com/privatesnn/privatesnn/vgg"
)

// toySet has two classes: bright left half or bright right half.
func toySet(n int, rng *rand.Rand) *data.Set {
	s := &data.Set{Name: "toy", Channels: 1, Height: 8, Width: 8, Classes: 2, ClassNames: []string{"left", "right"},
		Pixels: make([]uint8, n*64), Labels: make([]int32, n)}
	for i := range n {
		c := rng.IntN(2)
		s.Labels[i] = int32(c)
		for y := range 8 {
			for x := range 8 {
				v := rng.IntN(60)
				if (x < 4) == (c == 0) {
					v += 150
				}
				s.Pixels[i*64+y*8+x] = uint8(v)
			}
		}
	}
	return s
}

func toyModel(t *testing.T) *vgg.Model {
	t.Helper()
	m, err := vgg.New(vgg.Config{Name: "toy", Features: []vgg.Item{4, vgg.Pool}, Hidden: []int{8}, Classes: 2,
		InChannels: 1, InHeight: 8, InWidth: 8, FCDropout: 0.2}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRunLearnsAndResumesExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	tr, te := toySet(200, rng), toySet(100, rng)
	o := Defaults()
	o.Epochs, o.BatchSize, o.LR, o.Augment = 3, 16, 0.05, imageset.Augment{CropPad: 1}
	m := toyModel(t)
	st, err := Run(context.Background(), m, tr, te, o, nil, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.History) != 3 || st.History[2].TestAcc < 0.9 {
		t.Fatalf("history %+v: want 3 epochs ending above 90 %% on a separable toy task", st.History)
	}
	// Interrupt a second run after 20 steps and resume from the saved state.
	m2 := toyModel(t)
	ctx, cancel := context.WithCancel(context.Background())
	var saved *State
	steps := 0
	_, err = Run(ctx, m2, tr, te, o, nil, Hooks{
		Progress: func(p progress.Report) error {
			if p.Detail == nil {
				if steps++; steps == 20 {
					cancel()
				}
			}
			return nil
		},
		Save: func(s State) error { saved = &s; return nil },
	})
	if !errors.Is(err, context.Canceled) || saved == nil || saved.Epoch != 1 || saved.Step != 7 {
		t.Fatalf("interrupted run: err %v, saved %+v", err, saved)
	}
	if saved.Sums.Seen != 7*16 || len(saved.Sums.Values) != 2 {
		t.Fatalf("interrupted at step 7 of epoch 2 with sums %+v, want 112 images and 2 values", saved.Sums)
	}
	st2, err := Run(context.Background(), m2, tr, te, o, saved, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	sameWeights(t, m, m2)
	sameHistory(t, st.History, st2.History)

	// The progress contract: a callback's error stops the run as a
	// cancellation does, after a step (report 21: step 7 of epoch 2) or
	// at the end of an epoch (report 14), and the saved state resumes to
	// the same weights.
	for _, c := range []struct{ stop, epoch, step int }{{21, 1, 7}, {14, 1, 0}} {
		m3 := toyModel(t)
		rec := &progresstest.Recorder{T: t, StopAfter: c.stop}
		var saved *State
		_, err := Run(context.Background(), m3, tr, te, o, nil, Hooks{Progress: rec.Func(), Save: func(s State) error { saved = &s; return nil }})
		rec.CheckStopped(err)
		if saved == nil || saved.Epoch != c.epoch || saved.Step != c.step {
			t.Fatalf("stopped at report %d: saved %+v, want epoch %d step %d", c.stop, saved, c.epoch, c.step)
		}
		if r := rec.Reports[13]; r.Label != "epoch 1/3" || r.Done != 13 || r.Total != 13 {
			t.Fatalf("end of epoch 1 reported as %+v", r)
		} else if e, ok := r.Detail.(*EpochResult); !ok || e.Epoch != 1 {
			t.Fatalf("end of epoch 1: detail %+v", r.Detail)
		}
		st3, err := Run(context.Background(), m3, tr, te, o, saved, Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		sameWeights(t, m, m3)
		sameHistory(t, st.History, st3.History)
	}
}

// sameHistory requires a resumed run's epochs to sum up what the
// uninterrupted run's did, all of their steps, bit for bit; their times
// differ.
func sameHistory(t *testing.T, want, got []EpochResult) {
	t.Helper()
	for i := range max(len(want), len(got)) {
		if i >= len(want) || i >= len(got) {
			t.Fatalf("%d epochs of history, want %d", len(got), len(want))
		}
		w, g := want[i], got[i]
		if !(g.Seconds > 0) || !(g.ImagesPerSec > 0) {
			t.Errorf("epoch %d: %g s, %g images/s", g.Epoch, g.Seconds, g.ImagesPerSec)
		}
		w.Seconds, w.ImagesPerSec, g.Seconds, g.ImagesPerSec = 0, 0, 0, 0
		if w != g {
			t.Errorf("resumed epoch %+v, uninterrupted %+v", g, w)
		}
	}
}

func sameWeights(t *testing.T, want, got *vgg.Model) {
	t.Helper()
	for i, p := range want.Params() {
		for j, v := range p.W.Data {
			if got.Params()[i].W.Data[j] != v {
				t.Fatalf("resumed weights differ at %s[%d]", p.Name, j)
			}
		}
	}
}

func TestValidateAndDataChecks(t *testing.T) {
	o := Defaults()
	for name, mutate := range map[string]func(*Options){
		"epochs":    func(o *Options) { o.Epochs = 0 },
		"batch":     func(o *Options) { o.BatchSize = 0 },
		"optimizer": func(o *Options) { o.Optimizer = "rmsprop" },
		"lr":        func(o *Options) { o.LR = 0 },
		"momentum":  func(o *Options) { o.Momentum = 1 },
		"fractions": func(o *Options) { o.LRFractions = []float64{0.9, 0.1} },
	} {
		oo := o
		mutate(&oo)
		if oo.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	m := toyModel(t)
	wrong := toySet(10, rand.New(rand.NewPCG(3, 3)))
	wrong.Height, wrong.Width = 4, 16
	if _, err := Run(context.Background(), m, wrong, nil, o, nil, Hooks{}); err == nil {
		t.Error("mismatched image shape accepted")
	}
	empty := &data.Set{Name: "empty", Channels: 1, Height: 8, Width: 8, Classes: 2}
	if _, err := Evaluate(context.Background(), m, empty, data.Normalization(), 8); err == nil {
		t.Error("empty set accepted")
	}
	// Batch 0 used to loop forever.
	if _, err := Evaluate(context.Background(), m, toySet(10, rand.New(rand.NewPCG(3, 3))), data.Normalization(), 0); err == nil {
		t.Error("evaluation batch 0 accepted")
	}
}

func TestTextEnums(t *testing.T) {
	var o Optimizer
	if err := o.UnmarshalText([]byte("adam")); err != nil || o != Adam {
		t.Errorf("adam: %q, %v", o, err)
	}
	if err := o.UnmarshalText([]byte("rmsprop")); err == nil {
		t.Error("rmsprop: no error")
	}
	var f Flip
	for s, want := range map[string][2]bool{"auto": {false, true}, "on": {true, true}, "off": {false, false}} {
		if err := f.UnmarshalText([]byte(s)); err != nil {
			t.Fatal(err)
		}
		if f.On("mnist") != want[0] || f.On("fashion-mnist") != want[1] {
			t.Errorf("flip %s: mnist %v, fashion-mnist %v", s, f.On("mnist"), f.On("fashion-mnist"))
		}
	}
	if err := f.UnmarshalText([]byte("sideways")); err == nil {
		t.Error("sideways: no error")
	}
}

// Evaluate normalises with the normalisation it is given (a model card's),
// not a fixed one. A toy model learns dark (pixels near 100) against light
// (near 160) images under 0.5/0.5, where the two straddle 0; under mean 0
// both are positive and its accuracy falls. Evaluate's accuracy equals a
// forward pass on the set normalised each way.
func TestEvaluateNormalization(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	level := func(n int) *data.Set {
		s := &data.Set{Name: "levels", Channels: 1, Height: 8, Width: 8, Classes: 2, ClassNames: []string{"dark", "light"},
			Pixels: make([]uint8, n*64), Labels: make([]int32, n)}
		for i := range n {
			c := rng.IntN(2)
			s.Labels[i] = int32(c)
			for p := range 64 {
				s.Pixels[i*64+p] = uint8(90 + 60*c + rng.IntN(20))
			}
		}
		return s
	}
	tr, s := level(200), level(64)
	o := Defaults()
	o.Epochs, o.BatchSize, o.LR, o.Augment = 3, 16, 0.05, imageset.Augment{}
	m := toyModel(t)
	if _, err := Run(context.Background(), m, tr, nil, o, nil, Hooks{}); err != nil {
		t.Fatal(err)
	}
	var accs []float64
	for _, norm := range []imageset.Normalization{{Mean: 0.5, Std: 0.5}, {Mean: 0, Std: 0.5}} {
		got, err := Evaluate(context.Background(), m, s, norm, 16)
		if err != nil {
			t.Fatal(err)
		}
		logits := m.Forward(s.Tensor(nil, norm.Float64Table()), nn.Mode{})
		if want := float64(loss.Correct(logits, s.Labels)) / float64(s.Len()); got != want {
			t.Errorf("%+v: Evaluate %g, forward pass %g", norm, got, want)
		}
		accs = append(accs, got)
	}
	if accs[0] == accs[1] {
		t.Fatalf("both normalisations score %g; the test cannot tell them apart", accs[0])
	}
	if _, err := Evaluate(context.Background(), m, s, imageset.Normalization{Mean: 0.5, Std: 0}, 16); err == nil {
		t.Error("std 0 accepted")
	}
}
