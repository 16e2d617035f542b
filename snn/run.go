package snn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/tensor"
)

// Path selects the synaptic kernels.
type Path uint8

const (
	// Auto chooses event-driven kernels for inputs sparser than
	// Options.EventDensity and dense GEMMs otherwise.
	Auto Path = iota
	// Dense always uses im2col + GEMM.
	Dense
	// Events always uses the event-driven kernels.
	Events
)

// DefaultEventDensity is the input density below which Auto uses the
// event-driven kernels. BenchmarkConvPaths measures the crossover: on 2
// AVX-512 cores with OpenBLAS, the whole default network costs the same on
// both paths at a mean hidden-layer input density of about 0.35, and the
// event-driven path 1.7× less at 0.17.
const DefaultEventDensity = 0.25

// Options controls a simulation run. The zero value simulates
// Config.Timesteps steps with automatic kernel choice.
type Options struct {
	// Readouts lists the time steps (1..Timesteps) at which the output
	// potential is recorded, for accuracy-vs-T curves. Timesteps itself is
	// always recorded last.
	Readouts []int
	Path     Path
	// EventDensity overrides DefaultEventDensity when positive.
	EventDensity float64
	// Observe, when positive, ends each chunk after computing the input
	// current of spiking layer Observe−1, so only the first Observe spiking
	// layers' currents are computed (threshold balancing). Potentials are
	// then left at zero.
	Observe int
	// Current, if set, receives the input current of every spiking layer
	// for each chunk: cur is [steps, perStep] for steps = Timesteps, except
	// that with Direct input the first layer's current, the same at every
	// step, is computed and passed once (steps = 1).
	Current func(layer int, cur []float32, steps, perStep int)
	// Spikes, if set, receives the encoded input (layer −1) and the output
	// spikes of every spiking layer for each chunk, [steps, perStep] with
	// each step's values in [B, H, W, C] order (before pooling). With Direct
	// input, layer −1 is the analog image, the same at every step, passed
	// once (steps = 1).
	Spikes func(layer int, spikes []float32, steps, perStep int)
	// MemoryBudget bounds the bytes of one layer's activations for a chunk
	// of images over all steps (0: DefaultRunBudget).
	MemoryBudget int64
	// Progress, if set, is called after each chunk of images with Label
	// "images" and the images done of the total; a non-nil error from it
	// stops Run (a *progress.StopError).
	Progress progress.Func

	// ExactCurrents computes every current with float64 accumulation,
	// rounded to float32 once (see exactSynapse): slower, and independent
	// of the summation order, so another engine that sums in float64 can
	// reproduce the spikes bit for bit. Training and BPTT ignore it.
	ExactCurrents bool

	// perStepDirect makes a Direct-encoded first layer compute its
	// current at every step instead of once per image (the slower,
	// step-by-step computation, kept for tests and benchmarks).
	perStepDirect bool
}

// LayerStats counts the activity of one weighted layer over a run.
type LayerStats struct {
	Name        string `json:"name"`
	Neurons     int64  `json:"neurons"`      // outputs per image per step (0 for the output layer's spikes)
	Spikes      int64  `json:"spikes"`       // output spikes, summed over images and steps
	InputSize   int64  `json:"input_size"`   // input values per image per step
	InputEvents int64  `json:"input_events"` // non-zero inputs, summed over images and steps
	// SynapticOps counts the accumulations an event-driven kernel performs
	// for these inputs, summed over images and steps: every non-zero input
	// of a conv adds its weight to Cout outputs for each of its K×K taps
	// that lands inside the output map (fewer at the border), every
	// non-zero input of a linear layer to Out outputs. It is a property of
	// the input, the same whichever kernel ran. For a Direct-encoded first
	// layer it counts every step, although the simulation computes that
	// layer's current once per image.
	SynapticOps int64 `json:"synaptic_ops"`
	EventChunks int   `json:"event_chunks"` // chunks that ran the event-driven kernel
	DenseChunks int   `json:"dense_chunks"` // chunks that ran the dense kernel
}

// Result is the outcome of Run.
type Result struct {
	// Potentials[i] is the accumulated output potential [N, classes] at
	// step Readouts[i]; the last entry is at Timesteps.
	Potentials []*tensor.Tensor
	Readouts   []int
	Layers     []LayerStats // over all Timesteps steps
	// ReadoutLayers[i] holds the layer statistics counted over steps
	// 1..Readouts[i] only; the last entry equals Layers.
	ReadoutLayers [][]LayerStats
	Images        int
	Timesteps     int
	Encoder       Encoder // of the simulated network
}

// UpTo returns the result the run would have had with Timesteps =
// Readouts[i]: the simulation is causal and each image's Poisson draws come
// in step order, so the first Readouts[i] steps of a longer run are exactly
// a run of that length. The returned Result shares r's tensors.
func (r *Result) UpTo(i int) *Result {
	return &Result{Potentials: r.Potentials[i : i+1], Readouts: []int{r.Readouts[i]}, Layers: r.ReadoutLayers[i],
		ReadoutLayers: r.ReadoutLayers[i : i+1], Images: r.Images, Timesteps: r.Readouts[i], Encoder: r.Encoder}
}

// Logits returns the output potential at Timesteps.
func (r *Result) Logits() *tensor.Tensor { return r.Potentials[len(r.Potentials)-1] }

// SpikeRate returns layer l's spikes per neuron per step (0 for a layer
// without neurons or a run over no images).
func (r *Result) SpikeRate(l int) float64 {
	s := r.Layers[l]
	return ratio(s.Spikes, s.Neurons*int64(r.Images)*int64(r.Timesteps))
}

// InputRate returns the fraction of layer l's inputs that are non-zero per
// step (0 for a run over no images). For layers fed by spikes that is the
// input spike rate; for the first layer with Direct input it is the
// fraction of non-zero analog pixel values (the same at every step).
func (r *Result) InputRate(l int) float64 {
	s := r.Layers[l]
	return ratio(s.InputEvents, s.InputSize*int64(r.Images)*int64(r.Timesteps))
}

// ratio returns a/b, or 0 when b is 0.
func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// SynapticOpsPerImage returns layer l's SynapticOps per image over the run
// (0 for a run over no images).
func (r *Result) SynapticOpsPerImage(l int) float64 {
	return ratio(r.Layers[l].SynapticOps, int64(r.Images))
}

// Run simulates the network on a batch x [N, C, H, W] (normalised images).
// Poisson draws come from rng: one seed per image is drawn first, in image
// order, so the result does not depend on chunking or thread count.
func (n *Network) Run(ctx context.Context, x *tensor.Tensor, rng *rand.Rand, o Options) (*Result, error) {
	c := n.Model.Config
	if len(x.Shape) != 4 || x.Shape[1] != c.InChannels || x.Shape[2] != c.InHeight || x.Shape[3] != c.InWidth {
		return nil, fmt.Errorf("snn: input %v, want [N %d %d %d]", x.Shape, c.InChannels, c.InHeight, c.InWidth)
	}
	T := n.Config.Timesteps
	readouts, err := normaliseReadouts(o.Readouts, T)
	if err != nil {
		return nil, err
	}
	if o.Observe < 0 || o.Observe > len(n.Config.Thresholds) {
		return nil, fmt.Errorf("snn: cannot observe %d of %d spiking layers", o.Observe, len(n.Config.Thresholds))
	}
	N := x.Shape[0]
	res := &Result{Readouts: readouts, Images: N, Timesteps: T, Encoder: n.Config.Encoder}
	for _, s := range n.stages {
		ls := LayerStats{Name: s.name, InputSize: int64(s.inSize())}
		if s.spiking >= 0 {
			ls.Neurons = int64(s.outSize())
		}
		res.Layers = append(res.Layers, ls)
	}
	res.ReadoutLayers = make([][]LayerStats, len(readouts))
	for i := range readouts {
		res.ReadoutLayers[i] = slices.Clone(res.Layers)
	}
	for range readouts {
		res.Potentials = append(res.Potentials, tensor.New(N, c.Classes))
	}
	seeds := make([]uint64, N)
	for i := range seeds {
		seeds[i] = rng.Uint64()
	}
	chunk := n.chunkSize(N, o.MemoryBudget)
	sim := getSim()
	if sim == nil {
		sim = &chunkSim{}
	}
	defer putSim(sim)
	sim.net, sim.opts, sim.res, sim.readouts, sim.colsMax = n, o, res, readouts, 0
	for i0 := 0; i0 < N; i0 += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		i1 := min(N, i0+chunk)
		sim.run(x, seeds, i0, i1)
		if err := o.Progress.Report(progress.Report{Label: "images", Done: i1, Total: N}); err != nil {
			return nil, fmt.Errorf("snn: %w", err)
		}
	}
	res.Layers = slices.Clone(res.ReadoutLayers[len(readouts)-1])
	return res, nil
}

func normaliseReadouts(r []int, T int) ([]int, error) {
	out := make([]int, 0, len(r)+1)
	for _, t := range r {
		if t < 1 || t > T {
			return nil, fmt.Errorf("snn: readout step %d outside [1, %d]", t, T)
		}
		if t != T {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	return append(out, T), nil
}

// DefaultRunBudget is Options.MemoryBudget's default. A simulation holds
// about four buffers of this size (currents, spikes, membranes, pooled
// spikes). Larger chunks are not faster: on the default Fashion-MNIST
// network (2 threads) chunks of 83 images at T = 4, 6 at T = 50 and 5 at
// T = 64 simulate as fast, within the noise between runs, as the 668, 53
// and 41 images of a 256 MiB budget, and a conversion's peak RSS falls
// from 3.8 to 1.0 GB.
const DefaultRunBudget = 32 << 20

// chunkSize picks how many images to simulate together.
func (n *Network) chunkSize(N int, budget int64) int {
	if budget <= 0 {
		budget = DefaultRunBudget
	}
	per := int64(n.Model.Config.InChannels * n.Model.Config.InHeight * n.Model.Config.InWidth)
	for _, s := range n.stages {
		per = max(per, int64(s.outSize()), int64(s.inSize()))
	}
	per *= int64(n.Config.Timesteps) * 4
	return int(max(1, min(int64(N), budget/max(per, 1))))
}
