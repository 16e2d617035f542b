package snn

import (
	"context"
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/privatesnn/privatesnn/safetensors"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

var update = flag.Bool("update", false, "rewrite testdata/torch/snn_case_*.safetensors (then run scripts/snn_resim.py)")

// resimCase describes a PyTorch cross-check case.
type resimCase struct {
	name string
	// quant makes the weights multiples of 2⁻⁸ (and Direct input multiples
	// of 2⁻⁶), so every sum is exact in float32 and any summation order
	// gives the same bits.
	quant   bool
	encoder Encoder
	reset   Reset
	init    float64 // InitMembrane
	signed  bool    // Config.Signed
	burst   int     // Config.Burst
	tol     float64 // on the output potential, relative to its largest magnitude
}

// build makes the network and input of the case.
func (c resimCase) build(t *testing.T) (*Network, *tensor.Tensor) {
	t.Helper()
	cfg := vgg.Config{Name: "resim", Features: []vgg.Item{8, 8, vgg.A, 16, vgg.A}, Hidden: []int{32}, Classes: 5,
		InChannels: 1, InHeight: 12, InWidth: 12}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(21, 22)))
	if err != nil {
		t.Fatal(err)
	}
	if c.quant {
		quantise(m)
	}
	n, err := New(m, Config{Timesteps: 20, Leak: 1, Reset: c.reset, Encoder: c.encoder, InitMembrane: c.init,
		Signed: c.signed, Burst: c.burst, Thresholds: []float32{0.75, 1.25, 1.5, 1}})
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(4, 1, 12, 12)
	x.RandUniform(rand.New(rand.NewPCG(23, 24)), -1, 1)
	if c.quant && c.encoder == Direct {
		for i, v := range x.Data {
			x.Data[i] = float32(math.Round(float64(v)*64)) / 64
		}
	}
	return n, x
}

// TestPyTorchResimulation compares the simulation (dense and event-driven
// paths) with a step-by-step PyTorch re-simulation of the same weights,
// thresholds and input spikes (scripts/snn_resim.py).
func TestPyTorchResimulation(t *testing.T) {
	for _, c := range []resimCase{
		// Exact arithmetic: the outputs must agree to the last bit.
		{name: "quant", quant: true},
		// Real-valued weights: summation order differs (GEMM, events,
		// PyTorch's kernels), a few float32 ulps of the partial sums.
		{name: "real", tol: 1e-5},
		// Initial membrane at half the threshold, soft reset; exact.
		{name: "init", quant: true, init: 0.5},
		// Direct analog input (first-layer current computed once per image
		// here, at every step in PyTorch), hard reset, initial membrane; exact.
		{name: "direct", quant: true, encoder: Direct, reset: ResetZero, init: 0.5},
		// Signed neurons (negative spikes), Direct input, initial membrane
		// θ/2; and with Poisson input. Exact.
		{name: "signed", quant: true, encoder: Direct, init: 0.5, signed: true},
		{name: "signed-poisson", quant: true, signed: true},
		// Burst spikes (up to 3 per step), Direct input, initial membrane
		// θ/2; and with Poisson input. Exact.
		{name: "burst", quant: true, encoder: Direct, init: 0.5, burst: 3},
		{name: "burst-poisson", quant: true, burst: 3},
		// Signed burst neurons (up to 2 spikes, or −1), Direct input; exact.
		{name: "signed-burst", quant: true, encoder: Direct, init: 0.5, signed: true, burst: 2},
	} {
		net, x := c.build(t)
		var input []float32 // [T, N, H, W, C] with C = 1, i.e. [T, N, C, H, W]
		for _, path := range []Path{Dense, Events} {
			negative, bursts := 0, 0
			r, err := net.Run(context.Background(), x, rand.New(rand.NewPCG(31, 32)), Options{Path: path,
				Spikes: func(layer int, s []float32, steps, _ int) {
					for _, v := range s {
						if layer >= 0 && v < 0 {
							negative++
						}
						if layer >= 0 && v > 1 {
							bursts++
						}
					}
					if layer == -1 && input == nil {
						// Direct input comes once (steps = 1); PyTorch gets every step.
						for range net.Config.Timesteps / steps {
							input = append(input, s...)
						}
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			if c.signed != (negative > 0) {
				t.Fatalf("%s path %d: %d negative spikes (signed %v)", c.name, path, negative, c.signed)
			}
			if (c.burst > 1) != (bursts > 0) {
				t.Fatalf("%s path %d: %d bursts of more than one spike (burst %d)", c.name, path, bursts, c.burst)
			}
			casePath := filepath.Join("..", "testdata", "torch", "snn_case_"+c.name+".safetensors")
			if *update {
				if path == Dense {
					writeCase(t, casePath, net, input, x.Shape[0])
				}
				continue
			}
			cs, err := safetensors.ReadFile(casePath)
			if err != nil {
				t.Fatalf("%v (regenerate: go test ./snn -run Resim -update; /usr/bin/python3 scripts/snn_resim.py)", err)
			}
			stored, _ := cs.Get("input_spikes")
			for i, v := range stored.Data {
				if input[i] != v {
					t.Fatalf("%s: stored input spike %d is %g, the encoder now gives %g", c.name, i, v, input[i])
				}
			}
			out, err := safetensors.ReadFile(filepath.Join("..", "testdata", "torch", "snn_resim_"+c.name+".safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			counts, _ := out.Get("spikes_per_layer")
			for l, want := range counts.Data {
				if r.Layers[l].Spikes != int64(want) {
					t.Errorf("%s path %d layer %d: %d spikes, PyTorch %d", c.name, path, l, r.Layers[l].Spikes, int64(want))
				}
			}
			po, _ := out.Get("output")
			want := tensor.FromData(po.Data, po.Shape...)
			scale := float64(want.MaxAbs())
			for i, v := range want.Data {
				if d := math.Abs(float64(r.Logits().Data[i] - v)); d > c.tol*scale {
					t.Fatalf("%s path %d output %d: %g, PyTorch %g", c.name, path, i, r.Logits().Data[i], v)
				}
			}
			if r.Layers[0].Spikes == 0 || r.Layers[3].Spikes == 0 {
				t.Fatalf("%s: silent layers %+v; the case proves little", c.name, r.Layers)
			}
		}
	}
}

func writeCase(t *testing.T, path string, net *Network, input []float32, n int) {
	t.Helper()
	m := net.Model
	cfg, _ := json.Marshal(m.Config.Features)
	hidden, _ := json.Marshal(m.Config.Hidden)
	f := &safetensors.File{Metadata: map[string]string{"cfg": string(cfg), "hidden": string(hidden),
		"classes": strconv.Itoa(m.Config.Classes), "leak": strconv.FormatFloat(net.Config.Leak, 'g', -1, 64),
		"reset": net.Config.Reset.String(), "writer": "snn/resim_test.go"}}
	if net.Config.Signed {
		f.Metadata["signed"] = "1"
	}
	if net.Config.Burst > 1 {
		f.Metadata["burst"] = strconv.Itoa(net.Config.Burst)
	}
	if net.Config.InitMembrane != 0 {
		f.Metadata["init_membrane"] = strconv.FormatFloat(net.Config.InitMembrane, 'g', -1, 64)
	}
	for _, p := range m.Params() {
		f.Tensors = append(f.Tensors, safetensors.Tensor{Name: p.Name, Shape: p.W.Shape, Data: p.W.Data})
	}
	c := m.Config
	f.Tensors = append(f.Tensors,
		safetensors.Tensor{Name: "thresholds", Shape: []int{len(net.Config.Thresholds)}, Data: net.Config.Thresholds},
		safetensors.Tensor{Name: "input_spikes", Shape: []int{net.Config.Timesteps, n, c.InChannels, c.InHeight, c.InWidth}, Data: input})
	if c.InChannels != 1 {
		t.Fatal("writeCase stores NHWC input as NCHW, valid only for one channel")
	}
	if err := safetensors.WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
}
