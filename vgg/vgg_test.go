package vgg

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/tensor"
)

func build(t *testing.T, name string, c, h, w, classes int) *Model {
	t.Helper()
	cfg, err := Preset(name, c, h, w, classes)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVGG16MACsAndParams(t *testing.T) {
	// Totals computed by hand from the layer shapes.
	for _, c := range []struct {
		h, classes int
		macs       int64
		params     float64 // millions
	}{{32, 10, 315334656, 16.85}, {32, 100, 315703296, 17.22}, {64, 200, 1261993984, 23.92}} {
		m := build(t, "vgg16", 3, c.h, c.h, c.classes)
		var total int64
		for _, l := range m.MACs() {
			total += l.MACs
		}
		if total != c.macs {
			t.Errorf("VGG16 %d×%d/%d: %d MACs, want %d", c.h, c.h, c.classes, total, c.macs)
		}
		if p := float64(m.NumParams()) / 1e6; math.Abs(p-c.params) > 0.005 {
			t.Errorf("VGG16 %d×%d/%d: %.3f M params, want %.2f", c.h, c.h, c.classes, p, c.params)
		}
		if len(m.Convs)+len(m.Linears)-1 != 14 {
			t.Errorf("VGG16: %d spiking layers, want 14 thresholds", len(m.Convs)+len(m.Linears)-1)
		}
	}
}

func TestPyTorchNames(t *testing.T) {
	m := build(t, "vgg16", 3, 32, 32, 10)
	var names []string
	for _, p := range m.Params() {
		names = append(names, p.Name)
	}
	// Sequential indices of the reference VGG16.
	want := []string{"features.0.weight", "features.3.weight", "features.6.weight", "features.9.weight",
		"features.12.weight", "features.15.weight", "features.18.weight", "features.21.weight",
		"features.24.weight", "features.27.weight", "features.30.weight", "features.33.weight",
		"features.36.weight", "classifier.0.weight", "classifier.3.weight"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("names %v\nwant %v", names, want)
	}
	m5 := build(t, "vgg5", 1, 28, 28, 10)
	if n := m5.Params()[len(m5.Params())-1].Name; n != "classifier.6.weight" {
		t.Fatalf("VGG5 output layer %s, want classifier.6.weight", n)
	}
	if fs := m5.Linears[0].In; fs != 128*7*7 {
		t.Fatalf("VGG5 flat size %d", fs)
	}
}

func TestDropoutPlacement(t *testing.T) {
	// A conv right before a pool has no dropout: vgg16 has 13 convs and 5
	// pools, so 8 conv dropouts plus 1 classifier dropout.
	m := build(t, "vgg16", 3, 32, 32, 10)
	if len(m.Dropouts) != 9 {
		t.Fatalf("%d dropouts, want 9", len(m.Dropouts))
	}
}

func TestConfigJSONRoundTrip(t *testing.T) {
	cfg, _ := Preset("small", 1, 28, 28, 10)
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, back) {
		t.Fatalf("round trip %+v != %+v (%s)", back, cfg, b)
	}
	if FormatFeatures(cfg.Features) != "32,32,A,64,64,A" {
		t.Fatalf("features %s", FormatFeatures(cfg.Features))
	}
}

func TestValidateRejects(t *testing.T) {
	for name, c := range map[string]Config{
		"pool first":   {Name: "x", Features: []Item{A, 8}, Classes: 10, InChannels: 1, InHeight: 8, InWidth: 8},
		"too small":    {Name: "x", Features: []Item{8, A, 8, A, 8, A, 8, A}, Classes: 10, InChannels: 1, InHeight: 8, InWidth: 8},
		"no classes":   {Name: "x", Features: []Item{8}, Classes: 0, InChannels: 1, InHeight: 8, InWidth: 8},
		"dropout 1":    {Name: "x", Features: []Item{8}, Classes: 10, InChannels: 1, InHeight: 8, InWidth: 8, FCDropout: 1},
		"no conv":      {Name: "x", Classes: 10, InChannels: 1, InHeight: 8, InWidth: 8},
		"double pool":  {Name: "x", Features: []Item{8, A, A}, Classes: 10, InChannels: 1, InHeight: 8, InWidth: 8},
		"huge hidden":  {Name: "x", Features: []Item{8}, Hidden: []int{1 << 20}, Classes: 10, InChannels: 1, InHeight: 8, InWidth: 8},
		"zero channel": {Name: "x", Features: []Item{8}, Classes: 10, InChannels: 0, InHeight: 8, InWidth: 8},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ParseFeatures("8,B"); err == nil {
		t.Error("ParseFeatures accepted B")
	}
}

// TestInputGradient checks dL/dx of a whole network, L = Σ r⊙logits, against
// central differences. The step is 1e-3, smaller than in package nn, because
// a step of 1e-2 moves some of the many ReLU pre-activations across 0; the
// 2e-2 relative tolerance covers float32 rounding of L (~1e-7) over 2h.
func TestInputGradient(t *testing.T) {
	cfg := Config{Name: "tiny", Features: []Item{4, A, 6}, Hidden: []int{8}, Classes: 3,
		InChannels: 2, InHeight: 6, InWidth: 6, ConvDropout: 0.2, FCDropout: 0.5}
	m, err := New(cfg, rand.New(rand.NewPCG(2, 2)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	x := tensor.New(2, 2, 6, 6)
	x.RandUniform(rng, -1, 1)
	r := tensor.New(2, 3)
	r.RandUniform(rng, -1, 1)
	mode := nn.Mode{} // eval: dropout off, as synthesis and attacks use
	loss := func() float64 {
		z := m.Forward(x, mode)
		var s float64
		for i, v := range z.Data {
			s += float64(v * r.Data[i])
		}
		return s
	}
	m.Forward(x, mode)
	dx := m.Backward(r, nn.Grad{Input: true})
	for _, p := range m.Params() {
		if p.G.MaxAbs() != 0 {
			t.Fatalf("input-gradient pass wrote weight gradient %s", p.Name)
		}
	}
	const h, tol = 1e-3, 2e-2
	var scale float64
	num := make([]float64, x.Len())
	for i := range x.Data {
		old := x.Data[i]
		x.Data[i] = old + h
		lp := loss()
		x.Data[i] = old - h
		lm := loss()
		x.Data[i] = old
		num[i] = (lp - lm) / (2 * h)
		scale = math.Max(scale, math.Abs(num[i]))
	}
	for i := range num {
		if math.Abs(num[i]-float64(dx.Data[i])) > tol*scale {
			t.Fatalf("dx[%d] analytic %g numeric %g", i, dx.Data[i], num[i])
		}
	}
}

// Features' logits are Forward's, and its features are the output layer's
// input: W_out·features reproduces the logits.
func TestFeatures(t *testing.T) {
	cfg := Config{Name: "t", Features: []Item{4, A, 8}, Hidden: []int{16}, Classes: 3, InChannels: 1, InHeight: 6, InWidth: 6}
	m, err := New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(5, 1, 6, 6)
	x.RandUniform(rand.New(rand.NewPCG(3, 4)), -1, 1)
	want := m.Forward(x, nn.Mode{}).Clone()
	f, z := m.Features(x, nn.Mode{})
	if !tensor.SameShape(f.Shape, []int{5, 16}) {
		t.Fatalf("features %v, want [5 16]", f.Shape)
	}
	w := m.Linears[len(m.Linears)-1].Weight.W
	for n := range 5 {
		for k := range 3 {
			if z.Data[n*3+k] != want.Data[n*3+k] {
				t.Fatalf("logit [%d %d] = %g, Forward gives %g", n, k, z.Data[n*3+k], want.Data[n*3+k])
			}
			var s float64
			for d := range 16 {
				s += float64(w.Data[k*16+d]) * float64(f.Data[n*16+d])
			}
			if diff := math.Abs(s - float64(want.Data[n*3+k])); diff > 1e-5*(1+math.Abs(s)) {
				t.Fatalf("W·features [%d %d] = %g, logit %g", n, k, s, want.Data[n*3+k])
			}
		}
	}
}

// Levels > 0 puts a named QCFS activation after every hidden weighted
// layer; Plain drops them and keeps the weights.
func TestQCFSLevels(t *testing.T) {
	cfg := Config{Name: "t", Features: []Item{4, Pool, 6}, Hidden: []int{8}, Classes: 3, InChannels: 1, InHeight: 6, InWidth: 6, ConvDropout: 0.1, Levels: 4}
	m, err := New(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range m.Acts {
		names = append(names, a.Clip.Name)
	}
	if fmt.Sprint(names) != "[features.1.clip features.4.clip classifier.1.clip]" || cfg.HiddenLayers() != 3 {
		t.Errorf("clip names %v", names)
	}
	if got, want := cfg.NumParamsEstimate(), int64(m.NumParams()); got != want {
		t.Errorf("NumParamsEstimate %d, built %d", got, want)
	}
	p, err := m.Plain()
	if err != nil {
		t.Fatal(err)
	}
	if p.Config.Levels != 0 || p.Acts != nil || len(p.Params()) != len(m.Params())-3 {
		t.Fatalf("plain: levels %d, %d params", p.Config.Levels, len(p.Params()))
	}
	for i, c := range m.Convs {
		if fmt.Sprint(c.Weight.W.Data) != fmt.Sprint(p.Convs[i].Weight.W.Data) {
			t.Errorf("conv %d weights differ", i)
		}
	}
	cfg.Levels = MaxLevels + 1
	if cfg.Validate() == nil {
		t.Error("too many levels accepted")
	}
}
