package snn

import (
	"fmt"
	"sync"

	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

type stageKind uint8

const (
	convStage stageKind = iota
	fcStage
	outStage
)

// stage is one weighted layer of the spiking network with what follows it.
type stage struct {
	kind      stageKind
	name      string // weight name, e.g. "features.0.weight"
	h, w      int    // input spatial size (1×1 for linear layers)
	cin, cout int    // channels (or features) in and out
	k, pad    int
	wt        []float32   // transposed weights (see kernels.go)
	back      []float32   // conv stages: flipped weights whose convolution is the input gradient (see kernels.go)
	poolAfter bool        // a 2×2 average pool follows (conv stages)
	spiking   int         // index into Thresholds; -1 for the output stage
	edges     []edgePixel // conv stages: input pixels with taps outside the output
	// dropAfter marks a stage whose spikes a dropout layer follows in the
	// model (a conv not followed by a pool, a hidden FC); only training
	// passes apply it.
	dropAfter bool
	// param and grad are the model's weight and gradient in PyTorch layout.
	param, grad *tensor.Tensor
	// perm: the stage is the first FC, whose rows are permuted from
	// (c, h, w) to (h, w, c) order; fc, fh, fw are the feature shape.
	perm       bool
	fc, fh, fw int
}

func (s *stage) outHW() (int, int) {
	if s.kind != convStage {
		return 1, 1
	}
	return s.h + 2*s.pad - s.k + 1, s.w + 2*s.pad - s.k + 1
}

// inSize is the number of input values per image per step.
func (s *stage) inSize() int { return s.h * s.w * s.cin }

// outSize is the number of neurons (outputs) per image per step, before pooling.
func (s *stage) outSize() int {
	oh, ow := s.outHW()
	return oh * ow * s.cout
}

// Network is a spiking network sharing the weights of a VGG model.
type Network struct {
	Model  *vgg.Model
	Config Config
	stages []stage
}

// Spare simulation buffers, reused across Run, Forward and Backward calls
// of every network: chunk simulators and backward passes not in use. The
// pools are the package's, not each network's: a pool stays registered
// with the runtime after its network is dropped and keeps its buffers (for
// a layer of a chunk, up to hundreds of MB) for two more collections, so a
// loop that made one network per configuration held gigabytes. Every
// buffer is sized on use, so any network can take any of them.
var (
	simPool      sync.Pool // *chunkSim
	backwardPool sync.Pool // *backward
)

// getSim takes a spare chunk simulator, or returns nil.
func getSim() *chunkSim {
	s, _ := simPool.Get().(*chunkSim)
	return s
}

// putSim keeps a chunk simulator for reuse, dropping what ties it to its
// run.
func putSim(s *chunkSim) {
	s.net, s.res, s.opts = nil, nil, Options{}
	simPool.Put(s)
}

// getBackward takes a spare backward pass's buffers, or returns nil.
func getBackward() *backward {
	w, _ := backwardPool.Get().(*backward)
	return w
}

// putBackward keeps a backward pass's buffers for reuse.
func putBackward(w *backward) { backwardPool.Put(w) }

// SpikingLayers returns how many thresholds a VGG model's spiking version
// has: one per conv and one per hidden FC layer.
func SpikingLayers(m *vgg.Model) int { return len(m.Convs) + len(m.Linears) - 1 }

// New builds the spiking network of m with configuration c. The weights are
// read now (transposed copies); later changes to m's weights need a new
// Network.
func New(m *vgg.Model, c Config) (*Network, error) {
	if err := c.Validate(SpikingLayers(m)); err != nil {
		return nil, err
	}
	cfg := m.Config
	n := &Network{Model: m, Config: c}
	h, w, ci := cfg.InHeight, cfg.InWidth, 0
	spiking := 0
	for i, it := range cfg.Features {
		if it == vgg.Pool {
			continue
		}
		conv := m.Convs[ci]
		ci++
		st := stage{kind: convStage, name: conv.Weight.Name, h: h, w: w, cin: conv.InC, cout: conv.OutC,
			k: conv.K, pad: conv.Pad, wt: transposeConv(conv.Weight.W.Data, conv.OutC, conv.InC, conv.K), spiking: spiking,
			param: conv.Weight.W, grad: conv.Weight.G}
		st.back = flipConvInto(nil, conv.Weight.W.Data, conv.OutC, conv.InC, conv.K)
		spiking++
		st.edges = st.edgePixels()
		h, w = st.outHW()
		if i+1 < len(cfg.Features) && cfg.Features[i+1] == vgg.Pool {
			st.poolAfter = true
			h, w = h/2, w/2
		} else {
			st.dropAfter = true
		}
		n.stages = append(n.stages, st)
	}
	last := n.stages[len(n.stages)-1]
	flatC := last.cout
	for li, l := range m.Linears {
		st := stage{kind: fcStage, name: l.Weight.Name, h: 1, w: 1, cin: l.In, cout: l.Out, k: 1, spiking: spiking,
			param: l.Weight.W, grad: l.Weight.G}
		if li == len(m.Linears)-1 {
			st.kind, st.spiking = outStage, -1
		} else {
			spiking++
			st.dropAfter = true
		}
		if li == 0 {
			// The first FC reads the flattened features, which PyTorch orders
			// (c, h, w) and this package stores (h, w, c): permute its rows.
			if l.In != flatC*h*w {
				return nil, fmt.Errorf("snn: %s expects %d inputs, features give %d", l.Weight.Name, l.In, flatC*h*w)
			}
			st.wt = transposeLinearHWC(l.Weight.W.Data, l.Out, flatC, h, w)
			st.perm, st.fc, st.fh, st.fw = true, flatC, h, w
		} else {
			st.wt = transposeLinear(l.Weight.W.Data, l.Out, l.In)
		}
		n.stages = append(n.stages, st)
	}
	return n.WithConfig(c)
}

// WithConfig returns the network of the same model with configuration c:
// it shares n's weights as New read them (and as SyncWeights updates
// them), so that trying many configurations of one model (thresholds,
// initial membranes) does not copy the weights for each. Both networks may
// run at the same time; SyncWeights on either updates both.
func (n *Network) WithConfig(c Config) (*Network, error) {
	if err := c.Validate(SpikingLayers(n.Model)); err != nil {
		return nil, err
	}
	if len(c.ChannelInit) > 0 {
		for _, st := range n.stages {
			if st.spiking >= 0 && len(c.ChannelInit[st.spiking]) != st.cout {
				return nil, fmt.Errorf("snn: %d initial membranes for the %d channels of %s", len(c.ChannelInit[st.spiking]), st.cout, st.name)
			}
		}
	}
	return &Network{Model: n.Model, Config: c, stages: n.stages}, nil
}

// SyncWeights re-reads the model's weights into the network, after an
// optimiser step or any other change to them. It must not run concurrently
// with a simulation of n.
func (n *Network) SyncWeights() {
	for i := range n.stages {
		s := &n.stages[i]
		switch {
		case s.kind == convStage:
			s.wt = transposeConvInto(s.wt, s.param.Data, s.cout, s.cin, s.k)
			s.back = flipConvInto(s.back, s.param.Data, s.cout, s.cin, s.k)
		case s.perm:
			s.wt = transposeLinearHWCInto(s.wt, s.param.Data, s.cout, s.fc, s.fh, s.fw)
		default:
			s.wt = transposeLinearInto(s.wt, s.param.Data, s.cout, s.cin)
		}
	}
}

// transposeLinear turns W [Out, In] into [In, Out].
func transposeLinear(w []float32, out, in int) []float32 { return transposeLinearInto(nil, w, out, in) }

// transposeLinearInto is transposeLinear writing into t when it is large
// enough.
func transposeLinearInto(t, w []float32, out, in int) []float32 {
	t = grow(t, len(w))
	for o := range out {
		for i := range in {
			t[i*out+o] = w[o*in+i]
		}
	}
	return t
}

// transposeLinearHWC turns W [Out, C·H·W] (inputs in (c, h, w) order) into
// [H·W·C, Out] with inputs in (h, w, c) order.
func transposeLinearHWC(w []float32, out, c, h, wd int) []float32 {
	return transposeLinearHWCInto(nil, w, out, c, h, wd)
}

// transposeLinearHWCInto is transposeLinearHWC writing into t when it is
// large enough.
func transposeLinearHWCInto(t, w []float32, out, c, h, wd int) []float32 {
	in := c * h * wd
	t = grow(t, len(w))
	for o := range out {
		for ch := range c {
			for y := range h {
				for x := range wd {
					t[((y*wd+x)*c+ch)*out+o] = w[o*in+(ch*h+y)*wd+x]
				}
			}
		}
	}
	return t
}

// LayerNames returns the weight names of the spiking layers in order
// (those that have thresholds).
func (n *Network) LayerNames() []string {
	var names []string
	for _, s := range n.stages {
		if s.spiking >= 0 {
			names = append(names, s.name)
		}
	}
	return names
}
