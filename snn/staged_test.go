package snn

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestStagedEqualsRun: the current a staged simulation computes for each
// layer, after firing the earlier layers at their thresholds, equals the
// current Run computes (Observe) with those thresholds and the same rng
// state, bit for bit: the same kernels run on the same chunks. Checked for
// both encoders, both reset modes, an initial membrane and burst spikes
// (whose counts the staged simulation stores in bit planes).
func TestStagedEqualsRun(t *testing.T) {
	for _, c := range []struct {
		enc   Encoder
		reset Reset
		init  float64
		quant bool
		burst int
	}{{Poisson, ResetSubtract, 0, true, 0}, {Poisson, ResetZero, 0.5, false, 0}, {Direct, ResetSubtract, 0.5, false, 0},
		{Direct, ResetSubtract, 0.5, false, 3}} {
		n, x := tinyNet(t, c.quant, 7)
		n.Config.Encoder, n.Config.Reset, n.Config.InitMembrane, n.Config.Burst = c.enc, c.reset, c.init, c.burst
		if c.burst > 1 { // lower thresholds, so that neurons burst
			for i := range n.Config.Thresholds {
				n.Config.Thresholds[i] /= 3
			}
		}
		want := n.Config.Thresholds
		// The staged network starts from other thresholds: Advance must set them.
		cfg := n.Config
		cfg.Thresholds = []float32{9, 9, 9, 9}
		start, err := New(n.Model, cfg)
		if err != nil {
			t.Fatal(err)
		}
		st, err := start.Stage(x, rand.New(rand.NewPCG(9, 9)), Options{MemoryBudget: 3000}) // several chunks
		if err != nil {
			t.Fatal(err)
		}
		for l := range want {
			var staged, ran []float32
			var sSteps, rSteps int
			if err := st.Current(context.Background(), func(cur []float32, steps, _ int) {
				staged, sSteps = append(staged, cur...), steps
			}); err != nil {
				t.Fatal(err)
			}
			_, err := n.Run(context.Background(), x, rand.New(rand.NewPCG(9, 9)), Options{MemoryBudget: 3000, Observe: l + 1,
				Current: func(layer int, cur []float32, steps, _ int) {
					if layer == l {
						ran, rSteps = append(ran, cur...), steps
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(staged, ran) || sSteps != rSteps || len(ran) == 0 {
				t.Fatalf("%+v layer %d: staged current (%d values, %d steps) differs from Run's (%d, %d)", c, l, len(staged), sSteps, len(ran), rSteps)
			}
			if err := st.Advance(context.Background(), want[l]); err != nil {
				t.Fatal(err)
			}
		}
		if c.burst > 1 {
			bursts := 0
			if _, err := n.Run(context.Background(), x, rand.New(rand.NewPCG(9, 9)), Options{Spikes: func(layer int, v []float32, _, _ int) {
				for _, s := range v {
					if layer >= 0 && s > 1 {
						bursts++
					}
				}
			}}); err != nil || bursts == 0 {
				t.Fatalf("burst case: %d bursts (%v); the case proves little", bursts, err)
			}
		}
		if !slices.Equal(st.Thresholds(), want) || st.Layer() != len(want) {
			t.Fatalf("thresholds %v after staging, want %v", st.Thresholds(), want)
		}
		if st.Current(context.Background(), func([]float32, int, int) {}) == nil || st.Advance(context.Background(), 1) == nil {
			t.Fatal("staging past the last spiking layer accepted")
		}
	}
}

func TestStagedErrors(t *testing.T) {
	n, x := tinyNet(t, false, 3)
	st, err := n.Stage(x, rand.New(rand.NewPCG(1, 1)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Advance(context.Background(), 0) == nil {
		t.Fatal("zero threshold accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if st.Current(ctx, func([]float32, int, int) {}) == nil {
		t.Fatal("cancelled context ignored")
	}
	if _, err := n.Stage(x.Reshape(6, 2, 4, 16), rand.New(rand.NewPCG(1, 1)), Options{}); err == nil {
		t.Fatal("wrong input shape accepted")
	}
}

func TestPackBits(t *testing.T) {
	v := make([]float32, 200)
	for i := range v {
		if i%7 == 0 || i == 63 || i == 64 || i == 199 {
			v[i] = 1
		}
	}
	got := make([]float32, len(v))
	for i := range got {
		got[i] = 5 // overwritten
	}
	unpackBits(got, packBits(v))
	if !slices.Equal(got, v) {
		t.Fatalf("round trip: %v", got)
	}
}
