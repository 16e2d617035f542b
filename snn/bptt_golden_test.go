package snn

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/safetensors"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// bpttGoldenTol bounds |Go − PyTorch| of the logits, every weight gradient,
// ∂L/∂x and Σ_t ∂L/∂I_1[t], relative to the largest magnitude of that
// tensor. The cases are built so that the forward pass is exact in float32
// (binary-fraction weights, thresholds, inputs and masks; no membrane near
// its threshold), so Go and PyTorch take identical spike decisions and the
// logits agree to the bit. What remains is float32 rounding in the backward
// sums (a few hundred terms per gradient element, summed in a different
// order than the float64 reference): observed ≲ 1e-6 of the scale. 1e-4
// leaves two orders of margin for other kernels and summation orders, and
// is still far below what a wrong term (a missed mask, reset or pool factor,
// a transposed layout) produces, which is of the order of the gradient
// itself.
const bpttGoldenTol = 1e-4

// bpttGoldenCases are the files scripts/bptt_golden.py writes.
var bpttGoldenCases = []string{"soft", "hard", "init", "direct", "fastsigmoid", "atan", "attack2"}

// bpttGolden is one case loaded from testdata/torch/bptt_<name>.safetensors.
type bpttGolden struct {
	f    *safetensors.File
	m    *vgg.Model
	net  *Network
	sg   Surrogate
	x    *tensor.Tensor // [N, C, H, W]
	dS   *tensor.Tensor
	spk  []float32   // [T, N, H, W, C], nil for direct input
	mask [][]float32 // per stage, (h, w, c) order
}

func (g *bpttGolden) get(t *testing.T, name string) *safetensors.Tensor {
	t.Helper()
	v, ok := g.f.Get(name)
	if !ok {
		t.Fatalf("no tensor %q", name)
	}
	return v
}

// loadBPTTGolden reads a case and builds its model, network, input spikes
// and masks in this package's layouts.
func loadBPTTGolden(t *testing.T, name string) *bpttGolden {
	t.Helper()
	path := filepath.Join("..", "testdata", "torch", "bptt_"+name+".safetensors")
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate: /usr/bin/python3 scripts/bptt_golden.py)", err)
	}
	g := &bpttGolden{f: f}
	md := f.Metadata
	var cfg vgg.Config
	if err := json.Unmarshal([]byte(md["cfg"]), &cfg.Features); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(md["hidden"]), &cfg.Hidden); err != nil {
		t.Fatal(err)
	}
	xs := g.get(t, "x")
	g.x = tensor.FromData(xs.Data, xs.Shape...)
	N, C, H, W := xs.Shape[0], xs.Shape[1], xs.Shape[2], xs.Shape[3]
	cfg.Name, cfg.InChannels, cfg.InHeight, cfg.InWidth = "bptt-"+name, C, H, W
	num := func(key string) float64 {
		v, err := strconv.ParseFloat(md[key], 64)
		if err != nil {
			t.Fatalf("metadata %s: %v", key, err)
		}
		return v
	}
	cfg.Classes = int(num("classes"))
	g.m, err = vgg.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range g.m.Params() {
		w := g.get(t, p.Name)
		if !tensor.SameShape(w.Shape, p.W.Shape) {
			t.Fatalf("%s: file shape %v, model %v", p.Name, w.Shape, p.W.Shape)
		}
		copy(p.W.Data, w.Data)
	}
	sc := Config{Timesteps: int(num("timesteps")), Leak: 1, InitMembrane: num("init_membrane"),
		Thresholds: g.get(t, "thresholds").Data}
	if err := sc.Reset.UnmarshalText([]byte(md["reset"])); err != nil {
		t.Fatal(err)
	}
	if err := sc.Encoder.UnmarshalText([]byte(md["encoder"])); err != nil {
		t.Fatal(err)
	}
	if err := g.sg.Kind.UnmarshalText([]byte(md["surrogate"])); err != nil {
		t.Fatal(err)
	}
	g.sg.Gamma, g.sg.Slope = num("gamma"), num("slope")
	if g.net, err = New(g.m, sc); err != nil {
		t.Fatal(err)
	}
	T := sc.Timesteps
	if sc.Encoder == Poisson {
		g.spk = make([]float32, T*N*H*W*C)
		nchwToNHWC(g.spk, g.get(t, "input_spikes").Data, T*N, C, H, W)
	}
	ds := g.get(t, "dS")
	g.dS = tensor.FromData(ds.Data, ds.Shape...)
	g.mask = make([][]float32, len(g.net.stages))
	used := 0
	for si, s := range g.net.stages {
		m, ok := f.Get("mask." + strings.TrimSuffix(s.name, ".weight"))
		if !ok {
			continue
		}
		if !s.dropAfter {
			t.Fatalf("mask on %s, which has no dropout", s.name)
		}
		used++
		g.mask[si] = make([]float32, N*s.outSize())
		if s.kind == convStage {
			oh, ow := s.outHW()
			nchwToNHWC(g.mask[si], m.Data, N, s.cout, oh, ow)
		} else {
			copy(g.mask[si], m.Data)
		}
	}
	for _, tn := range f.Tensors {
		if strings.HasPrefix(tn.Name, "mask.") {
			used--
		}
	}
	if used != 0 {
		t.Fatalf("a mask names no stage")
	}
	return g
}

// nchwToNHWC permutes planes [C, H, W] into [H, W, C].
func nchwToNHWC(dst, src []float32, planes, c, h, w int) {
	for p := range planes {
		for ch := range c {
			for i := range h * w {
				dst[(p*h*w+i)*c+ch] = src[(p*c+ch)*h*w+i]
			}
		}
	}
}

// maxRelDiff returns max |got − want| / max |want|.
func maxRelDiff(t *testing.T, what string, got, want []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, PyTorch %d", what, len(got), len(want))
	}
	var scale, diff float64
	for i, w := range want {
		scale = max(scale, math.Abs(float64(w)))
		diff = max(diff, math.Abs(float64(got[i])-float64(w)))
	}
	if scale == 0 {
		t.Fatalf("%s: the PyTorch reference is all zeros; the case proves nothing", what)
	}
	return diff / scale
}

// TestBPTTGolden compares Forward's logits and Backward's weight, input and
// first-layer current gradients with PyTorch autograd over the unrolled
// network (scripts/bptt_golden.py), on both synaptic paths, with the whole
// batch in one chunk and with one image per chunk, each also Frozen: then
// the input and current gradients must still match and the weight
// gradients stay zero.
func TestBPTTGolden(t *testing.T) {
	ctx := context.Background()
	for _, name := range bpttGoldenCases {
		t.Run(name, func(t *testing.T) {
			g := loadBPTTGolden(t, name)
			type variant struct {
				budget int64
				path   Path
				hook   bool // direct input through the inputSpikes hook, T copies of x
				frozen bool
			}
			var vs []variant
			for _, frozen := range []bool{false, true} {
				for _, budget := range []int64{0, 1} {
					for _, path := range []Path{Dense, Events} {
						vs = append(vs, variant{budget, path, false, frozen})
						if g.spk == nil {
							vs = append(vs, variant{budget, path, true, frozen})
						}
					}
				}
			}
			worst := map[string]float64{}
			for _, v := range vs {
				o := TrainOptions{Surrogate: g.sg, InputGradient: true, CurrentGradient: true, Frozen: v.frozen,
					MemoryBudget: v.budget, Path: v.path, inputSpikes: g.spk, masks: g.mask}
				if v.hook {
					c := g.m.Config
					hwc := c.InChannels * c.InHeight * c.InWidth
					N, T := g.x.Shape[0], g.net.Config.Timesteps
					o.inputSpikes = make([]float32, T*N*hwc)
					for step := range T {
						nchwToNHWC(o.inputSpikes[step*N*hwc:], g.x.Data, N, c.InChannels, c.InHeight, c.InWidth)
					}
				}
				label := fmt.Sprintf("budget %d, path %s, hook %v, frozen %v", v.budget,
					map[Path]string{Dense: "dense", Events: "events"}[v.path], v.hook, v.frozen)
				g.m.ZeroGrad()
				tp, err := g.net.Forward(ctx, g.x, rand.New(rand.NewPCG(3, 4)), o)
				if err != nil {
					t.Fatal(err)
				}
				if v.budget == 1 && len(tp.bits) != g.x.Shape[0] {
					t.Fatalf("%s: %d chunks, want one per image", label, len(tp.bits))
				}
				dx, err := tp.Backward(ctx, g.dS)
				if err != nil {
					t.Fatal(err)
				}
				check := func(what string, got []float32, want string) {
					d := maxRelDiff(t, what, got, g.get(t, want).Data)
					kind := strings.SplitN(want, ".", 2)[0]
					worst[kind] = max(worst[kind], d)
					if d > bpttGoldenTol {
						t.Errorf("%s: %s differs from PyTorch by %.3g of its largest magnitude (tolerance %g)",
							label, what, d, bpttGoldenTol)
					}
				}
				check("logits", tp.Logits().Data, "S")
				for _, p := range g.m.Params() {
					if !v.frozen {
						check("∂L/∂"+p.Name, p.G.Data, "grad."+p.Name)
						continue
					}
					for i, w := range p.G.Data {
						if w != 0 {
							t.Fatalf("%s: frozen backward wrote %s gradient %d = %g", label, p.Name, i, w)
						}
					}
				}
				check("∂L/∂x", dx.Data, "dx")
				G := tp.CurrentGradient()
				if G == nil {
					t.Fatalf("%s: no current gradient recorded", label)
				}
				if want := g.get(t, "grad_current1").Shape; !tensor.SameShape(G.Shape, want) {
					t.Fatalf("%s: current gradient %v, PyTorch %v", label, G.Shape, want)
				}
				check("Σ_t ∂L/∂I_1[t]", G.Data, "grad_current1")
			}
			t.Logf("%d variants (half frozen), largest relative differences: logits %.3g, weight gradients %.3g, ∂L/∂x %.3g, Σ_t ∂L/∂I_1[t] %.3g (tolerance %g)",
				len(vs), worst["S"], worst["grad"], worst["dx"], worst["grad_current1"], bpttGoldenTol)
		})
	}
}
