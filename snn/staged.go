package snn

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"

	"github.com/privatesnn/privatesnn/internal/parallel"
	"github.com/privatesnn/privatesnn/tensor"
)

// Staged simulates a fixed batch of images one spiking layer at a time,
// for threshold balancing without re-simulating the earlier layers: Current
// computes the input current of the next spiking layer for all images,
// given the thresholds already set, and Advance sets that layer's threshold,
// fires it and keeps its output spikes (bit-packed, one bit per neuron and
// step) as the input of the following layer. The encoded input is drawn
// once (one seed per image, as Run draws them), so every layer sees the same
// Poisson noise; Run with the final thresholds, the same rng state and the
// same Path, EventDensity and MemoryBudget reproduces the same currents and
// spikes bit for bit.
//
// Computing a layer's current and then firing it runs its synapse twice;
// balancing L layers thus costs about two simulations of the network
// instead of the L(L+1)/2 layer passes of re-simulating from the input for
// every layer.
type Staged struct {
	net   *Network // a copy with its own thresholds
	x     *tensor.Tensor
	seeds []uint64
	opts  Options
	chunk int
	layer int         // the spiking layer Current computes next
	spk   []spikeBits // per chunk: output spikes of spiking layer layer−1, [T, B, out]
	sim   chunkSim
}

// Stage prepares a staged simulation of x [N, C, H, W] (normalised images)
// with n's configuration; the thresholds of n.Config are replaced, layer
// by layer, through Advance. Path, EventDensity and MemoryBudget of o are
// used; its other fields are ignored.
func (n *Network) Stage(x *tensor.Tensor, rng *rand.Rand, o Options) (*Staged, error) {
	c := n.Model.Config
	if len(x.Shape) != 4 || x.Shape[0] == 0 || x.Shape[1] != c.InChannels || x.Shape[2] != c.InHeight || x.Shape[3] != c.InWidth {
		return nil, fmt.Errorf("snn: staged input %v, want [N %d %d %d] with N ≥ 1", x.Shape, c.InChannels, c.InHeight, c.InWidth)
	}
	cfg := n.Config
	cfg.Thresholds = slices.Clone(cfg.Thresholds)
	net := &Network{Model: n.Model, Config: cfg, stages: n.stages}
	N := x.Shape[0]
	s := &Staged{net: net, x: x, seeds: make([]uint64, N), chunk: net.chunkSize(N, o.MemoryBudget),
		opts: Options{Path: o.Path, EventDensity: o.EventDensity}}
	for i := range s.seeds {
		s.seeds[i] = rng.Uint64()
	}
	s.sim = chunkSim{net: net, opts: s.opts, readouts: []int{cfg.Timesteps}}
	return s, nil
}

// Layer returns the spiking layer whose current Current computes next.
func (s *Staged) Layer() int { return s.layer }

// Thresholds returns the thresholds set so far (the first Layer() entries
// are final).
func (s *Staged) Thresholds() []float32 { return slices.Clone(s.net.Config.Thresholds) }

// Current calls fn with the input current of spiking layer Layer() for
// every chunk of images: cur is [steps, perStep] as for Options.Current.
func (s *Staged) Current(ctx context.Context, fn func(cur []float32, steps, perStep int)) error {
	if s.layer >= len(s.net.Config.Thresholds) {
		return fmt.Errorf("snn: all %d spiking layers are staged", s.layer)
	}
	return s.each(ctx, func(ci, B int) {
		planes, out := s.current(ci, B)
		fn(s.sim.cur[:planes*out], planes/B, B*out)
	})
}

// Advance sets the threshold of spiking layer Layer() to theta, fires the
// layer for all images, keeps its output spikes and moves to the next
// layer.
func (s *Staged) Advance(ctx context.Context, theta float32) error {
	l := s.layer
	if l >= len(s.net.Config.Thresholds) {
		return fmt.Errorf("snn: all %d spiking layers are staged", l)
	}
	if err := (Config{Timesteps: 1, Leak: 1, Thresholds: []float32{theta}}).Validate(1); err != nil {
		return fmt.Errorf("snn: layer %d: %w", l, err)
	}
	s.net.Config.Thresholds[l] = theta
	st := &s.net.stages[l]
	T := s.net.Config.Timesteps
	next := make([]spikeBits, 0, len(s.spk))
	err := s.each(ctx, func(ci, B int) {
		planes, out := s.current(ci, B)
		stride := B * out
		if planes != T*B {
			stride = 0 // Direct input: the same current at every step
		}
		s.sim.spk = grow(s.sim.spk, T*B*out)
		s.sim.neurons(st, B, stride)
		next = append(next, packSpikes(s.sim.spk[:T*B*out], &s.net.Config))
	})
	if err != nil {
		return err
	}
	s.spk = next
	s.layer++
	return nil
}

// each calls f for every chunk (index, images) in order, checking ctx.
func (s *Staged) each(ctx context.Context, f func(ci, B int)) error {
	N := s.x.Shape[0]
	for ci, i0 := 0, 0; i0 < N; ci, i0 = ci+1, i0+s.chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		f(ci, min(N, i0+s.chunk)-i0)
	}
	return nil
}

// current computes the input current of spiking layer s.layer for chunk ci
// (B images) into s.sim.cur and returns its planes (T·B, or B for a Direct
// first layer) and outputs per plane.
func (s *Staged) current(ci, B int) (planes, out int) {
	cs, n := &s.sim, s.net
	T := n.Config.Timesteps
	P := T * B
	i0 := ci * s.chunk
	st := &n.stages[s.layer]
	var in []float32
	planes = P
	if s.layer == 0 {
		direct := n.Config.Encoder == Direct
		if direct {
			planes = B
		}
		c := n.Model.Config
		cs.in = grow(cs.in, planes*c.InHeight*c.InWidth*c.InChannels)
		cs.encode(s.x, s.seeds, i0, i0+B, direct)
		in = cs.in
	} else {
		prev := &n.stages[s.layer-1]
		po := prev.outSize()
		cs.spk = grow(cs.spk, P*po)
		s.spk[ci].unpack(cs.spk[:P*po])
		in = cs.spk[:P*po]
		if prev.poolAfter {
			oh, ow := prev.outHW()
			cs.pooled = grow(cs.pooled, P*(oh/2)*(ow/2)*prev.cout)
			poolNHWC(cs.pooled, in, P, oh, ow, prev.cout)
			in = cs.pooled[:P*(oh/2)*(ow/2)*prev.cout]
		}
	}
	out = st.outSize()
	cs.cur = grow(cs.cur, P*out)
	nz := countNonZero(in[:planes*st.inSize()])
	useEvents := s.opts.Path == Events || s.opts.Path == Auto &&
		float64(nz) < n.eventDensity(st, s.opts.EventDensity)*float64(planes*st.inSize())
	cs.synapse(st, in, planes, useEvents)
	return planes, out
}

// spikeBits stores spikes (−1, 0 or 1) as bits: any marks a spike of
// either sign, neg a negative one (nil for networks without signed
// neurons, whose spikes are all positive). For burst spikes (counts
// 0..Config.Burst, or −1 with signed neurons) any holds bit 0 of each
// count's magnitude and high[j] bit j+1.
type spikeBits struct {
	any, neg []uint64
	high     [][]uint64
}

// packSpikes stores the spikes v of a network with configuration c as
// bits: signed neurons keep their signs, burst neurons their counts.
func packSpikes(v []float32, c *Config) spikeBits {
	var b spikeBits
	if c.Burst > 1 {
		b.any = packCountBit(v, 0)
		for j := 1; j < bits.Len(uint(c.Burst)); j++ {
			b.high = append(b.high, packCountBit(v, j))
		}
	} else {
		b.any = packBits(v)
	}
	if c.Signed {
		b.neg = packSignBits(v)
	}
	return b
}

// packCountBit stores bit j of the magnitude of every count of v
// (integers), one bit per value.
func packCountBit(v []float32, j int) []uint64 {
	b := make([]uint64, (len(v)+63)/64)
	parallel.For(len(b), len(v), func(lo, hi int) {
		for w := lo; w < hi; w++ {
			var word uint64
			for i, x := range v[w*64 : min(len(v), (w+1)*64)] {
				word |= uint64(uint(abs32(x))>>j&1) << uint(i)
			}
			b[w] = word
		}
	})
	return b
}

// unpack writes the spikes into v.
func (b spikeBits) unpack(v []float32) {
	unpackBits(v, b.any)
	for j, plane := range b.high {
		add := float32(uint(2) << j)
		parallel.For(len(plane), len(v), func(lo, hi int) {
			for w := lo; w < hi; w++ {
				seg := v[w*64 : min(len(v), (w+1)*64)]
				for word := plane[w]; word != 0; word &= word - 1 {
					seg[bits.TrailingZeros64(word)] += add
				}
			}
		})
	}
	if b.neg == nil {
		return
	}
	parallel.For(len(b.neg), len(v), func(lo, hi int) {
		for w := lo; w < hi; w++ {
			seg := v[w*64 : min(len(v), (w+1)*64)]
			for word := b.neg[w]; word != 0; word &= word - 1 {
				seg[bits.TrailingZeros64(word)] = -1
			}
		}
	})
}

// bytes returns the memory b holds.
func (b spikeBits) bytes() int64 {
	n := len(b.any) + len(b.neg)
	for _, p := range b.high {
		n += len(p)
	}
	return int64(n) * 8
}

// packSignBits stores the sign bits of v, one bit per value.
func packSignBits(v []float32) []uint64 { return packBit(v, 31) }

// packBits stores spikes v (each exactly 0, 1 or −1) as one bit per
// value, set for a spike of either sign: bit 29 is set in ±1.0
// (0x3f800000, 0xbf800000) and clear in +0, so no branch is needed.
func packBits(v []float32) []uint64 { return packBit(v, 29) }

// packBit stores bit k of every value of v, one bit per value.
func packBit(v []float32, k uint) []uint64 {
	b := make([]uint64, (len(v)+63)/64)
	parallel.For(len(b), len(v), func(lo, hi int) {
		for w := lo; w < hi; w++ {
			var word uint64
			for i, x := range v[w*64 : min(len(v), (w+1)*64)] {
				word |= uint64(math.Float32bits(x)>>k&1) << uint(i)
			}
			b[w] = word
		}
	})
	return b
}

// unpackBits writes 1 or 0 into v from the bits of packBits.
func unpackBits(v []float32, b []uint64) {
	parallel.For(len(b), len(v), func(lo, hi int) {
		for w := lo; w < hi; w++ {
			seg := v[w*64 : min(len(v), (w+1)*64)]
			clear(seg)
			for word := b[w]; word != 0; word &= word - 1 {
				seg[bits.TrailingZeros64(word)] = 1
			}
		}
	})
}
