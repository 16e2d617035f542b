package convert

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

// rateError returns Σ over layers and channels of |target − spike rate|
// of the spiking network (m, cfg) on x, both in spikes per step.
func rateError(t *testing.T, cfg snn.Config, target [][]float64, spikes func(snn.Config, int) []float64) float64 {
	t.Helper()
	var e float64
	for l := range target {
		got := spikes(cfg, l)
		for c := range target[l] {
			e += math.Abs(target[l][c] - got[c])
		}
	}
	return e
}

// TestCorrectMovesRatesToTheANN: after Correct, every layer's spike rate
// per channel is closer, in total, to the ANN's clipped activation over
// Λ_l than the uncorrected network's (a signed network's rates being its
// net spike counts per step; a burst network's target G times the ANN's
// activation clipped at G·Λ_l over G·Λ_l); the membranes have one value per
// channel and stay within the bound; bad passes are refused.
func TestCorrectMovesRatesToTheANN(t *testing.T) {
	for _, c := range []struct {
		signed bool
		burst  int
	}{{false, 0}, {true, 0}, {false, 2}} {
		testCorrectMovesRates(t, c.signed, c.burst)
	}
}

func testCorrectMovesRates(t *testing.T, signed bool, burst int) {
	m, _ := toyModel(t)
	x := tensor.New(64, 2, 6, 6)
	x.RandUniform(rand.New(rand.NewPCG(41, 1)), -1, 1)
	o := Defaults()
	o.Timesteps, o.Encoder, o.InitMembrane, o.Percentile, o.Staged, o.Signed, o.Burst = 4, snn.Direct, 0.5, 99, true, signed, burst
	th, err := Thresholds(context.Background(), m, x, o, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := o.Config(th)
	g := float64(max(1, burst))
	clips := []float64{g * float64(th[0]), g * float64(th[0]*th[1])}
	target, err := clippedRates(context.Background(), m, x, clips, 7) // a batch that splits the images unevenly
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range target {
		for c := range tl {
			tl[c] *= g
		}
	}
	uniform := func(v float32) [][]float32 {
		return [][]float32{{v, v, v, v}, {v, v, v, v, v, v}}
	}
	spikes := func(c snn.Config, l int) []float64 {
		if c.ChannelInit == nil {
			c.ChannelInit = uniform(float32(c.InitMembrane))
		}
		net, err := snn.New(m, c)
		if err != nil {
			t.Fatal(err)
		}
		r, err := spikeMeans(context.Background(), net, c, x, l, rand.New(rand.NewPCG(2, 2)))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	before := rateError(t, cfg, target, spikes)
	ch, err := Correct(context.Background(), m, cfg, x, CorrectOptions{Passes: 3}, rand.New(rand.NewPCG(2, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 2 || len(ch[0]) != 4 || len(ch[1]) != 6 {
		t.Fatalf("membranes %v: want 4 and 6 channels", ch)
	}
	cfg.ChannelInit = ch
	after := rateError(t, cfg, target, spikes)
	if !(after < before) || before == 0 {
		t.Fatalf("signed %v, burst %d: rate error %g after the correction, %g before", signed, burst, after, before)
	}
	for _, bad := range []int{0, -1, 101} {
		if _, err := Correct(context.Background(), m, cfg, x, CorrectOptions{Passes: bad}, rand.New(rand.NewPCG(2, 2))); err == nil {
			t.Errorf("%d passes accepted", bad)
		}
	}
}

// TestConvertCorrectRecord: the select recipe with CorrectOn keeps the
// correction and records it; with CorrectOff none runs.
func TestConvertCorrectRecord(t *testing.T) {
	m, _ := toyModel(t)
	pool := tensor.New(60, 2, 6, 6)
	pool.RandUniform(rand.New(rand.NewPCG(42, 1)), -1, 1)
	s := DefaultSettings(RecipeSelect)
	s.Timesteps = 4
	for _, mode := range []CorrectMode{CorrectOff, CorrectOn, CorrectAuto} {
		s.Correct = mode
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		p, err := s.Resolve(60, "pool", imageset.Normalization{Mean: 0.5, Std: 0.5}, nil)
		if err != nil {
			t.Fatal(err)
		}
		oc, err := Convert(context.Background(), m, pool, p, rand.New(rand.NewPCG(3, 3)))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case mode == CorrectOff && (oc.Correction != nil || oc.ChannelInit != nil):
			t.Fatalf("off: correction %+v ran", oc.Correction)
		case mode == CorrectOn && (oc.Correction == nil || !oc.Correction.Kept || len(oc.ChannelInit) != 2):
			t.Fatalf("on: correction %+v, membranes %v", oc.Correction, oc.ChannelInit)
		case mode == CorrectAuto && (oc.Correction == nil || oc.Correction.Kept != (oc.Correction.AgreementAfter > oc.Correction.AgreementBefore) ||
			oc.Correction.Kept != (oc.ChannelInit != nil)):
			t.Fatalf("auto: correction %+v, membranes %v", oc.Correction, oc.ChannelInit)
		}
	}
	// The paper's recipe has no correction.
	ps := DefaultSettings(RecipePaper)
	ps.Correct = CorrectOn
	if err := ps.Validate(); err == nil {
		t.Fatal("the paper's recipe accepted a correction")
	}
}

// TestThresholdSourcePins: the thresholds setting picks the candidate
// lists (currents by default); a pinned maximum leaves no activations
// candidate; the paper's recipe refuses the setting.
func TestThresholdSourcePins(t *testing.T) {
	s := DefaultSettings(RecipeSelect)
	count := func() (cur, act int) {
		for _, c := range s.Candidates() {
			if c.Activations {
				act++
			} else {
				cur++
			}
		}
		return
	}
	for src, want := range map[ThresholdSource][2]int{"": {20, 0}, SourceCurrents: {20, 0}, SourceActivations: {0, 6}, SourceAll: {20, 6}} {
		s.Source = src
		if c, a := count(); c != want[0] || a != want[1] || s.Validate() != nil {
			t.Errorf("thresholds %q: %d current and %d activation candidates (%v), want %v", src, c, a, s.Validate(), want)
		}
	}
	zero := 0.0
	s.Source, s.Percentile = SourceActivations, &zero
	if err := s.Validate(); err == nil {
		t.Error("activations pinned to the maximum current accepted")
	}
	s.Source, s.Percentile = "", nil
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	ps := DefaultSettings(RecipePaper)
	ps.Source = SourceActivations
	if err := ps.Validate(); err == nil {
		t.Error("the paper's recipe accepted a threshold source")
	}
}
