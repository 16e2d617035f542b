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
var bpttGoldenCases = []string{"soft", "hard", "init", "direct", "fastsigmoid", "atan", "attack2", "signed", "burst", "signed-burst"}

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
	g.loadModel(t, name)
	g.loadNetwork(t)
	ds := g.get(t, "dS")
	g.dS = tensor.FromData(ds.Data, ds.Shape...)
	g.loadMasks(t)
	return g
}

// num returns the number the file's metadata holds under key.
func (g *bpttGolden) num(t *testing.T, key string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(g.f.Metadata[key], 64)
	if err != nil {
		t.Fatalf("metadata %s: %v", key, err)
	}
	return v
}

// loadModel sets g.x to the file's images and g.m to a VGG model named
// "bptt-"+name with the features, hidden layers and class count of the
// metadata, the images' input shape, and the file's weights.
func (g *bpttGolden) loadModel(t *testing.T, name string) {
	t.Helper()
	md := g.f.Metadata
	var cfg vgg.Config
	if err := json.Unmarshal([]byte(md["cfg"]), &cfg.Features); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(md["hidden"]), &cfg.Hidden); err != nil {
		t.Fatal(err)
	}
	xs := g.get(t, "x")
	g.x = tensor.FromData(xs.Data, xs.Shape...)
	C, H, W := xs.Shape[1], xs.Shape[2], xs.Shape[3]
	cfg.Name, cfg.InChannels, cfg.InHeight, cfg.InWidth = "bptt-"+name, C, H, W
	cfg.Classes = int(g.num(t, "classes"))
	var err error
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
}

// loadNetwork sets g.net to g.m's spiking network with the metadata's
// steps, initial membrane, reset, encoder, signed neurons and burst spikes and the file's thresholds
// (leak 1), g.sg to the metadata's surrogate, and for Poisson input g.spk
// to the file's input spikes in [T, N, H, W, C] order.
func (g *bpttGolden) loadNetwork(t *testing.T) {
	t.Helper()
	md := g.f.Metadata
	sc := Config{Timesteps: int(g.num(t, "timesteps")), Leak: 1, InitMembrane: g.num(t, "init_membrane"),
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
	g.sg.Gamma, g.sg.Slope = g.num(t, "gamma"), g.num(t, "slope")
	sc.Signed = md["signed"] == "1"
	if b := md["burst"]; b != "" {
		sc.Burst = int(g.num(t, "burst"))
	}
	var err error
	if g.net, err = New(g.m, sc); err != nil {
		t.Fatal(err)
	}
	T := sc.Timesteps
	if sc.Encoder == Poisson {
		N, C, H, W := g.x.Shape[0], g.x.Shape[1], g.x.Shape[2], g.x.Shape[3]
		g.spk = make([]float32, T*N*H*W*C)
		nchwToNHWC(g.spk, g.get(t, "input_spikes").Data, T*N, C, H, W)
	}
}

// loadMasks sets g.mask from the file's "mask.<layer>" tensors, in each
// stage's (h, w, c) order; it fails on a mask for a stage without dropout
// and on one that names no stage.
func (g *bpttGolden) loadMasks(t *testing.T) {
	t.Helper()
	N := g.x.Shape[0]
	g.mask = make([][]float32, len(g.net.stages))
	used := 0
	for si, s := range g.net.stages {
		m, ok := g.f.Get("mask." + strings.TrimSuffix(s.name, ".weight"))
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
	for _, tn := range g.f.Tensors {
		if strings.HasPrefix(tn.Name, "mask.") {
			used--
		}
	}
	if used != 0 {
		t.Fatalf("a mask names no stage")
	}
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
			vs := bpttGoldenVariants(g.spk == nil)
			worst := map[string]float64{}
			for _, v := range vs {
				g.checkVariant(ctx, t, v, worst)
			}
			t.Logf("%d variants (half frozen), largest relative differences: logits %.3g, weight gradients %.3g, ∂L/∂x %.3g, Σ_t ∂L/∂I_1[t] %.3g (tolerance %g)",
				len(vs), worst["S"], worst["grad"], worst["dx"], worst["grad_current1"], bpttGoldenTol)
		})
	}
}

// bpttVariant is one way TestBPTTGolden runs a case.
type bpttVariant struct {
	budget int64
	path   Path
	hook   bool // direct input through the inputSpikes hook, T copies of x
	frozen bool
}

// bpttGoldenVariants lists the variants: not frozen, then frozen; within
// each, budgets 0 (one chunk) and 1 (one image per chunk), each on the
// Dense and the Events path, and for direct input each also through the
// hook.
func bpttGoldenVariants(direct bool) []bpttVariant {
	var vs []bpttVariant
	for _, frozen := range []bool{false, true} {
		for _, budget := range []int64{0, 1} {
			for _, path := range []Path{Dense, Events} {
				vs = append(vs, bpttVariant{budget, path, false, frozen})
				if direct {
					vs = append(vs, bpttVariant{budget, path, true, frozen})
				}
			}
		}
	}
	return vs
}

// trainOptions returns the TrainOptions of variant v: g's surrogate, input
// spikes and masks, both input-side gradients, and for the hook variant
// T copies of x in [T, N, H, W, C] order as the input spikes.
func (g *bpttGolden) trainOptions(v bpttVariant) TrainOptions {
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
	return o
}

// checkVariant runs Forward and Backward on g's case as variant v and
// compares the logits, the weight gradients (zero when frozen), ∂L/∂x and
// Σ_t ∂L/∂I_1[t] with PyTorch's, raising worst[kind] to each comparison's
// relative difference, kind being the reference tensor's name up to its
// first dot.
func (g *bpttGolden) checkVariant(ctx context.Context, t *testing.T, v bpttVariant, worst map[string]float64) {
	o := g.trainOptions(v)
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
