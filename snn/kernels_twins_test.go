package snn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The C kernels (kernels_*.c) and their Go twins (kernels_portable.go)
// specify the same float32 operations in the same order, with no fused
// multiply-adds on either side, so every comparison here is bit for bit:
// there is no tolerance. convInputGradDirect has no Go twin; it is compared
// with its specification inputGradFMARef, also bit for bit.

// TestKernelTwins runs each C kernel and its Go twin on the same inputs
// over a table of shapes: odd sizes, paddings 0 and 1, kernels 1 and 3,
// several steps, both resets, all three surrogates, leak below 1 and equal
// to 1, sparse and dense inputs.
func TestKernelTwins(t *testing.T) {
	if KernelName == "go" {
		t.Skip("no C kernels in this build (cgo off or the purego tag): the kernels are the Go twins themselves")
	}
	for _, k := range []struct {
		name string
		test func(*testing.T)
	}{
		{"convEvents", testConvEventsTwin},
		{"convWeightGradEvents", testConvWeightGradEventsTwin},
		{"linearEvents", testLinearEventsTwin},
		{"linearWeightGradEvents", testLinearWeightGradEventsTwin},
		{"poolPlane", testPoolPlaneTwin},
		{"countNonZero", testCountNonZeroTwin},
		{"neuronScanStrided", testNeuronScanTwin},
		{"neuronSurrogate", testNeuronSurrogateTwin},
		{"neuronScanSurrogate", testNeuronScanSurrogateTwin},
		{"neuronReverse", testNeuronReverseTwin},
		{"convInputGradDirect", testConvInputGradDirectSpec},
	} {
		t.Run(k.name, k.test)
	}
}

// sameBits reports, once, the first value of got whose bits differ from
// want's.
func sameBits(t *testing.T, what string, got, want []float32) bool {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, Go twin %d", what, len(got), len(want))
		return false
	}
	for i := range got {
		if g, w := math.Float32bits(got[i]), math.Float32bits(want[i]); g != w {
			t.Errorf("%s: value %d is %g (%#08x), Go twin %g (%#08x)", what, i, got[i], g, want[i], w)
			return false
		}
	}
	return true
}

// eventInput returns n values of which about density·n are non-zero: 1
// (spikes), multiples of 0.25 (pooled spikes), or ±1 and arbitrary signed
// values (the first layer's input), which take each branch of axpy.
func eventInput(rng *rand.Rand, n int, density float64, kind string) []float32 {
	x := make([]float32, n)
	for i := range x {
		if rng.Float64() >= density {
			continue
		}
		switch kind {
		case "spikes":
			x[i] = 1
		case "pooled":
			x[i] = float32(1+rng.IntN(4)) * 0.25
		default:
			x[i] = [...]float32{1, -1, rng.Float32()*4 - 2}[rng.IntN(3)]
		}
	}
	return x
}

func normals(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// eventCases are the input densities and kinds of the event-driven tests.
var eventCases = []struct {
	density float64
	kind    string
}{{0.05, "spikes"}, {0.3, "pooled"}, {1, "spikes"}, {0.5, "signed"}, {1, "signed"}}

// convTwinShapes are the conv shapes: odd sizes, more channels than one
// block of 8 and fewer, paddings 0 and 1, kernels 1 and 3.
var convTwinShapes = []struct{ h, w, cin, cout, k, pad int }{
	{5, 6, 3, 20, 3, 1}, {7, 5, 9, 17, 3, 0}, {1, 1, 1, 1, 1, 0}, {4, 3, 8, 32, 1, 0},
	{9, 11, 13, 33, 3, 1}, {3, 3, 16, 64, 3, 1}, {6, 7, 5, 3, 1, 1},
}

func testConvEventsTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 1))
	for _, s := range convTwinShapes {
		oh, ow := s.h+2*s.pad-s.k+1, s.w+2*s.pad-s.k+1
		wt := normals(rng, s.k*s.k*s.cin*s.cout)
		for _, c := range eventCases {
			in := eventInput(rng, s.h*s.w*s.cin, c.density, c.kind)
			got := normals(rng, oh*ow*s.cout) // the kernels add into out
			want := append([]float32(nil), got...)
			convEvents(got, in, wt, s.h, s.w, s.cin, s.cout, s.k, s.pad)
			convEventsGo(want, in, wt, s.h, s.w, s.cin, s.cout, s.k, s.pad)
			sameBits(t, fmt.Sprintf("%+v %v", s, c), got, want)
		}
	}
}

func testConvWeightGradEventsTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 2))
	for _, s := range convTwinShapes {
		oh, ow := s.h+2*s.pad-s.k+1, s.w+2*s.pad-s.k+1
		g := normals(rng, oh*ow*s.cout)
		for _, c := range eventCases {
			in := eventInput(rng, s.h*s.w*s.cin, c.density, c.kind)
			got := normals(rng, s.k*s.k*s.cin*s.cout) // the kernels add into gw
			want := append([]float32(nil), got...)
			convWeightGradEvents(got, in, g, s.h, s.w, s.cin, s.cout, s.k, s.pad)
			convWeightGradEventsGo(want, in, g, s.h, s.w, s.cin, s.cout, s.k, s.pad)
			sameBits(t, fmt.Sprintf("%+v %v", s, c), got, want)
		}
	}
}

// linearTwinShapes are the linear shapes: inputs fewer than, equal to
// and more than one block of 8.
var linearTwinShapes = []struct{ nin, nout int }{{1, 1}, {7, 10}, {8, 33}, {9, 256}, {300, 17}}

func testLinearEventsTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 3))
	for _, s := range linearTwinShapes {
		wt := normals(rng, s.nin*s.nout)
		for _, c := range eventCases {
			in := eventInput(rng, s.nin, c.density, c.kind)
			got := normals(rng, s.nout) // the kernels add into out
			want := append([]float32(nil), got...)
			linearEvents(got, in, wt, s.nin, s.nout)
			linearEventsGo(want, in, wt, s.nin, s.nout)
			sameBits(t, fmt.Sprintf("%+v %v", s, c), got, want)
		}
	}
}

func testLinearWeightGradEventsTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 11))
	for _, s := range linearTwinShapes {
		g := normals(rng, s.nout)
		for _, c := range eventCases {
			in := eventInput(rng, s.nin, c.density, c.kind)
			got := normals(rng, s.nin*s.nout) // the kernels add into gw
			want := append([]float32(nil), got...)
			linearWeightGradEvents(got, in, g, s.nin, s.nout)
			linearWeightGradEventsGo(want, in, g, s.nin, s.nout)
			sameBits(t, fmt.Sprintf("%+v %v", s, c), got, want)
		}
	}
}

func testPoolPlaneTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 4))
	// Odd sides drop the last row or column; a side of 1 pools nothing.
	for _, s := range []struct{ h, w, c int }{{2, 2, 1}, {5, 7, 3}, {28, 28, 32}, {3, 2, 9}, {1, 4, 2}, {14, 13, 64}} {
		for _, c := range eventCases {
			in := eventInput(rng, s.h*s.w*s.c, c.density, c.kind)
			got := normals(rng, (s.h/2)*(s.w/2)*s.c)
			want := append([]float32(nil), got...)
			poolPlane(got, in, s.h, s.w, s.c)
			poolPlaneGo(want, in, s.h, s.w, s.c)
			sameBits(t, fmt.Sprintf("%+v %v", s, c), got, want)
		}
	}
}

func testCountNonZeroTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 5))
	odd := []float32{float32(math.Copysign(0, -1)), float32(math.NaN()), math.SmallestNonzeroFloat32, float32(math.Inf(-1))}
	for _, n := range []int{0, 1, 7, 8, 9, 1000, 4097} {
		for _, c := range eventCases {
			x := eventInput(rng, n, c.density, c.kind)
			for i := range x {
				if rng.IntN(50) == 0 { // -0 is zero; NaN, denormals and infinities are not
					x[i] = odd[rng.IntN(len(odd))]
				}
			}
			if got, want := countNonZero(x), countNonZeroGo(x); got != want {
				t.Errorf("n %d %v: %d non-zero, Go twin %d", n, c, got, want)
			}
		}
	}
}

// neuronCase is a range [a, b) of a layer of n neurons run for steps
// steps.
type neuronCase struct {
	steps, n, a, b int
	shared         bool // one current for every step (cstride 0)
	theta, leak    float32
	reset          Reset
	sparse         bool // mostly zero currents
	u0             float32
	ch             []float32 // per-channel initial membranes (replace u0 when set)
}

func (c neuronCase) init() initial { return initial{u0: c.u0, ch: c.ch} }

func (c neuronCase) cstride() int {
	if c.shared {
		return 0
	}
	return c.n
}

// current returns c's input current, [steps, n] (only the first row is
// read when shared): mostly in [−θ, 2θ) so that neurons both fire and stay
// silent, or mostly zero.
func (c neuronCase) current(rng *rand.Rand) []float32 {
	x := make([]float32, c.steps*c.n)
	for i := range x {
		if !c.sparse || rng.IntN(5) == 0 {
			x[i] = (rng.Float32()*3 - 1) * c.theta
		}
	}
	return x
}

// neuronCases crosses four layer ranges (one neuron; a whole odd layer; a
// range inside a layer; the upper half) with leak 1 and 0.9, both resets,
// dense and sparse currents, and per-step and shared currents; the initial
// membranes alternate between 0, θ/2 and one per channel of 7 (in
// [−θ, 2θ), so that the range's start falls inside a channel cycle).
func neuronCases() []neuronCase {
	var cs []neuronCase
	for i, r := range []struct {
		steps, n, a, b int
		theta          float32
	}{{1, 1, 0, 1, 1}, {5, 37, 0, 37, 1.1}, {9, 300, 17, 290, 0.37}, {4, 1000, 500, 1000, 2.5}} {
		for _, leak := range []float32{1, 0.9} {
			for _, reset := range []Reset{ResetSubtract, ResetZero} {
				for _, sparse := range []bool{false, true} {
					for _, shared := range []bool{false, true} {
						u0 := float32(i%2) * 0.5 * r.theta
						var ch []float32
						if sparse == shared {
							ch = make([]float32, 7)
							for k := range ch {
								ch[k] = (float32(k)*3/7 - 1) * r.theta
							}
						}
						cs = append(cs, neuronCase{r.steps, r.n, r.a, r.b, shared, r.theta, leak, reset, sparse, u0, ch})
					}
				}
			}
		}
	}
	return cs
}

// surrogateTwins are the surrogates of the neuron tests: every kind, the
// default parameters and one other.
var surrogateTwins = []Surrogate{
	{Kind: Triangle, Gamma: 0.3}, {Kind: FastSigmoid, Gamma: 0.3, Slope: 5}, {Kind: Atan, Gamma: 0.3, Slope: 2},
	{Kind: Triangle, Gamma: 1}, {Kind: FastSigmoid, Gamma: 0.7, Slope: 2.5}, {Kind: Atan, Gamma: 1, Slope: 4.5},
}

func testNeuronScanTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 6))
	var spikes int64
	for _, c := range neuronCases() {
		cur := c.current(rng)
		uGot := normals(rng, c.n) // carried membranes
		uWant := append([]float32(nil), uGot...)
		got := normals(rng, c.steps*c.n) // outside [a, b) must stay
		want := append([]float32(nil), got...)
		ng := neuronScanStrided(got, cur, uGot, c.steps, c.n, c.cstride(), c.a, c.b, c.theta, c.leak, c.reset)
		nw := neuronScanStridedGo(want, cur, uWant, c.steps, c.n, c.cstride(), c.a, c.b, c.theta, c.leak, c.reset)
		if ng != nw {
			t.Errorf("%+v: %d spikes, Go twin %d", c, ng, nw)
		}
		spikes += ng
		if sameBits(t, fmt.Sprintf("%+v: spikes", c), got, want) {
			sameBits(t, fmt.Sprintf("%+v: membranes", c), uGot, uWant)
		}
	}
	if spikes == 0 {
		t.Fatal("no neuron fired")
	}
}

func testNeuronSurrogateTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 7))
	for _, c := range neuronCases() {
		cur := c.current(rng)
		for _, sg := range surrogateTwins {
			got := normals(rng, c.steps*c.n)
			want := append([]float32(nil), got...)
			neuronSurrogate(got, cur, c.steps, c.n, c.cstride(), c.a, c.b, c.theta, c.leak, c.reset, c.init(), sg)
			neuronSurrogateGo(want, cur, c.steps, c.n, c.cstride(), c.a, c.b, c.theta, c.leak, c.reset, c.init(), sg)
			sameBits(t, fmt.Sprintf("%+v %+v", c, sg), got, want)
		}
	}
}

func testNeuronScanSurrogateTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 8))
	for _, c := range neuronCases() {
		cur := c.current(rng)
		for _, sg := range surrogateTwins {
			got, dGot := normals(rng, c.steps*c.n), normals(rng, c.steps*c.n)
			want, dWant := append([]float32(nil), got...), append([]float32(nil), dGot...)
			ng := neuronScanSurrogate(got, dGot, cur, c.steps, c.n, c.cstride(), c.a, c.b, c.theta, c.leak, c.reset, c.init(), sg)
			nw := neuronScanSurrogateGo(want, dWant, cur, c.steps, c.n, c.cstride(), c.a, c.b, c.theta, c.leak, c.reset, c.init(), sg)
			if ng != nw {
				t.Errorf("%+v %+v: %d spikes, Go twin %d", c, sg, ng, nw)
			}
			what := fmt.Sprintf("%+v %+v", c, sg)
			if sameBits(t, what+": spikes", got, want) {
				sameBits(t, what+": σ'", dGot, dWant)
			}
		}
	}
}

func testNeuronReverseTwin(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 9))
	for _, c := range neuronCases() {
		if c.shared {
			continue // no current in the reverse scan
		}
		spk := make([]float32, c.steps*c.n)
		neuronScanStridedGo(spk, c.current(rng), make([]float32, c.n), c.steps, c.n, c.n, 0, c.n, c.theta, c.leak, c.reset)
		d := make([]float32, c.steps*c.n)
		neuronSurrogateGo(d, c.current(rng), c.steps, c.n, c.n, 0, c.n, c.theta, c.leak, c.reset, c.init(), surrogateTwins[2])
		for _, obits := range [][]uint64{nil, packBits(spk)} {
			got := eventInput(rng, c.steps*c.n, 0.4, "signed") // ∂L/∂o, overwritten in [a, b)
			if !c.sparse {
				got = normals(rng, c.steps*c.n)
			}
			want := append([]float32(nil), got...)
			neuronReverse(got, d, obits, c.steps, c.n, c.a, c.b, c.leak)
			neuronReverseGo(want, d, obits, c.steps, c.n, c.a, c.b, c.leak)
			sameBits(t, fmt.Sprintf("%+v spike bits %v", c, obits != nil), got, want)
		}
	}
}

// testConvInputGradDirectSpec compares convInputGradDirect with its
// specification on shapes in its domain (TestConvInputGradDirect covers
// more, and the shapes it declines): odd widths, paddings 0 to K−1,
// kernels 1, 3 and 5, one and two blocks of K·K·Cout.
func testConvInputGradDirectSpec(t *testing.T) {
	if !directInputGradOK {
		t.Skip("convInputGradDirect needs AVX-512F and FMA, which this CPU lacks")
	}
	rng := rand.New(rand.NewPCG(21, 10))
	for _, c := range []struct{ p, oh, ow, cout, cin, k, pad int }{
		{5, 28, 28, 32, 32, 3, 1}, {7, 14, 14, 64, 32, 3, 1}, {4, 9, 15, 16, 16, 3, 0},
		{30, 7, 17, 96, 48, 1, 0}, {40, 6, 6, 32, 64, 5, 2}, {400, 4, 3, 16, 16, 3, 2},
	} {
		pp := c.k - 1 - c.pad
		h, w := c.oh+2*pp-c.k+1, c.ow+2*pp-c.k+1
		gI := eventInput(rng, c.p*c.oh*c.ow*c.cout, 0.7, "signed")
		back := normals(rng, c.k*c.k*c.cout*c.cin)
		got, want := make([]float32, c.p*h*w*c.cin), make([]float32, c.p*h*w*c.cin)
		if !convInputGradDirect(got, gI, back, c.p, c.oh, c.ow, c.cout, c.cin, c.k, c.pad, maxColsElems) {
			t.Fatalf("%+v: declined", c)
		}
		inputGradFMARef(want, gI, back, c.p, c.oh, c.ow, c.cout, c.cin, c.k, c.pad)
		sameBits(t, fmt.Sprintf("%+v", c), got, want)
	}
}
