package attack

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// stdNorm is the reference normalisation: pixel p ↦ p/127.5 − 1.
var stdNorm = imageset.Normalization{Mean: 0.5, Std: 0.5}

// tinyConfig is a two-conv, one-hidden-FC VGG on 8×8 grey images: small
// enough for every attack to run a few steps in milliseconds.
func tinyConfig() vgg.Config {
	return vgg.Config{Name: "tiny", Features: []vgg.Item{4, vgg.Pool, 8}, Hidden: []int{16}, Classes: 3,
		InChannels: 1, InHeight: 8, InWidth: 8}
}

func tinyModel(t testing.TB) *vgg.Model {
	t.Helper()
	m, err := vgg.New(tinyConfig(), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// tinyThresholds make every spiking layer of tinyModel fire on random
// inputs in [−1, 1] (measured: about 30 %, 16 % and 35 % of neurons per
// step; TestTinyNetSpikes keeps that true).
var tinyThresholds = []float32{0.75, 0.75, 0.5}

func tinyNet(t testing.TB, enc snn.Encoder) *snn.Network {
	t.Helper()
	m := tinyModel(t)
	net, err := snn.New(m, snn.Config{Timesteps: 8, Leak: 1, Thresholds: slices.Clone(tinyThresholds), Encoder: enc})
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// randImages returns n normalised images uniform in [−1, 1].
func randImages(n int, seed uint64) *tensor.Tensor {
	x := tensor.New(n, 1, 8, 8)
	x.RandUniform(rand.New(rand.NewPCG(seed, seed+1)), -1, 1)
	return x
}

// The fixture must be a network whose layers all spike, or the gradient
// tests below would pass vacuously on zeros.
func TestTinyNetSpikes(t *testing.T) {
	for _, enc := range []snn.Encoder{snn.Poisson, snn.Direct} {
		net := tinyNet(t, enc)
		r, err := net.Run(context.Background(), randImages(8, 3), rand.New(rand.NewPCG(5, 6)), snn.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for l := range tinyThresholds {
			if rate := r.SpikeRate(l); rate < 0.05 || rate > 0.8 {
				t.Errorf("%v: layer %d spike rate %.3f, want a fixture that spikes moderately", enc, l, rate)
			}
		}
	}
}

func TestMethodText(t *testing.T) {
	for m, name := range map[Method]string{Visualize: "attack1", SNNGradient: "attack2", SNNInversion: "attack3",
		ANNInversion: "attack4", NESAttack: "attack5"} {
		b, err := m.MarshalText()
		if err != nil || string(b) != name || m.String() != name {
			t.Errorf("%d: MarshalText %q, %v; String %q; want %q", int(m), b, err, m.String(), name)
		}
		var got Method
		if err := got.UnmarshalText(b); err != nil || got != m {
			t.Errorf("round trip of %q: %v, %v", b, got, err)
		}
		var short Method
		if err := short.UnmarshalText([]byte(name[len(name)-1:])); err != nil || short != m {
			t.Errorf("%q: %v, %v, want %v", name[len(name)-1:], short, err, m)
		}
		if d := m.Describe(); d == "" || d == m.String() {
			t.Errorf("%v: Describe %q is not a description", m, d)
		}
	}
	for _, m := range []Method{0, 6, -1} {
		if b, err := m.MarshalText(); err == nil {
			t.Errorf("Method(%d).MarshalText = %q, want an error", int(m), b)
		}
	}
	var nes Method
	if err := nes.UnmarshalText([]byte("nes")); err != nil || nes != NESAttack {
		t.Errorf(`"nes": %v, %v, want %v`, nes, err, NESAttack)
	}
	if s := Method(7).String(); s != "Method(7)" {
		t.Errorf("Method(7).String() = %q", s)
	}
	for _, s := range []string{"", "0", "6", "attack0", "attack6", "Attack1", " 1", "visualize", "NES", "nes5"} {
		m := SNNGradient
		if err := m.UnmarshalText([]byte(s)); err == nil {
			t.Errorf("UnmarshalText(%q) accepted as %v", s, m)
		}
		if m != SNNGradient {
			t.Errorf("failed UnmarshalText(%q) changed the method to %v", s, m)
		}
	}
}

func TestEncodingText(t *testing.T) {
	for e, name := range map[Encoding]string{ModelEncoding: "model", PoissonEncoding: "poisson", DirectEncoding: "direct"} {
		b, err := e.MarshalText()
		if err != nil || string(b) != name || e.String() != name {
			t.Errorf("%d: MarshalText %q, %v; String %q; want %q", int(e), b, err, e.String(), name)
		}
		var got Encoding
		if err := got.UnmarshalText(b); err != nil || got != e {
			t.Errorf("round trip of %q: %v, %v", b, got, err)
		}
	}
	for _, e := range []Encoding{-1, 3} {
		if b, err := e.MarshalText(); err == nil {
			t.Errorf("Encoding(%d).MarshalText = %q, want an error", int(e), b)
		}
	}
	if s := Encoding(5).String(); s != "Encoding(5)" {
		t.Errorf("Encoding(5).String() = %q", s)
	}
	for _, s := range []string{"", "Poisson", "rate", "analog", "0"} {
		e := DirectEncoding
		if err := e.UnmarshalText([]byte(s)); err == nil || e != DirectEncoding {
			t.Errorf("UnmarshalText(%q): %v, %v; want an error and no change", s, e, err)
		}
	}
}

func TestRuleText(t *testing.T) {
	for r, name := range map[Rule]string{AdamRule: "adam", PopulationRule: "population"} {
		b, err := r.MarshalText()
		if err != nil || string(b) != name || r.String() != name {
			t.Errorf("%d: MarshalText %q, %v; String %q; want %q", int(r), b, err, r.String(), name)
		}
		var got Rule
		if err := got.UnmarshalText(b); err != nil || got != r {
			t.Errorf("round trip of %q: %v, %v", b, got, err)
		}
	}
	var r Rule
	if err := r.UnmarshalText([]byte("brainleaks-v2")); err != nil || r != PopulationRule {
		t.Errorf("brainleaks-v2: %v, %v", r, err)
	}
	for _, r := range []Rule{-1, 2} {
		if b, err := r.MarshalText(); err == nil {
			t.Errorf("Rule(%d).MarshalText = %q, want an error", int(r), b)
		}
	}
	if s := Rule(9).String(); s != "Rule(9)" {
		t.Errorf("Rule(9).String() = %q", s)
	}
	for _, s := range []string{"", "Adam", "sgd", "1"} {
		r := PopulationRule
		if err := r.UnmarshalText([]byte(s)); err == nil || r != PopulationRule {
			t.Errorf("UnmarshalText(%q): %v, %v; want an error and no change", s, r, err)
		}
	}
}

func TestTargets(t *testing.T) {
	if got, want := Targets(3, 2), []int{0, 0, 1, 1, 2, 2}; !slices.Equal(got, want) {
		t.Errorf("Targets(3, 2) = %v, want %v", got, want)
	}
	if got, want := Targets(2, 3), []int{0, 0, 0, 1, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("Targets(2, 3) = %v, want %v", got, want)
	}
	if got := Targets(4, 0); len(got) != 0 {
		t.Errorf("Targets(4, 0) = %v, want none", got)
	}
	if got := Targets(0, 4); len(got) != 0 {
		t.Errorf("Targets(0, 4) = %v, want none", got)
	}
}

func TestCheckTargets(t *testing.T) {
	if err := checkTargets([]int{0, 2, 1, 2}, 3); err != nil {
		t.Errorf("valid targets: %v", err)
	}
	for _, tg := range [][]int{nil, {}, {0, 3}, {-1}, make([]int, MaxImages+1)} {
		if err := checkTargets(tg, 3); err == nil {
			t.Errorf("targets %v (len %d) accepted for 3 classes", tg[:min(len(tg), 4)], len(tg))
		}
	}
}

func TestHits(t *testing.T) {
	r := &Result{Targets: []int{0, 1, 2, 1}, Logits: tensor.FromData([]float32{
		3, 1, 2, // hit
		0, 5, 5, // tie with class 2: a miss
		1, 0, 1.5, // hit
		2, 1, 0, // miss
	}, 4, 3)}
	if got := r.Hits(); got != 0.5 {
		t.Errorf("Hits = %g, want 0.5", got)
	}
	if got := (&Result{}).Hits(); got != 0 {
		t.Errorf("empty result: Hits = %g", got)
	}
}

// TestQuantizeRoundHalfEven checks quantize at values whose pixel·255
// is exactly k + 0.5 in float64, where round-half-even, round-half-up and
// truncation all differ.
func TestQuantizeRoundHalfEven(t *testing.T) {
	// With Mean 0 and Std ≈ 1/255, v = k + 0.5 gives (v·Std)·255 = k + 0.5
	// exactly for most k (not all: Std is not exactly 1/255); only those
	// cases are ties, so only they are checked, and there must be enough of
	// them, of both parities, for the check to mean something.
	norm := imageset.Normalization{Mean: 0, Std: 1.0 / 255}
	var ties, even, odd int
	for k := range 255 {
		v := float32(k) + 0.5
		if float64(v)*norm.Std*255 != float64(k)+0.5 {
			continue
		}
		ties++
		if k%2 == 0 {
			even++
		} else {
			odd++
		}
		want := uint8(k + k%2) // the even neighbour
		p := []uint8{7}
		quantize(p, []float32{v}, norm)
		if p[0] != want {
			t.Errorf("pixel %g (tie %d.5): got %d, want %d", v, k, p[0], want)
		}
	}
	if ties < 200 || even < 50 || odd < 50 {
		t.Fatalf("only %d exact ties (%d even, %d odd): the check is too weak", ties, even, odd)
	}
	// For 0.5/0.5 the arithmetic is exact: x = 0 is pixel 127.5 → 128, and
	// just either side of it rounds to the nearer neighbour.
	p := make([]uint8, 3)
	quantize(p, []float32{0, -1e-6, 1e-6}, stdNorm)
	if !slices.Equal(p, []uint8{128, 127, 128}) {
		t.Errorf("0.5/0.5 around x = 0: %v, want [128 127 128]", p)
	}
}

func TestQuantizeClips(t *testing.T) {
	x := []float32{-1, -1.5, -1e30, float32(math.Inf(-1)), 1, 1.0001, 7, 1e30, float32(math.Inf(1))}
	want := []uint8{0, 0, 0, 0, 255, 255, 255, 255, 255}
	p := make([]uint8, len(x))
	quantize(p, x, stdNorm)
	if !slices.Equal(p, want) {
		t.Errorf("quantize(%v) = %v, want %v", x, p, want)
	}
}

// Every pixel survives normalize then quantize, for the reference
// normalisation and for ImageNet-like and identity ones.
func TestQuantizeInvertsNormalize(t *testing.T) {
	all := make([]uint8, 256)
	for i := range all {
		all[i] = uint8(i)
	}
	for _, norm := range []imageset.Normalization{stdNorm, {Mean: 0.485, Std: 0.229}, {Mean: 0, Std: 1}, {Mean: 0.1307, Std: 0.3081}} {
		x := make([]float32, 256)
		normalize(x, all, norm)
		p := make([]uint8, 256)
		quantize(p, x, norm)
		if !slices.Equal(p, all) {
			t.Errorf("%+v: quantize(normalize(p)) ≠ p", norm)
		}
		x2 := make([]float32, 256)
		normalize(x2, p, norm)
		if !slices.Equal(x2, x) {
			t.Errorf("%+v: normalize(quantize(normalize(p))) ≠ normalize(p)", norm)
		}
		if lo, hi := pixelRange(norm); lo != x[0] || hi != x[255] {
			t.Errorf("%+v: pixelRange = %g, %g, want %g, %g", norm, lo, hi, x[0], x[255])
		}
	}
}

func TestRandomPixelsUniform(t *testing.T) {
	const n = 256 * 200
	p := make([]uint8, n)
	randomPixels(p, rand.New(rand.NewPCG(9, 9)))
	var counts [256]int
	for _, v := range p {
		counts[v]++
	}
	// 200 expected per value; a binomial count is within 200 ± 5σ (σ ≈ 14)
	// with probability 1 − 6e-7 per value, so ±70 fails only on a broken
	// draw (e.g. one that never reaches 255).
	for v, c := range counts {
		if c < 130 || c > 270 {
			t.Errorf("value %d drawn %d times of %d, want about 200", v, c, n)
		}
	}
}

func TestFinite(t *testing.T) {
	if err := finite([]float32{0, -1, 3e38}); err != nil {
		t.Errorf("finite values: %v", err)
	}
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		if err := finite([]float32{1, bad}); !errors.Is(err, ErrNonFinite) {
			t.Errorf("%g: %v, want ErrNonFinite", bad, err)
		}
	}
}

// A method reads from JSON as a name or a number.
func TestMethodJSON(t *testing.T) {
	var back Method
	if err := json.Unmarshal([]byte(`"nes"`), &back); err != nil || back != NESAttack {
		t.Errorf(`JSON "nes": %v, %v`, back, err)
	}
	if err := json.Unmarshal([]byte(`4`), &back); err != nil || back != ANNInversion {
		t.Errorf("JSON 4: %v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`6`), &back); err == nil {
		t.Error("method 6 accepted")
	}
}
