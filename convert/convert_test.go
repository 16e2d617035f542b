package convert

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/privatesnn/privatesnn/progress/progresstest"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// bruteForce balances thresholds with a naive step-by-step simulation of a
// conv(pad 1) → pool → FC → FC network with direct input: for each spiking
// layer in order, θ_l = max over images and steps of its input current with
// earlier layers spiking at their final thresholds.
func bruteForce(m *vgg.Model, x *tensor.Tensor, T int) []float32 { return bruteForceWith(m, x, T, 0) }

// bruteForceWith is bruteForce with θ_0 replaced by th0 when th0 > 0
// before the second layer is balanced.
func bruteForceWith(m *vgg.Model, x *tensor.Tensor, T int, th0 float32) []float32 {
	conv, fc := m.Convs[0], m.Linears[0]
	N, C, H, W := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	co := conv.OutC
	th := []float32{0, 0}
	for l := range 2 {
		var maxI float32
		for n := range N {
			u1 := make([]float32, co*H*W)
			for range T {
				// conv current
				i1 := make([]float32, co*H*W)
				for o := range co {
					for y := range H {
						for xx := range W {
							var s float32
							for c := range C {
								for a := range 3 {
									for b := range 3 {
										yy, xb := y+a-1, xx+b-1
										if yy < 0 || yy >= H || xb < 0 || xb >= W {
											continue
										}
										s += conv.Weight.W.Data[((o*C+c)*3+a)*3+b] * x.Data[((n*C+c)*H+yy)*W+xb]
									}
								}
							}
							i1[(o*H+y)*W+xx] = s
						}
					}
				}
				if l == 0 {
					for _, v := range i1 {
						maxI = max(maxI, v)
					}
					continue
				}
				spk := make([]float32, co*H*W)
				for i := range u1 {
					u1[i] += i1[i]
					if u1[i] > th[0] {
						spk[i] = 1
						u1[i] -= th[0]
					}
				}
				// pool (c, h, w order) then FC
				ph, pw := H/2, W/2
				pooled := make([]float32, co*ph*pw)
				for o := range co {
					for y := range ph {
						for xx := range pw {
							pooled[(o*ph+y)*pw+xx] = 0.25 * (spk[(o*H+2*y)*W+2*xx] + spk[(o*H+2*y)*W+2*xx+1] +
								spk[(o*H+2*y+1)*W+2*xx] + spk[(o*H+2*y+1)*W+2*xx+1])
						}
					}
				}
				for j := range fc.Out {
					var s float32
					for i, v := range pooled {
						s += fc.Weight.W.Data[j*fc.In+i] * v
					}
					maxI = max(maxI, s)
				}
			}
		}
		th[l] = maxI
		if l == 0 && th0 > 0 {
			th[0] = th0
		}
	}
	return th
}

func toyModel(t *testing.T) (*vgg.Model, *tensor.Tensor) {
	t.Helper()
	cfg := vgg.Config{Name: "toy", Features: []vgg.Item{4, vgg.A}, Hidden: []int{6}, Classes: 3,
		InChannels: 2, InHeight: 6, InWidth: 6}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(11, 12)))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(5, 2, 6, 6)
	x.RandUniform(rand.New(rand.NewPCG(13, 14)), -1, 1)
	return m, x
}

func TestThresholdsEqualBruteForce(t *testing.T) {
	m, x := toyModel(t)
	o := Defaults()
	o.Timesteps, o.Encoder, o.Batch = 8, snn.Direct, 2
	got, err := Thresholds(context.Background(), m, x, o, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	want := bruteForce(m, x, 8)
	// Summation order differs between the naive loops and the GEMM/event
	// kernels; float32 sums of ≤ 54 terms agree to ~1e-6 relative.
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5*math.Abs(float64(want[i])) {
			t.Fatalf("threshold %d: %g, brute force %g", i, got[i], want[i])
		}
	}
	if want[1] == 0 {
		t.Fatal("toy network's second layer is silent; the test proves nothing")
	}
}

func TestScaleAndPercentile(t *testing.T) {
	m, x := toyModel(t)
	o := Defaults()
	o.Timesteps, o.Encoder = 8, snn.Direct
	base, err := Thresholds(context.Background(), m, x, o, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	o.Scale = 0.5
	half, _ := Thresholds(context.Background(), m, x, o, rand.New(rand.NewPCG(1, 1)))
	if half[0] != base[0]*0.5 {
		t.Fatalf("scaled first threshold %g, want %g", half[0], base[0]*0.5)
	}
	o.Scale, o.Percentile = 1, 99
	p, _ := Thresholds(context.Background(), m, x, o, rand.New(rand.NewPCG(1, 1)))
	if !(p[0] > 0 && p[0] <= base[0]) {
		t.Fatalf("99th percentile %g not in (0, max %g]", p[0], base[0])
	}
}

func TestHistogramPercentile(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	v := make([]float32, 200000)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * 3)
	}
	ob := observer{hist: make([]int64, histBins)}
	ob.add(v[:100000])
	ob.add(v[100000:])
	for _, p := range []float64{50, 90, 99, 99.9} {
		got, want := ob.percentile(p), PercentileExact(v, p)
		// The histogram's bins are 2⁻¹¹ wide relative to the value.
		if math.Abs(float64(got-want)) > 1e-3*math.Abs(float64(want)) {
			t.Errorf("p%g: histogram %g, exact %g", p, got, want)
		}
	}
}

func TestErrors(t *testing.T) {
	m, x := toyModel(t)
	o := Defaults()
	o.Timesteps = 4
	for name, bad := range map[string]func(*Options){
		"percentile": func(o *Options) { o.Percentile = 20 },
		"scale":      func(o *Options) { o.Scale = 0 },
		"batch":      func(o *Options) { o.Batch = 0 },
		"T":          func(o *Options) { o.Timesteps = 0 },
	} {
		oo := o
		bad(&oo)
		if _, err := Thresholds(context.Background(), m, x, oo, rand.New(rand.NewPCG(1, 1))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Thresholds(context.Background(), m, tensor.New(0, 2, 6, 6), o, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("empty calibration set accepted")
	}
	// All-zero weights make the first layer dead.
	for _, p := range m.Params() {
		p.W.Zero()
	}
	if _, err := Thresholds(context.Background(), m, x, o, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("dead layer accepted")
	}
}

// The progress contract in the threshold search, re-simulating and staged:
// one report per layer with its threshold (before Scale) and name, and a
// callback's error stops the search at that layer.
func TestThresholdsProgress(t *testing.T) {
	m, x := toyModel(t)
	for _, staged := range []bool{false, true} {
		o := Defaults()
		o.Timesteps, o.Encoder, o.Batch, o.Staged, o.Scale = 8, snn.Direct, 2, staged, 2
		rec := &progresstest.Recorder{T: t}
		o.Progress = rec.Func()
		th, err := Thresholds(context.Background(), m, x, o, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Reports) != len(th) {
			t.Fatalf("staged %v: %d reports for %d layers", staged, len(rec.Reports), len(th))
		}
		for l, r := range rec.Reports {
			d, ok := r.Detail.(Layer)
			if v, _ := r.Value("threshold"); !ok || r.Label != "layers" || r.Done != l+1 || r.Total != len(th) || 2*d.Threshold != th[l] || v != float64(d.Threshold) || d.Name == "" {
				t.Errorf("staged %v: report %d %+v for threshold %g", staged, l, r, th[l])
			}
		}
		stop := &progresstest.Recorder{T: t, StopAfter: 1}
		o.Progress = stop.Func()
		_, err = Thresholds(context.Background(), m, x, o, rand.New(rand.NewPCG(1, 1)))
		stop.CheckStopped(err)
	}
}

// TestDeadLayerError: the typed error reads as ErrDeadLayer's text always
// has (candidate records in cards keep their bytes) and is ErrDeadLayer.
func TestDeadLayerError(t *testing.T) {
	var err error = &DeadLayerError{Layer: "features.3.weight", Index: 1, Max: 0, Images: 8}
	if got, want := err.Error(), "convert: layer receives no positive input current: features.3.weight (max 0 over 8 images)"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	if !errors.Is(err, ErrDeadLayer) {
		t.Errorf("not ErrDeadLayer")
	}
}

// TestBurstThresholdsHalve: with burst spikes (G = 2) the first layer's
// threshold, whose current no spike shapes, is half the ordinary one in
// both searches (re-simulating and staged), and BurstThresholds divides
// only the first of a list, leaving its input alone.
func TestBurstThresholdsHalve(t *testing.T) {
	m, _ := toyModel(t)
	x := tensor.New(32, 2, 6, 6)
	x.RandUniform(rand.New(rand.NewPCG(43, 1)), -1, 1)
	for _, staged := range []bool{false, true} {
		o := Defaults()
		o.Timesteps, o.Encoder, o.InitMembrane, o.Percentile, o.Staged = 4, snn.Direct, 0.5, 99, staged
		plain, err := Thresholds(context.Background(), m, x, o, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		o.Burst = 2
		burst, err := Thresholds(context.Background(), m, x, o, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if burst[0] != plain[0]/2 {
			t.Fatalf("staged %v: first threshold %g with bursts of 2, %g without", staged, burst[0], plain[0])
		}
	}
	th := []float32{4, 3, 2}
	if got := BurstThresholds(th, 2); got[0] != 2 || got[1] != 3 || got[2] != 2 || th[0] != 4 {
		t.Fatalf("BurstThresholds: %v (input now %v)", got, th)
	}
	if got := BurstThresholds(th, 1); got[0] != 4 {
		t.Fatalf("BurstThresholds with one spike per step: %v", got)
	}
}
