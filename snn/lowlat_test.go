package snn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/tensor"
)

// TestInitMembraneTrace follows one neuron by hand. The currents and
// thresholds are binary fractions, so every float32 value is exact.
func TestInitMembraneTrace(t *testing.T) {
	cur := []float32{0.25, 0.5, 0.75, 0, 0.125}
	for _, c := range []struct {
		name       string
		init       float64
		theta      float32
		scale      float32 // currents are multiplied by this (θ-scaled copy of a case)
		reset      Reset
		wantSpikes []float32
		wantU      float32
	}{
		// init .5, θ 1, subtract: U0 = .5; U = .75, 1.25→.25 (spike), 1.0 (not > θ), 1.0, 1.125→.125 (spike)
		{"subtract", 0.5, 1, 1, ResetSubtract, []float32{0, 1, 0, 0, 1}, 0.125},
		// the same scaled by 2: U0 = .5·2 = 1; U = 1.5, 2.5→.5 (spike), 2, 2, 2.25→.25 (spike)
		{"subtract θ=2", 0.5, 2, 2, ResetSubtract, []float32{0, 1, 0, 0, 1}, 0.25},
		// init .5, zero reset: U = .75, 1.25→0 (spike), .75, .75, .875
		{"zero", 0.5, 1, 1, ResetZero, []float32{0, 1, 0, 0, 0}, 0.875},
		// init 0 for contrast: U = .25, .75, 1.5→.5 (spike), .5, .625
		{"no init", 0, 1, 1, ResetSubtract, []float32{0, 0, 1, 0, 0}, 0.625},
	} {
		in := make([]float32, len(cur))
		for i, v := range cur {
			in[i] = v * c.scale
		}
		net := &Network{Config: Config{Timesteps: len(cur), Leak: 1, Reset: c.reset, InitMembrane: c.init,
			Thresholds: []float32{c.theta}}}
		for _, readouts := range [][]int{{5}, {2, 5}} {
			cs := &chunkSim{net: net, readouts: readouts, cur: in, spk: make([]float32, len(cur))}
			counts := cs.neurons(&stage{kind: fcStage, h: 1, w: 1, cin: 1, cout: 1, k: 1}, 1, 1)
			if !slices.Equal(cs.spk, c.wantSpikes) || cs.u[0] != c.wantU {
				t.Errorf("%s (readouts %v): spikes %v final U %g, want %v and %g", c.name, readouts, cs.spk, cs.u[0], c.wantSpikes, c.wantU)
			}
			var want []int64
			t0 := 0
			for _, t1 := range readouts {
				var n int64
				for _, s := range c.wantSpikes[t0:t1] {
					n += int64(s)
				}
				want, t0 = append(want, n), t1
			}
			if !slices.Equal(counts, want) {
				t.Errorf("%s: spike counts per readout segment %v, want %v", c.name, counts, want)
			}
		}
		// The portable kernel, started from the same membrane, agrees.
		out, u := make([]float32, len(cur)), []float32{float32(c.init) * c.theta}
		neuronScanStridedGo(out, in, u, len(cur), 1, 1, 0, 1, c.theta, 1, c.reset)
		if !slices.Equal(out, c.wantSpikes) || u[0] != c.wantU {
			t.Errorf("%s: Go kernel spikes %v final U %g", c.name, out, u[0])
		}
	}
}

// TestInitMembraneOutputStartsAtZero: with zero input no hidden neuron can
// reach its threshold even from U = θ (strict >), so the output potential,
// which starts at 0 whatever InitMembrane is, must stay exactly 0.
func TestInitMembraneOutputStartsAtZero(t *testing.T) {
	n, _ := tinyNet(t, false, 6)
	n.Config.InitMembrane = 1
	x := tensor.New(2, 2, 8, 8)
	for _, enc := range []Encoder{Poisson, Direct} {
		n.Config.Encoder = enc
		r := run(t, n, x, Options{})
		for l, s := range r.Layers {
			if s.Spikes != 0 {
				t.Fatalf("%v: layer %d spiked %d times on a blank image", enc, l, s.Spikes)
			}
		}
		if m := r.Logits().MaxAbs(); m != 0 {
			t.Fatalf("%v: output potential %g on a blank image", enc, m)
		}
	}
	// And InitMembrane does change a network's spikes on real input.
	n, x = tinyNet(t, true, 6)
	a := run(t, n, x, Options{})
	n.Config.InitMembrane = 0.5
	b := run(t, n, x, Options{})
	if a.Layers[0].Spikes >= b.Layers[0].Spikes {
		t.Fatalf("first-layer spikes %d with init 0, %d with init .5: a head start must add spikes", a.Layers[0].Spikes, b.Layers[0].Spikes)
	}
}

func TestConfigValidateInitMembrane(t *testing.T) {
	for _, v := range []float64{-0.1, 1.5, math.NaN(), math.Inf(1)} {
		c := Config{Timesteps: 5, Leak: 1, Thresholds: []float32{1}, InitMembrane: v}
		if c.Validate(1) == nil {
			t.Errorf("init membrane %g accepted", v)
		}
	}
	for _, v := range []float64{0, 0.5, 1} {
		c := Config{Timesteps: 5, Leak: 1, Thresholds: []float32{1}, InitMembrane: v}
		if err := c.Validate(1); err != nil {
			t.Errorf("init membrane %g: %v", v, err)
		}
	}
}

// TestDirectOnceEqualsPerStep: computing a Direct-encoded first layer's
// current once per image runs the same kernel on the same plane as
// computing it at every step, so every output, spike count and statistic
// must agree exactly (tolerance 0), with and without an initial membrane
// and for both kernel paths; the callbacks see the same values.
func TestDirectOnceEqualsPerStep(t *testing.T) {
	for _, quant := range []bool{true, false} {
		n, x := tinyNet(t, quant, 9)
		n.Config.Encoder = Direct
		for _, init := range []float64{0, 0.5} {
			n.Config.InitMembrane = init
			for _, path := range []Path{Dense, Events, Auto} {
				var cbOnce, cbStep [][]float32
				// The callbacks get a Direct first layer's input and current
				// once (steps = 1) on the new path, T times on the old one;
				// rec checks that and expands them to T steps.
				rec := func(dst *[][]float32, wantOnce bool, onceLayer int) func(int, []float32, int, int) {
					return func(layer int, v []float32, steps, per int) {
						if len(v) != steps*per {
							t.Fatalf("layer %d callback: %d values for %d×%d", layer, len(v), steps, per)
						}
						if once := layer == onceLayer && wantOnce; once != (steps == 1) || !once && steps != n.Config.Timesteps {
							t.Fatalf("layer %d callback: %d steps", layer, steps)
						}
						var all []float32
						for range n.Config.Timesteps / steps {
							all = append(all, v...)
						}
						*dst = append(*dst, all)
					}
				}
				once := run(t, n, x, Options{Path: path, Readouts: []int{4}, Current: rec(&cbOnce, true, 0), Spikes: rec(&cbOnce, true, -1)})
				step := run(t, n, x, Options{Path: path, Readouts: []int{4}, Current: rec(&cbStep, false, 0), Spikes: rec(&cbStep, false, -1),
					perStepDirect: true})
				for k := range once.ReadoutLayers {
					for l, s := range once.ReadoutLayers[k] {
						if s != step.ReadoutLayers[k][l] {
							t.Fatalf("quant %v init %g path %d readout %d layer %d: once %+v, per step %+v", quant, init, path, k, l, s, step.ReadoutLayers[k][l])
						}
					}
				}
				for k := range once.Potentials {
					if !slices.Equal(once.Potentials[k].Data, step.Potentials[k].Data) {
						t.Fatalf("quant %v init %g path %d: readout %d potentials differ", quant, init, path, k)
					}
				}
				if len(cbOnce) != len(cbStep) {
					t.Fatalf("%d callbacks once, %d per step", len(cbOnce), len(cbStep))
				}
				for i := range cbOnce {
					if !slices.Equal(cbOnce[i], cbStep[i]) {
						t.Fatalf("quant %v init %g path %d: callback %d differs", quant, init, path, i)
					}
				}
				if once.Layers[0].Spikes == 0 || once.Layers[2].Spikes == 0 {
					t.Fatalf("test network is silent: %+v", once.Layers)
				}
			}
		}
	}
}

// TestDirectInputRate: with Direct input, InputRate of the first layer is
// the fraction of non-zero analog values.
func TestDirectInputRate(t *testing.T) {
	n, x := tinyNet(t, false, 5)
	n.Config.Encoder = Direct
	for i := range x.Data {
		if i%4 == 0 {
			x.Data[i] = 0
		}
	}
	r := run(t, n, x, Options{})
	if got := r.InputRate(0); got != 0.75 {
		t.Fatalf("input rate %g, want 0.75 (one value in four is zero)", got)
	}
}

// TestSynapticOpsByHand counts a 3×3 conv (pad 1) on a 3×3 map by hand: a
// corner input reaches 4 outputs, an edge input 6, the centre 9, each with
// Cout weights; a linear layer adds Out weights per non-zero input.
func TestSynapticOpsByHand(t *testing.T) {
	s := &stage{kind: convStage, h: 3, w: 3, cin: 2, cout: 5, k: 3, pad: 1}
	s.edges = s.edgePixels()
	in := make([]float32, 2*s.inSize()) // two planes [3, 3, 2]
	in[(0*3+0)*2+1] = 1                 // plane 0: corner (0,0), channel 1 → 4 taps
	in[(1*3+1)*2+0] = 0.5               // plane 0: centre → 9 taps
	in[s.inSize()+(0*3+1)*2+0] = -1     // plane 1: top edge (0,1) → 6 taps
	in[s.inSize()+(2*3+2)*2+1] = 0.25   // plane 1: corner (2,2) → 4 taps
	if nz, got := s.inputCounts(in, 2); got != int64(5*(4+9+6+4)) || nz != 4 {
		t.Fatalf("conv: %d non-zero inputs, %d synaptic ops; want 4 and %d", nz, got, 5*(4+9+6+4))
	}
	fc := &stage{kind: fcStage, h: 1, w: 1, cin: 18, cout: 7, k: 1}
	if nz, got := fc.inputCounts(in, 2); got != 4*7 || nz != 4 {
		t.Fatalf("linear: %d non-zero inputs, %d synaptic ops; want 4 and 28", nz, got)
	}
}

// TestSynapticOpsBruteForce compares the border-corrected count with a
// direct enumeration of every (input, tap) pair on random sparse maps.
func TestSynapticOpsBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, s := range []*stage{
		{kind: convStage, h: 5, w: 7, cin: 3, cout: 4, k: 3, pad: 1},
		{kind: convStage, h: 6, w: 4, cin: 1, cout: 2, k: 3, pad: 0},
		{kind: convStage, h: 1, w: 1, cin: 2, cout: 3, k: 3, pad: 1},
	} {
		s.edges = s.edgePixels()
		planes := 3
		in := make([]float32, planes*s.inSize())
		for i := range in {
			if rng.Float64() < 0.3 {
				in[i] = 1
			}
		}
		oh, ow := s.outHW()
		var want int64
		for p := range planes {
			for y := range s.h {
				for x := range s.w {
					for ci := range s.cin {
						if in[p*s.inSize()+(y*s.w+x)*s.cin+ci] == 0 {
							continue
						}
						for a := range s.k {
							for b := range s.k {
								if oy, ox := y-a+s.pad, x-b+s.pad; oy >= 0 && oy < oh && ox >= 0 && ox < ow {
									want += int64(s.cout)
								}
							}
						}
					}
				}
			}
		}
		if _, got := s.inputCounts(in, planes); got != want || want == 0 {
			t.Fatalf("stage %+v: %d synaptic ops, enumeration %d", *s, got, want)
		}
	}
}

// TestUpToEqualsShorterRun: the statistics and output recorded at a
// readout equal those of a run that stops there (quantised weights, so the
// kernel choice cannot change any value).
func TestUpToEqualsShorterRun(t *testing.T) {
	for _, enc := range []Encoder{Poisson, Direct} {
		long, x := tinyNet(t, true, 10)
		long.Config.Encoder, long.Config.InitMembrane = enc, 0.5
		short, _ := tinyNet(t, true, 4)
		short.Config.Encoder, short.Config.InitMembrane = enc, 0.5
		rl := run(t, long, x, Options{Readouts: []int{4, 7}})
		rs := run(t, short, x, Options{})
		up := rl.UpTo(0)
		if up.Timesteps != 4 || up.Images != rs.Images {
			t.Fatalf("UpTo(0): T=%d images %d", up.Timesteps, up.Images)
		}
		for l := range rs.Layers {
			a, b := up.Layers[l], rs.Layers[l]
			if a.Spikes != b.Spikes || a.InputEvents != b.InputEvents || a.SynapticOps != b.SynapticOps {
				t.Fatalf("%v layer %d: up to step 4 %+v, 4-step run %+v", enc, l, a, b)
			}
		}
		if !slices.Equal(up.Logits().Data, rs.Logits().Data) {
			t.Fatalf("%v: output at step 4 differs from a 4-step run", enc)
		}
		if rl.UpTo(2).Layers[1] != rl.Layers[1] || rl.Layers[1].Spikes <= up.Layers[1].Spikes {
			t.Fatalf("%v: last readout %+v, totals %+v, at 4 %+v", enc, rl.UpTo(2).Layers[1], rl.Layers[1], up.Layers[1])
		}
		if got := up.SpikeRate(0); got != rs.SpikeRate(0) {
			t.Fatalf("%v: spike rate at 4 steps %g vs %g", enc, got, rs.SpikeRate(0))
		}
	}
}
