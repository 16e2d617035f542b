package snn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// TestBurstStep follows one burst neuron (θ = 1, at most 3 spikes, initial
// membrane 1/2) through currents chosen by hand.
func TestBurstStep(t *testing.T) {
	u := float32(0.5)
	for i, c := range []struct {
		cur, wantV, wantU, wantK float32
	}{
		{0.25, 0.75, 0.75, 0}, // below θ: silent
		{1.5, 2.25, 0.25, 2},  // above 2θ: two spikes, U − 2θ
		{2.75, 3, 1, 2},       // exactly 3θ: two (strict)
		{5, 6, 3, 3},          // far above: capped at 3, the rest kept
		{-2, 1, 1, 0},         // exactly θ: silent
		{0.5, 1.5, 0.5, 1},
	} {
		v, nu, k := burstStep(u, c.cur, 1, 1, 3)
		if v != c.wantV || nu != c.wantU || k != c.wantK {
			t.Fatalf("step %d: v %g, U %g, k %g; want %g, %g, %g", i, v, nu, k, c.wantV, c.wantU, c.wantK)
		}
		u = nu
	}
	// One spike per step at most is the ordinary neuron.
	for _, v := range []float32{-1, 0.5, 1, 1.5, 7} {
		_, nu, k := burstStep(0, v, 1, 1, 1)
		_, want, spike := neuronStep(0, v, 1, 1, ResetSubtract)
		if nu != want || (k == 1) != spike {
			t.Fatalf("burst 1 at %g: U %g, k %g; neuron U %g, spike %v", v, nu, k, want, spike)
		}
	}
}

// TestBurstScanAgrees checks burstScan, carried over two calls, and the
// one-pass burstSurrogateScan against burstStep and burstSurrogate neuron
// by neuron, with per-channel initial membranes and a shared (cstride 0)
// and a per-step current.
func TestBurstScanAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const steps, n, a, b, g = 9, 37, 5, 31, 3
	theta, leak := float32(0.5), float32(0.9)
	init := initial{ch: []float32{0.1, 0.5, -0.2}}
	sg := Surrogate{Kind: Triangle, Gamma: 0.3}
	for _, cstride := range []int{0, n} {
		cur := make([]float32, steps*n)
		for i := range cur {
			cur[i] = float32(rng.NormFloat64())
		}
		u := make([]float32, n)
		init.fill(u[a:b], a)
		out := make([]float32, steps*n)
		count := burstScan(out, cur, u, nil, 4, n, cstride, a, b, theta, leak, g)
		count += burstScan(out[4*n:], cur[4*cstride:], u, nil, steps-4, n, cstride, a, b, theta, leak, g)
		out2, d := make([]float32, steps*n), make([]float32, steps*n)
		count2 := burstSurrogateScan(out2, d, cur, steps, n, cstride, a, b, theta, leak, g, false, init, sg)
		d3 := make([]float32, steps*n)
		burstSurrogateScan(nil, d3, cur, steps, n, cstride, a, b, theta, leak, g, false, init, sg)

		var want int64
		multi := 0
		h, inv := float32(sg.Gamma)/theta, 1/theta
		for i := a; i < b; i++ {
			ui := init.ch[i%len(init.ch)]
			for s := range steps {
				v, nu, k := burstStep(ui, cur[s*cstride+i], theta, leak, g)
				dd := burstSurrogate(sg, h, float32(sg.Slope), inv, v, g)
				ui = nu
				j := s*n + i
				if out[j] != k || out2[j] != k || d[j] != dd || d3[j] != dd {
					t.Fatalf("cstride %d neuron %d step %d: spikes %g %g, derivatives %g %g; want %g, %g", cstride, i, s, out[j], out2[j], d[j], d3[j], k, dd)
				}
				want += int64(k)
				if k > 1 {
					multi++
				}
			}
			if u[i] != ui {
				t.Fatalf("neuron %d: carried membrane %g, want %g", i, u[i], ui)
			}
		}
		if count != want || count2 != want || multi == 0 {
			t.Fatalf("cstride %d: counts %d, %d, want %d (%d bursts)", cstride, count, count2, want, multi)
		}
		for j, v := range out {
			if i := j % n; (i < a || i >= b) && v != 0 {
				t.Fatalf("wrote outside [a, b): %d", j)
			}
		}
	}
}

// TestBurstSurrogate checks the derivative of a burst neuron against the
// sum of shifted ordinary surrogates: at k·θ each term peaks, and with one
// spike at most it is the ordinary surrogate.
func TestBurstSurrogate(t *testing.T) {
	sg := Surrogate{Kind: Triangle, Gamma: 0.3}
	theta := float32(2)
	h, inv := float32(sg.Gamma)/theta, 1/theta
	for _, c := range []struct {
		v    float32
		g    int
		want float32
	}{
		{2, 2, h},           // peak of the first term, the second is 0 at x − 2 = −1
		{4, 2, h},           // peak of the second
		{3, 2, h},           // halfway: both triangles at h/2
		{6, 2, 0},           // beyond the last threshold by θ
		{6, 3, h},           // … unless a third spike is possible
		{1, 1, h / 2},       // ordinary neuron
		{5, 1, 0},           // ordinary neuron, far above θ
		{-1, 3, float32(0)}, // below 0
	} {
		if got := burstSurrogate(sg, h, 0, inv, c.v, c.g); math.Abs(float64(got-c.want)) > 1e-7 {
			t.Errorf("v %g, G %d: %g, want %g", c.v, c.g, got, c.want)
		}
	}
}

// TestSpikeBitsBurst stores spike counts 0..G and gets them back for
// several G, with the number of bit planes each needs.
func TestSpikeBitsBurst(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, c := range []struct{ g, planes int }{{2, 2}, {3, 2}, {4, 3}, {7, 3}, {MaxBurst, 4}} {
		v := make([]float32, 200)
		for i := range v {
			v[i] = float32(rng.IntN(c.g + 1))
		}
		v[0] = float32(c.g)
		b := packSpikes(v, &Config{Burst: c.g})
		got := make([]float32, len(v))
		for i := range got {
			got[i] = 9
		}
		b.unpack(got)
		for i := range v {
			if got[i] != v[i] {
				t.Fatalf("G %d spike %d: %g, want %g", c.g, i, got[i], v[i])
			}
		}
		if b.bytes() != int64(c.planes*4*8) {
			t.Fatalf("G %d: %d bytes, want %d", c.g, b.bytes(), c.planes*4*8)
		}
	}
}

// TestBurstConfig refuses burst spikes out of range or with a reset to
// zero, and takes them with signed neurons.
func TestBurstConfig(t *testing.T) {
	ok := Config{Timesteps: 4, Leak: 1, Thresholds: []float32{1}, Burst: 2}
	if err := ok.Validate(1); err != nil {
		t.Fatal(err)
	}
	ok.Signed = true
	if err := ok.Validate(1); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{
		{Timesteps: 4, Leak: 1, Thresholds: []float32{1}, Burst: -1},
		{Timesteps: 4, Leak: 1, Thresholds: []float32{1}, Burst: MaxBurst + 1},
		{Timesteps: 4, Leak: 1, Thresholds: []float32{1}, Burst: 2, Reset: ResetZero},
	} {
		if err := c.Validate(1); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// TestBurstCounts checks the operation count of burst input: a count of k
// spikes makes k times the accumulations of one, at the border too, and
// values up to 1 count as inputCounts counts them.
func TestBurstCounts(t *testing.T) {
	s := &stage{kind: convStage, h: 3, w: 3, cin: 1, cout: 5, k: 3, pad: 1}
	s.edges = s.edgePixels()
	in := make([]float32, 2*9)
	in[0], in[4], in[9+8] = 2, 1, 3 // corner 2 spikes, centre 1, corner 3 (plane 2)
	nz, ops := s.burstCounts(in, 2)
	if want := int64(5 * (2*4 + 9 + 3*4)); nz != 3 || ops != want {
		t.Fatalf("conv: %d non-zero, %d ops; want 3, %d", nz, ops, want)
	}
	ones := []float32{0, 1, 0.25, 0, 0, 0.5, 0, 0, 1}
	nz1, ops1 := s.burstCounts(ones, 1)
	nz2, ops2 := s.inputCounts(ones, 1)
	if nz1 != nz2 || ops1 != ops2 {
		t.Fatalf("values ≤ 1: %d, %d; inputCounts %d, %d", nz1, ops1, nz2, ops2)
	}
	fc := &stage{kind: fcStage, h: 1, w: 1, cin: 4, cout: 7, k: 1}
	if nz, ops := fc.burstCounts([]float32{2, 0, 1, 0.5}, 1); nz != 3 || ops != 4*7 {
		t.Fatalf("linear: %d non-zero, %d ops; want 3, 28", nz, ops)
	}
}

// TestBurstNetwork runs a small burst network: the run's spike counts are
// the sums of the spike values every layer passes on, the synaptic
// operations of a layer fed spikes are its fan-out times those counts,
// and the Dense and Events paths agree.
func TestBurstNetwork(t *testing.T) {
	cfg := vgg.Config{Name: "burst", Features: []vgg.Item{4, 8}, Hidden: []int{16}, Classes: 3,
		InChannels: 1, InHeight: 6, InWidth: 6}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(5, 1, 6, 6)
	x.RandUniform(rand.New(rand.NewPCG(3, 4)), -1, 1)
	net, err := New(m, Config{Timesteps: 6, Leak: 1, Encoder: Direct, InitMembrane: 0.5, Burst: 3,
		Thresholds: []float32{0.1, 0.1, 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	var logits []*tensor.Tensor
	for _, path := range []Path{Dense, Events} {
		sums := make([]float64, 3)
		most := float32(0)
		r, err := net.Run(context.Background(), x, rand.New(rand.NewPCG(5, 6)), Options{Path: path,
			Spikes: func(layer int, v []float32, _, _ int) {
				if layer < 0 {
					return
				}
				for _, s := range v {
					sums[layer] += float64(s)
					most = max(most, s)
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		if most != 3 {
			t.Fatalf("path %d: largest spike count %g, want the cap 3 (the case proves little)", path, most)
		}
		for l := range 3 {
			if float64(r.Layers[l].Spikes) != sums[l] {
				t.Fatalf("path %d layer %d: %d spikes, values sum to %g", path, l, r.Layers[l].Spikes, sums[l])
			}
		}
		// The hidden FC layer (stage 2) is fed the second conv's spikes
		// unpooled: 16 accumulations per spike.
		if want := int64(sums[1]) * 16; r.Layers[2].SynapticOps != want {
			t.Fatalf("path %d: FC synaptic ops %d, want %d", path, r.Layers[2].SynapticOps, want)
		}
		logits = append(logits, r.Logits())
	}
	for i, v := range logits[0].Data {
		if d := math.Abs(float64(v - logits[1].Data[i])); d > 1e-4*float64(logits[0].MaxAbs()) {
			t.Fatalf("output %d: dense %g, events %g", i, v, logits[1].Data[i])
		}
	}
}

// TestSignedBurstStep follows one signed burst neuron (θ = 1, at most 2
// spikes, initial membrane 1/2) through currents chosen by hand, and
// checks that with one spike per step it is the signed neuron.
func TestSignedBurstStep(t *testing.T) {
	u, q := float32(0.5), float32(0)
	for i, c := range []struct {
		cur, wantV, wantU, wantQ, wantS float32
	}{
		{-1, -0.5, -0.5, 0, 0}, // below 0 with nothing to take back: silent
		{3, 2.5, 0.5, 2, 2},    // above 2θ: two spikes
		{-1, -0.5, 0.5, 1, -1}, // below 0: one spike taken back, U + θ
		{-1, -0.5, 0.5, 0, -1}, // and the other
		{-1, -0.5, -0.5, 0, 0}, // the count is back at 0: silent
		{4, 3.5, 1.5, 2, 2},    // capped at 2
		{-1.5, 0, 0, 2, 0},     // exactly 0: silent (strict)
		{2, 2, 1, 3, 1},        // exactly 2θ: one (strict)
	} {
		v, nu, nq, s := signedBurstStep(u, q, c.cur, 1, 1, 2)
		if v != c.wantV || nu != c.wantU || nq != c.wantQ || s != c.wantS {
			t.Fatalf("step %d: v %g, U %g, q %g, s %g; want %g, %g, %g, %g", i, v, nu, nq, s, c.wantV, c.wantU, c.wantQ, c.wantS)
		}
		u, q = nu, nq
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for range 200 {
		u, q, c := float32(rng.NormFloat64()), float32(rng.IntN(3)), float32(rng.NormFloat64())
		v1, u1, q1, s1 := signedBurstStep(u, q, c, 0.75, 0.9, 1)
		v2, u2, q2, s2 := signedStep(u, q, c, 0.75, 0.9)
		if v1 != v2 || u1 != u2 || q1 != q2 || s1 != s2 {
			t.Fatalf("G = 1 at u %g q %g c %g: %g %g %g %g, signed neuron %g %g %g %g", u, q, c, v1, u1, q1, s1, v2, u2, q2, s2)
		}
	}
}

// TestSignedBurstScanAgrees checks burstScan with net counts, carried over
// two calls, and burstSurrogateScan (signed) against signedBurstStep and
// signedBurstSurrogate neuron by neuron; the per-step current makes both
// bursts and negative spikes.
func TestSignedBurstScanAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const steps, n, a, b, g = 9, 37, 5, 31, 2
	theta, leak := float32(0.5), float32(1)
	init := initial{ch: []float32{0.1, 0.5, -0.2}}
	sg := Surrogate{Kind: Atan, Gamma: 0.3, Slope: 2}
	cur := make([]float32, steps*n)
	for i := range cur {
		cur[i] = float32(rng.NormFloat64())
	}
	u, q := make([]float32, n), make([]float32, n)
	init.fill(u[a:b], a)
	out := make([]float32, steps*n)
	count := burstScan(out, cur, u, q, 4, n, n, a, b, theta, leak, g)
	count += burstScan(out[4*n:], cur[4*n:], u, q, steps-4, n, n, a, b, theta, leak, g)
	out2, d := make([]float32, steps*n), make([]float32, steps*n)
	count2 := burstSurrogateScan(out2, d, cur, steps, n, n, a, b, theta, leak, g, true, init, sg)
	var want int64
	negative, multi := 0, 0
	h, inv := float32(sg.Gamma)/theta, 1/theta
	for i := a; i < b; i++ {
		ui, qi := init.ch[i%len(init.ch)], float32(0)
		for s := range steps {
			v, nu, nq, sp := signedBurstStep(ui, qi, cur[s*n+i], theta, leak, g)
			dd := signedBurstSurrogate(sg, h, float32(sg.Slope), inv, v, qi, g)
			ui, qi = nu, nq
			j := s*n + i
			if out[j] != sp || out2[j] != sp || d[j] != dd {
				t.Fatalf("neuron %d step %d: spikes %g %g, derivative %g; want %g, %g", i, s, out[j], out2[j], d[j], sp, dd)
			}
			want += int64(abs32(sp))
			if sp < 0 {
				negative++
			}
			if sp > 1 {
				multi++
			}
		}
		if u[i] != ui || q[i] != qi {
			t.Fatalf("neuron %d: carried state %g, %g; want %g, %g", i, u[i], q[i], ui, qi)
		}
	}
	if count != want || count2 != want || negative == 0 || multi == 0 {
		t.Fatalf("counts %d, %d, want %d (%d negative, %d bursts)", count, count2, want, negative, multi)
	}
}

// TestSpikeBitsSignedBurst stores spikes −1..G and gets them back.
func TestSpikeBitsSignedBurst(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	v := make([]float32, 300)
	for i := range v {
		v[i] = float32(rng.IntN(5) - 1)
	}
	b := packSpikes(v, &Config{Burst: 3, Signed: true})
	got := make([]float32, len(v))
	b.unpack(got)
	for i := range v {
		if got[i] != v[i] {
			t.Fatalf("spike %d: %g, want %g", i, got[i], v[i])
		}
	}
	if b.bytes() != 3*5*8 {
		t.Fatalf("%d bytes, want 120 (two count planes and the sign plane)", b.bytes())
	}
}

// TestBurstScanTwins checks burstScan, unsigned and signed (the C kernel in
// a cgo build) against their Go twins bit for bit, with currents that put
// membranes exactly on multiples of θ and on 0, leak 1 and 0.9, shared and
// per-step currents, G = 2 and 3.
func TestBurstScanTwins(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	const steps, n = 11, 203
	for _, g := range []int{2, 3} {
		for _, leak := range []float32{1, 0.9} {
			for _, cstride := range []int{0, n} {
				cur := twinCurrents(rng, steps, n, -3, 5)
				label := fmt.Sprintf("G %d leak %g cstride %d", g, leak, cstride)
				c := compareScanTwins(t, label, n, steps*n, false,
					func(o, u, q []float32) int64 { return burstScan(o, cur, u, q, steps, n, cstride, 3, n-2, 0.5, leak, g) },
					func(o, u, q []float32) int64 {
						return burstScanGo(o, cur, u, q, steps, n, cstride, 3, n-2, 0.5, leak, g)
					})
				if c == 0 {
					t.Fatalf("%s: no spikes; the test proves nothing", label)
				}
				compareScanTwins(t, "signed "+label, n, steps*n, true,
					func(o, u, q []float32) int64 { return burstScan(o, cur, u, q, steps, n, cstride, 3, n-2, 0.5, leak, g) },
					func(o, u, q []float32) int64 {
						return burstScanGo(o, cur, u, q, steps, n, cstride, 3, n-2, 0.5, leak, g)
					})
			}
		}
	}
}

// twinCurrents returns steps·n input currents for the kernel-twin tests:
// a quarter are k·0.25 with k uniform in [lo, hi], which put membranes
// (starting at 0.25) exactly on multiples of θ = 0.5 and on 0; the rest are
// standard normal.
func twinCurrents(rng *rand.Rand, steps, n, lo, hi int) []float32 {
	cur := make([]float32, steps*n)
	for i := range cur {
		switch rng.IntN(4) {
		case 0:
			cur[i] = float32(rng.IntN(hi-lo+1)+lo) * 0.25
		default:
			cur[i] = float32(rng.NormFloat64())
		}
	}
	return cur
}

// compareScanTwins runs a scan kernel and its Go twin, each from membranes
// of 0.25 over n neurons (and zero net counts when signed; nil otherwise)
// into outputs of length outLen, fails unless spikes, counts, membranes and
// net counts agree bit for bit, and returns the count.
func compareScanTwins(t *testing.T, label string, n, outLen int, signed bool, kernel, twin func(o, u, q []float32) int64) int64 {
	t.Helper()
	var q1, q2 []float32
	if signed {
		q1, q2 = make([]float32, n), make([]float32, n)
	}
	u1, u2 := make([]float32, n), make([]float32, n)
	for i := range u1 {
		u1[i], u2[i] = 0.25, 0.25
	}
	o1, o2 := make([]float32, outLen), make([]float32, outLen)
	c1, c2 := kernel(o1, u1, q1), twin(o2, u2, q2)
	if c1 != c2 || !slices.Equal(o1, o2) || !slices.Equal(u1, u2) || !slices.Equal(q1, q2) {
		t.Fatalf("%s: the kernel (%d spikes) and its Go twin (%d) differ", label, c1, c2)
	}
	return c1
}

// The surrogate scan of burst and signed burst neurons (C in cgo builds)
// and its Go twin agree bit for bit: derivatives, spikes and counts, for
// every surrogate kind, G = 1 (signed) to 3, leaks 1 and 0.9, a current per
// step and a shared one, a scalar and a per-channel initial membrane, with
// and without the spike output.
func TestBurstSurrogateScanTwins(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	const steps, n, a = 9, 203, 3
	b := n - 2
	var nonzero int
	for _, kind := range []SurrogateKind{Triangle, FastSigmoid, Atan} {
		sg := Surrogate{Kind: kind}.WithDefaults()
		for _, g := range []int{1, 2, 3} {
			for _, signed := range []bool{false, true} {
				if g == 1 && !signed {
					continue // an ordinary neuron: neuronScanSurrogate's case
				}
				for _, leak := range []float32{1, 0.9} {
					for _, cstride := range []int{0, n} {
						for _, u0 := range []initial{{u0: 0.25}, {ch: []float32{0.1, 0.5, -0.2}}} {
							cur := twinCurrents(rng, steps, n, -3, 5)
							label := fmt.Sprintf("%s G %d signed %v leak %g cstride %d init %v", kind, g, signed, leak, cstride, u0)
							d1, d2 := make([]float32, steps*n), make([]float32, steps*n)
							o1, o2 := make([]float32, steps*n), make([]float32, steps*n)
							c1 := burstSurrogateScan(o1, d1, cur, steps, n, cstride, a, b, 0.5, leak, g, signed, u0, sg)
							c2 := burstSurrogateScanGo(o2, d2, cur, steps, n, cstride, a, b, 0.5, leak, g, signed, u0, sg)
							if c1 != c2 || !slices.Equal(o1, o2) || !slices.Equal(d1, d2) {
								t.Fatalf("%s: the kernel (%d spikes) and its Go twin (%d) differ", label, c1, c2)
							}
							if c1 == 0 {
								t.Fatalf("%s: no spikes; the test proves nothing", label)
							}
							d3 := make([]float32, steps*n)
							if c := burstSurrogateScan(nil, d3, cur, steps, n, cstride, a, b, 0.5, leak, g, signed, u0, sg); c != 0 || !slices.Equal(d3, d1) {
								t.Fatalf("%s: without spike output: count %d, derivatives equal %v", label, c, slices.Equal(d3, d1))
							}
							for _, v := range d1 {
								if v != 0 {
									nonzero++
								}
							}
						}
					}
				}
			}
		}
	}
	if nonzero == 0 {
		t.Fatal("every derivative is 0; the test proves nothing")
	}
}
