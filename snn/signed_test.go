package snn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestSignedStep follows one signed neuron (θ = 1, initial membrane 1/2)
// through currents chosen by hand: it fires on a surplus, takes the spike
// back when the input turns negative, and never fires a negative spike
// without a positive one before it.
func TestSignedStep(t *testing.T) {
	u, q := float32(0.5), float32(0)
	for i, c := range []struct {
		cur, wantV, wantU, wantQ, wantS float32
	}{
		{-1, -0.5, -0.5, 0, 0},   // below 0 with no spike to take back: silent
		{2, 1.5, 0.5, 1, 1},      // above θ: +1, U − θ
		{0.25, 0.75, 0.75, 1, 0}, // between 0 and θ: silent
		{-1, -0.25, 0.75, 0, -1}, // below 0 after a spike: −1, U + θ
		{-1, -0.25, -0.25, 0, 0}, // the count is back at 0: silent
		{1.25, 1, 1, 0, 0},       // exactly θ: silent (strict)
		{0.5, 1.5, 0.5, 1, 1},
		{-0.5, 0, 0, 1, 0}, // exactly 0: silent (strict)
	} {
		v, nu, nq, s := signedStep(u, q, c.cur, 1, 1)
		if v != c.wantV || nu != c.wantU || nq != c.wantQ || s != c.wantS {
			t.Fatalf("step %d: v %g, U %g, q %g, s %g; want %g, %g, %g, %g", i, v, nu, nq, s, c.wantV, c.wantU, c.wantQ, c.wantS)
		}
		u, q = nu, nq
	}
}

// TestSignedScanAgrees checks signedScan, carried over two calls, and the
// one-pass burstSurrogateScan (signed, g = 1) against the references
// signedStep and signedSurrogate
// neuron by neuron, with per-channel initial membranes and a shared
// (cstride 0) and a per-step current; only the latter can make a neuron
// take a spike back.
func TestSignedScanAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const steps, n, a, b = 9, 37, 5, 31
	theta, leak := float32(0.75), float32(0.9)
	init := initial{ch: []float32{0.1, 0.5, -0.2}}
	sg := Surrogate{Kind: Atan, Gamma: 0.3, Slope: 2}
	for _, cstride := range []int{0, n} {
		cur := make([]float32, steps*n)
		for i := range cur {
			cur[i] = float32(rng.NormFloat64())
		}
		u, q := make([]float32, n), make([]float32, n)
		init.fill(u[a:b], a)
		out := make([]float32, steps*n)
		count := signedScan(out, cur, u, q, 4, n, cstride, a, b, theta, leak)
		count += signedScan(out[4*n:], cur[4*cstride:], u, q, steps-4, n, cstride, a, b, theta, leak)
		out2, d := make([]float32, steps*n), make([]float32, steps*n)
		count2 := burstSurrogateScan(out2, d, cur, steps, n, cstride, a, b, theta, leak, 1, true, init, sg)
		d3 := make([]float32, steps*n)
		burstSurrogateScan(nil, d3, cur, steps, n, cstride, a, b, theta, leak, 1, true, init, sg)

		var want int64
		negative := 0
		h, inv := float32(sg.Gamma)/theta, 1/theta
		for i := a; i < b; i++ {
			ui, qi := init.ch[i%len(init.ch)], float32(0)
			for s := range steps {
				v, nu, nq, sp := signedStep(ui, qi, cur[s*cstride+i], theta, leak)
				dd := signedSurrogate(sg, h, float32(sg.Slope), inv, v, qi)
				ui, qi = nu, nq
				j := s*n + i
				if out[j] != sp || out2[j] != sp || d[j] != dd || d3[j] != dd {
					t.Fatalf("cstride %d neuron %d step %d: spikes %g %g, derivatives %g %g; want %g, %g", cstride, i, s, out[j], out2[j], d[j], d3[j], sp, dd)
				}
				if sp != 0 {
					want++
				}
				if sp < 0 {
					negative++
				}
			}
			if u[i] != ui || q[i] != qi {
				t.Fatalf("neuron %d: carried state %g, %g; want %g, %g", i, u[i], q[i], ui, qi)
			}
		}
		// A constant current (cstride 0) never makes a neuron overshoot.
		if count != want || count2 != want || (negative == 0) != (cstride == 0) {
			t.Fatalf("cstride %d: counts %d, %d, want %d (%d negative)", cstride, count, count2, want, negative)
		}
		for j, v := range out {
			if i := j % n; (i < a || i >= b) && v != 0 {
				t.Fatalf("wrote outside [a, b): %d", j)
			}
		}
	}
}

// TestSpikeBitsSigned stores spikes of both signs and gets them back, and
// checks that unsigned storage keeps no sign bits.
func TestSpikeBitsSigned(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	v := make([]float32, 200)
	for i := range v {
		v[i] = float32(rng.IntN(3) - 1)
	}
	b := packSpikes(v, &Config{Signed: true})
	got := make([]float32, len(v))
	for i := range got {
		got[i] = 7
	}
	b.unpack(got)
	for i := range v {
		if got[i] != v[i] {
			t.Fatalf("spike %d: %g, want %g", i, got[i], v[i])
		}
	}
	if b.bytes() != 2*4*8 {
		t.Fatalf("%d bytes, want 64", b.bytes())
	}
	if u := packSpikes(v, &Config{}); u.neg != nil || u.bytes() != 4*8 {
		t.Fatalf("unsigned storage keeps sign bits (%d bytes)", u.bytes())
	}
}

// TestSignedNeedsSubtract refuses signed neurons with a reset to zero.
func TestSignedNeedsSubtract(t *testing.T) {
	c := Config{Timesteps: 4, Leak: 1, Thresholds: []float32{1}, Signed: true}
	if err := c.Validate(1); err != nil {
		t.Fatal(err)
	}
	c.Reset = ResetZero
	if err := c.Validate(1); err == nil {
		t.Fatal("signed neurons with a reset to zero accepted")
	}
}

// TestSignedScanTwins checks signedScan (the C kernel in a cgo build)
// against its Go twin bit for bit, with currents that put membranes
// exactly on θ and on 0, leak 1 and 0.9, shared and per-step currents.
func TestSignedScanTwins(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const steps, n = 11, 203
	for _, leak := range []float32{1, 0.9} {
		for _, cstride := range []int{0, n} {
			cur := twinCurrents(rng, steps, n, -2, 2)
			compareScanTwins(t, fmt.Sprintf("leak %g cstride %d", leak, cstride), n, steps*n, true,
				func(o, u, q []float32) int64 { return signedScan(o, cur, u, q, steps, n, cstride, 3, n-2, 0.5, leak) },
				func(o, u, q []float32) int64 {
					return burstScanGo(o, cur, u, q, steps, n, cstride, 3, n-2, 0.5, leak, 1)
				})
		}
	}
}

// signedStep is the reference of a signed neuron for the tests, written
// apart from signedBurstStep: it advances one signed neuron (membrane u, net count q) by one
// step with current c: it charges v = λ·u + c, fires +1 when v > θ
// (strict) or −1 when v < 0 (strict) and q > 0, and resets by subtraction
// (v − θ·s). It returns v, the membrane before the reset, the membrane
// and count after it, and the spike s ∈ {−1, 0, 1}.
func signedStep(u, q, c, theta, leak float32) (v, next, nextQ, s float32) {
	v = float32(leak*u) + c
	switch {
	case v > theta:
		return v, v - theta, q + 1, 1
	case v < 0 && q > 0:
		return v, v + theta, q - 1, -1
	}
	return v, v, q, 0
}

// signedSurrogate is the surrogate derivative of a signed neuron's spike
// with respect to its membrane v before the reset: that of the positive
// spike, σ'(v/θ − 1), plus, where the neuron could fire a negative spike
// (q > 0 before the step), that of the negative one, σ'(v/θ) (the
// negative spike −H(−v) has derivative +δ(v)).
func signedSurrogate(sg Surrogate, h, slope, inv, v, q float32) float32 {
	x := float32(v * inv)
	d := surrogateAt(sg.Kind, h, slope, x-1)
	if q > 0 {
		d += surrogateAt(sg.Kind, h, slope, x)
	}
	return d
}
