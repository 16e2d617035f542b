// Package convert turns a trained VGG ANN into a spiking network by
// threshold balancing: the weights are kept unchanged and each
// spiking layer's threshold is set, in order, to the largest instantaneous
// input current it receives over all time steps and calibration images,
// with the earlier layers already spiking at their final thresholds.
//
// # Overview
//
// Thresholds runs the balancing on calibration images the caller provides;
// privatesnn passes synthetic images (package synth), never real data, and
// this package cannot read a data set: it does not import the data
// readers (enforced by a test). For burst neurons (Options.Burst = G),
// each threshold is the observed current divided by G, so that G spikes
// in one step carry it. Besides the maximum, a robust percentile
// (e.g. 99.9 %) of the current distribution can be used, and the result can
// be scaled. The simulated network may start its membranes at a fraction
// of the threshold (Options.InitMembrane) and take Direct input.
//
// Calibration images come from 8-bit images (an imageset.Set) normalised by
// the model's imageset.Normalization in float32 (Float32Table), the
// arithmetic the published SNNs were calibrated with. Calibrate draws them
// from a normalised
// pool as a Sampling describes: how many, random crop and flip (the crop
// fills with the normalised black pixel), and whether the draw is redone
// for every layer's pass, as the reference does. Without per-pass draws it
// reproduces the sequence pick, augment, Thresholds bit for bit.
//
// Select chooses settings for a target T without real data: for each
// candidate (threshold percentile × initial membrane × encoder) it balances
// thresholds on calibration images, then scores the spiking network by
// how often its top-1 class agrees with the ANN's on held-out synthetic
// images, at T and at T/2. Its record (Selection) goes into the model
// card.
//
// Convert is the entry point that combines them: a Plan names a Recipe,
// either RecipeSelect (Select on a held-out split of the pool) or
// RecipePaper (the reference's fixed settings through Calibrate).
//
// # Error handling
//
// Invalid options, an empty calibration set, a layer that never receives a
// positive current (ErrDeadLayer: a dead network or far too few images)
// and a NaN or infinite current (ErrNonFinite, naming the layer) are
// errors. Every long loop honours context cancellation.
//
// # Concurrency
//
// Thresholds, Calibrate and Select use all cores through package snn; the
// model's weights are only read. Select runs the model's ANN forward pass,
// which caches activations in the model's layers, so a model must not be
// used by two Select calls (or a Select and a training step) at once.
package convert

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/privatesnn/privatesnn/progress"
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
	// InitMembrane is the spiking network's initial membrane potential as
	// a fraction of each threshold (see snn.Config); the reference uses 0.
	// Layer l's currents depend on it through the spikes of layers < l.
	InitMembrane float64
	// Signed makes the spiking network's neurons signed (snn.Config.Signed):
	// the thresholds are balanced, the candidates scored and the membranes
	// corrected on the signed network.
	Signed bool
	// Burst lets the spiking network's neurons fire up to Burst spikes in
	// one step (snn.Config.Burst; 0 and 1: one). Each threshold is then
	// the layer's clip divided by Burst (BurstThresholds): Burst spikes in
	// one step carry the clip, so a layer passes on its activation in
	// steps of clip/Burst.
	Burst int
	// Percentile selects the threshold as this percentile of all input
	// currents of the layer; 0 or 100 means the maximum (the reference).
	Percentile float64
	// Scale multiplies every threshold at the end (reference: 1.0).
	Scale float64
	// Batch is how many calibration images are simulated together (not
	// used when Staged).
	Batch int
	// Staged balances all layers in one staged simulation (snn.Staged):
	// the calibration input is encoded once, and each layer's pass resumes
	// from the spikes the previous pass kept instead of re-simulating the
	// earlier layers with fresh Poisson noise as the reference does. It
	// costs about two network simulations of the calibration images instead
	// of one per layer and a half. With Direct input, which has no noise,
	// the thresholds are those of the re-simulating search; with Poisson
	// input they differ from it by the noise of one draw.
	Staged bool
	// Progress, if set, is called after each layer's threshold is found,
	// with Label "layers", the layers done of the spiking layers, the
	// value "threshold" (before Scale) and a Layer as Detail. A non-nil
	// error from it stops the search (a *progress.StopError).
	Progress progress.Func
}

// Layer is the Detail of the threshold search's progress reports.
type Layer struct {
	Name      string
	Threshold float32 // before Options.Scale
}

// reportLayer reports layer l of L balanced at threshold v.
func reportLayer(p progress.Func, l, L int, name string, v float32) error {
	err := p.Report(progress.Report{Label: "layers", Done: l + 1, Total: L,
		Values: []progress.Value{{Name: "threshold", Value: float64(v)}}, Detail: Layer{Name: name, Threshold: v}})
	if err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	return nil
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
	return o.Config([]float32{1}).Validate(1)
}

// Config returns the spiking configuration for the given thresholds.
func (o Options) Config(thresholds []float32) snn.Config {
	return snn.Config{Timesteps: o.Timesteps, Leak: o.Leak, Reset: o.Reset, Encoder: o.Encoder, Thresholds: thresholds,
		InitMembrane: o.InitMembrane, Signed: o.Signed, Burst: o.Burst}
}

// BurstThresholds returns the thresholds of a network of burst neurons
// (up to g spikes per step) whose layers have the clips of the ordinary
// thresholds th: a spike of layer l then stands for Λ_l/g, Λ_l = θ_0·…·θ_l
// the clip, which divides the first threshold by g and leaves the others
// (ratios of clips) unchanged. g ≤ 1 returns a copy of th.
func BurstThresholds(th []float32, g int) []float32 {
	out := slices.Clone(th)
	if g > 1 && len(out) > 0 {
		out[0] /= float32(g)
	}
	return out
}

// burst returns the most spikes per step (≥ 1).
func (o Options) burst() int { return max(1, o.Burst) }

// ErrDeadLayer reports a layer that never received a positive input current.
var ErrDeadLayer = errors.New("convert: layer receives no positive input current")

// DeadLayerError is ErrDeadLayer for one layer: its weight's name, its
// position among the spiking layers (0: the one fed the image), the
// largest current it received and over how many calibration images.
type DeadLayerError struct {
	Layer  string
	Index  int
	Max    float32
	Images int
}

func (e *DeadLayerError) Error() string {
	return fmt.Sprintf("%v: %s (max %g over %d images)", ErrDeadLayer, e.Layer, e.Max, e.Images)
}

func (e *DeadLayerError) Unwrap() error { return ErrDeadLayer }

// ErrNonFinite reports a NaN or infinite input current (broken weights or
// inputs).
var ErrNonFinite = errors.New("convert: non-finite input current")

// Thresholds balances every spiking layer of m on the calibration images
// calib [N, C, H, W] (normalised images) and returns one threshold per
// spiking layer. Poisson noise is redrawn from rng for every layer's pass,
// as in the reference, where the whole network is re-simulated per layer.
func Thresholds(ctx context.Context, m *vgg.Model, calib *tensor.Tensor, o Options, rng *rand.Rand) ([]float32, error) {
	if err := checkCalib(calib); err != nil {
		return nil, err
	}
	return balance(ctx, m, o, rng, func(int) *tensor.Tensor { return calib })
}

func checkCalib(calib *tensor.Tensor) error {
	if calib == nil || len(calib.Shape) != 4 || calib.Shape[0] == 0 {
		var shape []int
		if calib != nil {
			shape = calib.Shape
		}
		return fmt.Errorf("convert: calibration set %v is empty or not [N C H W]", shape)
	}
	return nil
}

// balance runs the layer-by-layer threshold search; images(l) returns the
// calibration images of layer l's pass (called once per pass, in order).
func balance(ctx context.Context, m *vgg.Model, o Options, rng *rand.Rand, images func(l int) *tensor.Tensor) ([]float32, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Staged {
		return balanceStaged(ctx, m, images(0), o, rng, nil)
	}
	L := snn.SpikingLayers(m)
	th := make([]float32, L)
	for i := range th {
		th[i] = 1 // placeholders: layer l's pass never reaches layers ≥ l
	}
	for l := range L {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		calib := images(l)
		N := calib.Shape[0]
		per := calib.Len() / N
		net, err := snn.New(m, o.Config(th))
		if err != nil {
			return nil, err
		}
		name := net.LayerNames()[l]
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
				return nil, fmt.Errorf("convert: balancing %s: %w", name, err)
			}
			if obs.nonFinite {
				return nil, fmt.Errorf("%w in layer %s (calibration images %d–%d)", ErrNonFinite, name, b0, b1-1)
			}
		}
		v, err := obs.threshold(o.Percentile, l, name, N)
		if err != nil {
			return nil, err
		}
		v /= float32(o.burst())
		th[l] = v
		if err := reportLayer(o.Progress, l, L, name, v); err != nil {
			return nil, err
		}
	}
	return scale(th, o.Scale), nil
}

// stage builds m's spiking network with placeholder thresholds (each
// replaced by Advance as the search goes) and stages calib through it.
func stage(m *vgg.Model, calib *tensor.Tensor, o Options, rng *rand.Rand) (*snn.Network, *snn.Staged, error) {
	th := make([]float32, snn.SpikingLayers(m))
	for i := range th {
		th[i] = 1
	}
	net, err := snn.New(m, o.Config(th))
	if err != nil {
		return nil, nil, err
	}
	st, err := net.Stage(calib, rng, snn.Options{})
	if err != nil {
		return nil, nil, err
	}
	return net, st, nil
}

// balanceStaged is balance with one staged simulation of calib. first, if
// not nil, is the observation of the first layer's currents in a staged
// simulation with the same encoder and rng state (which it depends on
// alone); it must hold a histogram when o.Percentile asks for one.
func balanceStaged(ctx context.Context, m *vgg.Model, calib *tensor.Tensor, o Options, rng *rand.Rand, first *observer) ([]float32, error) {
	L := snn.SpikingLayers(m)
	net, st, err := stage(m, calib, o, rng)
	if err != nil {
		return nil, err
	}
	th := make([]float32, L)
	names := net.LayerNames()
	for l := range L {
		var obs observer
		if l == 0 && first != nil {
			obs = *first
		} else {
			if o.Percentile > 0 && o.Percentile < 100 {
				obs.hist = make([]int64, histBins)
			}
			if err := st.Current(ctx, func(cur []float32, _, _ int) { obs.add(cur) }); err != nil {
				return nil, fmt.Errorf("convert: balancing %s: %w", names[l], err)
			}
		}
		if obs.nonFinite {
			return nil, fmt.Errorf("%w in layer %s", ErrNonFinite, names[l])
		}
		v, err := obs.threshold(o.Percentile, l, names[l], calib.Shape[0])
		if err != nil {
			return nil, err
		}
		v /= float32(o.burst())
		if err := st.Advance(ctx, v); err != nil {
			return nil, fmt.Errorf("convert: balancing %s: %w", names[l], err)
		}
		th[l] = v
		if err := reportLayer(o.Progress, l, L, names[l], v); err != nil {
			return nil, err
		}
	}
	return scale(th, o.Scale), nil
}

// threshold returns the observed maximum or percentile p, or a
// *DeadLayerError for layer l.
func (ob *observer) threshold(p float64, l int, name string, images int) (float32, error) {
	v := ob.max
	if p > 0 && p < 100 {
		v = ob.percentile(p)
	}
	if !(v > 0) {
		return 0, &DeadLayerError{Layer: name, Index: l, Max: ob.max, Images: images}
	}
	return v, nil
}

func scale(th []float32, s float64) []float32 {
	for i := range th {
		th[i] = float32(float64(th[i]) * s)
	}
	return th
}

// histBins covers the positive float32 values by their top 20 bits (sign,
// exponent and 11 mantissa bits), a relative resolution of 2⁻¹¹ ≈ 0.05 %.
// Bin 0 also collects the values ≤ 0 (and the positive ones below
// 2⁻¹³⁶, which no threshold can be).
const (
	histShift = 12
	histBins  = 1 << (32 - histShift - 1)
)

// observer tracks the maximum and, optionally, a histogram of currents.
type observer struct {
	max       float32
	hist      []int64 // counts by bit pattern; bin 0: values ≤ 0 (see histBins)
	observed  int64
	nonFinite bool // a NaN or ±Inf was seen
}

func (ob *observer) add(cur []float32) {
	mx := ob.max
	const expMask = 0x7f800000
	if ob.hist == nil {
		for _, v := range cur {
			if !(v <= mx) { // v > mx, or NaN
				mx = v
			}
			if math.Float32bits(v)&expMask == expMask { // NaN or ±Inf
				ob.nonFinite = true
			}
		}
	} else {
		h := ob.hist[:histBins]
		for _, v := range cur {
			b := math.Float32bits(v)
			if !(v <= mx) {
				mx = v
			}
			if b&expMask == expMask {
				ob.nonFinite = true
			}
			// Negative values (sign bit set) go to bin 0, without a branch.
			h[(b>>histShift)&^uint32(int32(b)>>31)&(histBins-1)]++
		}
	}
	ob.max = mx
	ob.observed += int64(len(cur))
}

// percentile returns the smallest value v such that at least p % of the
// observed currents are ≤ v, to the histogram's resolution (the upper edge
// of the bin, capped at the maximum).
func (ob *observer) percentile(p float64) float32 {
	target := int64(math.Ceil(p / 100 * float64(ob.observed)))
	acc := ob.hist[0]
	if acc >= target {
		return 0
	}
	for b, c := range ob.hist[1:] {
		b++
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
