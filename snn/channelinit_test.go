package snn

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/privatesnn/privatesnn/tensor"
)

// uniformChannelInit returns per-channel initial membranes of n's spiking
// layers that all equal v.
func uniformChannelInit(n *Network, v float32) [][]float32 {
	var ch [][]float32
	for _, st := range n.stages {
		if st.spiking < 0 {
			continue
		}
		c := make([]float32, st.cout)
		for i := range c {
			c[i] = v
		}
		ch = append(ch, c)
	}
	return ch
}

// TestChannelInitUniformEqualsInitMembrane: per-channel initial membranes
// that all equal InitMembrane start every neuron where InitMembrane does,
// so inference (both kernel paths, both encoders) and a BPTT step (logits,
// every weight gradient, the input gradient) must agree bit for bit.
func TestChannelInitUniformEqualsInitMembrane(t *testing.T) {
	for _, enc := range []Encoder{Poisson, Direct} {
		n, x := tinyNet(t, false, 7)
		n.Config.Encoder, n.Config.InitMembrane = enc, 0.5
		uniform := uniformChannelInit(n, 0.5)
		for _, path := range []Path{Dense, Events} {
			a := run(t, n, x, Options{Path: path})
			n.Config.ChannelInit = uniform
			b := run(t, n, x, Options{Path: path})
			n.Config.ChannelInit = nil
			if !sameTensor(a.Logits(), b.Logits()) {
				t.Fatalf("%v %v: logits differ with uniform per-channel initial membranes", enc, path)
			}
			for l := range a.Layers {
				if a.Layers[l].Spikes != b.Layers[l].Spikes {
					t.Fatalf("%v %v: layer %d spikes %d, per channel %d", enc, path, l, a.Layers[l].Spikes, b.Layers[l].Spikes)
				}
			}
		}
		grads := func() ([]*tensor.Tensor, *tensor.Tensor) {
			n.Model.Net.ZeroGrad()
			o := TrainOptions{Surrogate: DefaultSurrogate(), InputGradient: true}
			tp, dx := randomBackward(t, n, x, o)
			var g []*tensor.Tensor
			for _, p := range n.Model.Net.Params() {
				g = append(g, p.G.Clone())
			}
			return append(g, tp.Logits().Clone()), dx.Clone()
		}
		ga, dxa := grads()
		n.Config.ChannelInit = uniform
		gb, dxb := grads()
		n.Config.ChannelInit = nil
		for i := range ga {
			if !sameTensor(ga[i], gb[i]) {
				t.Fatalf("%v: BPTT tensor %d differs with uniform per-channel initial membranes", enc, i)
			}
		}
		if !sameTensor(dxa, dxb) {
			t.Fatalf("%v: input gradient differs", enc)
		}
	}
}

// TestChannelInitPicksChannels: on a blank image no current flows, so a
// neuron fires only if it starts above its threshold (strict >). With
// layer 0's channel 3 started at 1.5·θ and every other channel at 0.75·θ,
// exactly the neurons of channel 3 fire, once each (then 0.5·θ remains):
// one spike per image and position of the 8×8 first layer. The other
// layers, started at 0, stay silent, and so does the output.
func TestChannelInitPicksChannels(t *testing.T) {
	n, _ := tinyNet(t, false, 5)
	n.Config.Encoder = Direct
	ch := uniformChannelInit(n, 0)
	for c := range ch[0] {
		ch[0][c] = 0.75
	}
	ch[0][3] = 1.5
	n.Config.ChannelInit = ch
	x := tensor.New(2, 2, 8, 8)
	for _, path := range []Path{Dense, Events} {
		var wrong int
		spikes := func(layer int, v []float32, steps, per int) {
			if layer != 0 {
				return
			}
			for i, s := range v { // [steps, B, H, W, C], C = 8
				if s != 0 && (i%8 != 3 || i/per != 0) {
					wrong++
				}
			}
		}
		r := run(t, n, x, Options{Path: path, Spikes: spikes})
		if got, want := r.Layers[0].Spikes, int64(2*8*8); got != want || wrong != 0 {
			t.Fatalf("%v: layer 0 fired %d spikes (%d outside channel 3 or after step 1), want %d (channel 3 once per image and position, at step 1)",
				path, got, wrong, want)
		}
	}
	// The same through the BPTT tape: its spike rate of layer 0 is one
	// spike per channel-3 neuron over T steps and 8 channels.
	tp, err := n.Forward(context.Background(), x, rand.New(rand.NewPCG(1, 1)), TrainOptions{Surrogate: DefaultSurrogate()})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tp.SpikeRate(0), 1.0/(5*8); math.Abs(got-want) > 1e-12 {
		t.Fatalf("tape layer 0 spike rate %g, want %g", got, want)
	}
}

func TestChannelInitValidate(t *testing.T) {
	n, _ := tinyNet(t, false, 5)
	good := uniformChannelInit(n, 0.5)
	cfg := n.Config
	cfg.ChannelInit = good
	if _, err := New(n.Model, cfg); err != nil {
		t.Fatalf("valid per-channel initial membranes: %v", err)
	}
	bad := map[string][][]float32{
		"too few layers":   good[:2],
		"wrong width":      append([][]float32{good[0][:5]}, good[1:]...),
		"NaN":              {{float32(math.NaN())}, good[1], good[2], good[3]},
		"beyond the bound": {append([]float32{MaxChannelInit + 1}, good[0][1:]...), good[1], good[2], good[3]},
	}
	for name, ch := range bad {
		cfg.ChannelInit = ch
		if _, err := New(n.Model, cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// sameTensor reports whether a and b have the same shape and bits.
func sameTensor(a, b *tensor.Tensor) bool {
	if len(a.Shape) != len(b.Shape) || len(a.Data) != len(b.Data) {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	for i := range a.Data {
		if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
			return false
		}
	}
	return true
}
