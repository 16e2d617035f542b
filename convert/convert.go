// Package convert turns a trained VGG ANN into a spiking network by
// threshold balancing (SPEC §3.5): the weights are kept unchanged and each
// spiking layer's threshold is set, in order, to the largest instantaneous
// input current it receives over all time steps and calibration images,
// with the earlier layers already spiking at their final thresholds.
//
// # Overview
//
// Thresholds runs the balancing on calibration images the caller provides;
// privatesnn passes synthetic images (package synth), never real data, and
// this package cannot read a data set: it does not import the data
// readers (enforced by a test). Besides the maximum, a robust percentile
// (e.g. 99.9 %) of the current distribution can be used, and the result can
// be scaled.
//
// # Error handling
//
// Invalid options, an empty calibration set and a layer that never receives
// a positive current (a dead network or far too few images) are errors.
//
// # Concurrency
//
// Thresholds uses all cores through package snn; the model is only read.
package convert

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Options configures threshold balancing.
type Options struct {
	// Timesteps, Leak, Reset and Encoder describe the spiking network being
	// calibrated (the reference balances at the final T, λ = 1, soft
	// reset, Poisson input).
	Timesteps int
	Leak      float64
	Reset     snn.Reset
	Encoder   snn.Encoder
	// Percentile selects the threshold as this percentile of all input
	// currents of the layer; 0 or 100 means the maximum (the reference).
	Percentile float64
	// Scale multiplies every threshold at the end (reference: 1.0).
	Scale float64
	// Batch is how many calibration images are simulated together.
	Batch int
	// Progress, if set, is called after each layer with its threshold.
	Progress func(layer, layers int, name string, threshold float32)
}

// Defaults returns the reference's settings at T = 100.
func Defaults() Options {
	return Options{Timesteps: 100, Leak: 1, Reset: snn.ResetSubtract, Encoder: snn.Poisson, Scale: 1, Batch: 256}
}

// Validate reports unusable options.
func (o Options) Validate() error {
	if o.Percentile < 0 || o.Percentile > 100 || (o.Percentile > 0 && o.Percentile < 50) {
		return fmt.Errorf("convert: percentile %g outside [50, 100] (0 = max)", o.Percentile)
	}
	if !(o.Scale > 0) || o.Scale > 100 {
		return fmt.Errorf("convert: scale %g outside (0, 100]", o.Scale)
	}
	if o.Batch < 1 || o.Batch > 1<<16 {
		return fmt.Errorf("convert: batch %d out of range", o.Batch)
	}
	return snn.Config{Timesteps: o.Timesteps, Leak: o.Leak, Reset: o.Reset, Encoder: o.Encoder, Thresholds: []float32{1}}.Validate(1)
}

// Config returns the spiking configuration for the given thresholds.
func (o Options) Config(thresholds []float32) snn.Config {
	return snn.Config{Timesteps: o.Timesteps, Leak: o.Leak, Reset: o.Reset, Encoder: o.Encoder, Thresholds: thresholds}
}

// ErrDeadLayer reports a layer that never received a positive input current.
var ErrDeadLayer = fmt.Errorf("convert: layer receives no positive input current")

// Thresholds balances every spiking layer of m on the calibration images
// calib [N, C, H, W] (normalised to [-1, 1]) and returns one threshold per
// spiking layer. Poisson noise is redrawn from rng for every layer's pass,
// as in the reference, where the whole network is re-simulated per layer.
func Thresholds(ctx context.Context, m *vgg.Model, calib *tensor.Tensor, o Options, rng *rand.Rand) ([]float32, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if len(calib.Shape) != 4 || calib.Shape[0] == 0 {
		return nil, fmt.Errorf("convert: calibration set %v is empty or not [N C H W]", calib.Shape)
	}
	L := snn.SpikingLayers(m)
	th := make([]float32, L)
	for i := range th {
		th[i] = 1 // placeholders: layer l's pass never reaches layers ≥ l
	}
	N := calib.Shape[0]
	per := calib.Len() / N
	for l := range L {
		net, err := snn.New(m, o.Config(th))
		if err != nil {
			return nil, err
		}
		var obs observer
		if o.Percentile > 0 && o.Percentile < 100 {
			obs.hist = make([]int64, histBins)
		}
		for b0 := 0; b0 < N; b0 += o.Batch {
			b1 := min(N, b0+o.Batch)
			x := tensor.FromData(calib.Data[b0*per:b1*per], append([]int{b1 - b0}, calib.Shape[1:]...)...)
			_, err := net.Run(ctx, x, rng, snn.Options{Observe: l + 1, Current: func(layer int, cur []float32, _, _ int) {
				if layer == l {
					obs.add(cur)
				}
			}})
			if err != nil {
				return nil, err
			}
		}
		v := obs.max
		if obs.hist != nil {
			v = obs.percentile(o.Percentile)
		}
		if !(v > 0) {
			return nil, fmt.Errorf("%w: %s (max %g over %d images)", ErrDeadLayer, net.LayerNames()[l], obs.max, N)
		}
		th[l] = v
		if o.Progress != nil {
			o.Progress(l+1, L, net.LayerNames()[l], v)
		}
	}
	for i := range th {
		th[i] = float32(float64(th[i]) * o.Scale)
	}
	return th, nil
}

// histBins covers the positive float32 values by their top 20 bits (sign,
// exponent and 11 mantissa bits), a relative resolution of 2⁻¹¹ ≈ 0.05 %.
const (
	histShift = 12
	histBins  = 1 << (32 - histShift - 1)
)

// observer tracks the maximum and, optionally, a histogram of currents.
type observer struct {
	max      float32
	hist     []int64 // counts of positive values by bit pattern
	nonPos   int64   // values ≤ 0
	observed int64
}

func (ob *observer) add(cur []float32) {
	for _, v := range cur {
		if v > ob.max {
			ob.max = v
		}
	}
	ob.observed += int64(len(cur))
	if ob.hist == nil {
		return
	}
	for _, v := range cur {
		if v > 0 && !math.IsInf(float64(v), 0) {
			ob.hist[math.Float32bits(v)>>histShift]++
		} else {
			ob.nonPos++
		}
	}
}

// percentile returns the smallest value v such that at least p % of the
// observed currents are ≤ v, to the histogram's resolution (the upper edge
// of the bin, capped at the maximum).
func (ob *observer) percentile(p float64) float32 {
	target := int64(math.Ceil(p / 100 * float64(ob.observed)))
	acc := ob.nonPos
	if acc >= target {
		return 0
	}
	for b, c := range ob.hist {
		acc += c
		if acc >= target {
			edge := math.Float32frombits(uint32(b+1)<<histShift - 1)
			return min(edge, ob.max)
		}
	}
	return ob.max
}

// PercentileExact returns the p-th percentile of values by sorting (for tests).
func PercentileExact(values []float32, p float64) float32 {
	s := slices.Clone(values)
	slices.Sort(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(len(s)-1, k))]
}

// Augment returns a randomly cropped (zero-padded by pad pixels, where zero
// is the normalised value −1 of a black pixel) and, if flip, randomly
// mirrored copy of the NCHW batch x, as the reference augments its
// calibration images.
func Augment(x *tensor.Tensor, pad int, flip bool, rng *rand.Rand) *tensor.Tensor {
	if pad <= 0 && !flip {
		return x
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	y := tensor.New(x.Shape...)
	for i := range n {
		dy, dx := 0, 0
		if pad > 0 {
			dy, dx = rng.IntN(2*pad+1)-pad, rng.IntN(2*pad+1)-pad
		}
		mirror := flip && rng.IntN(2) == 1
		for ch := range c {
			src := x.Data[(i*c+ch)*h*w : (i*c+ch+1)*h*w]
			dst := y.Data[(i*c+ch)*h*w : (i*c+ch+1)*h*w]
			for r := range h {
				for col := range w {
					sc := col
					if mirror {
						sc = w - 1 - col
					}
					sr, sc := r+dy, sc+dx
					v := float32(-1)
					if sr >= 0 && sr < h && sc >= 0 && sc < w {
						v = src[sr*w+sc]
					}
					dst[r*w+col] = v
				}
			}
		}
	}
	return y
}
