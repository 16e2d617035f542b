// Package encrypt runs class-encryption training (CET): a few epochs of
// surrogate-gradient training of a converted spiking network on synthetic
// images, with on-device distillation (OD) from the frozen ANN it came from.
// Training moves the weights away from values that still work as an ANN's,
// so an ANN rebuilt from them stops revealing what each class looks like,
// and it recovers the accuracy a low T costs.
//
// # Overview
//
// Run trains the weights of an snn.Network (thresholds and leak stay
// fixed) with backpropagation through time. The loss of a batch is
//
//	L = (1 − m)·CE(κS, y) + m·τ²·KL(softmax(A/τ) ‖ softmax(κS/τ))
//
// with S the SNN's summed output potential, A the frozen ANN's logits on
// the same augmented batch, the KL averaged over the batch, m = 0.7 and
// τ = 20. Without distillation m is 0. κ scales the SNN's logits: ScaleSum
// (κ = 1, the reference model's raw sum), ScaleMean (κ = 1/T), ScaleMatch
// (κ fixed before training so that the spread of κS matches the ANN's on
// the training images) or ScaleThreshold (κ = Π θ_l / T, the conversion's
// own scale; the default). The training images are augmented by a random
// crop, a blur and mixup. The optimiser is Adam with AMSGrad and
// weight decay, its rate divided by 10 at 50 % and 70 % of the epochs.
//
// # Inversion defences
//
// Three data-free defences against model inversion can be added, each off
// at its zero value (Options.Defenses names those on):
//
//   - negative label smoothing (LabelSmoothing = α < 0; Struppek et al.,
//     ICLR 2024): the cross-entropy target becomes (1 − α)·y + α/K, which
//     pushes the non-target logits apart instead of together;
//   - a trapdoor (TrapdoorRate = ρ; in the spirit of Trap-MID, Liu & Chen,
//     NeurIPS 2024, and of Shan et al.'s trapdoors, CCS 2020): a fraction
//     ρ of every batch's images get the smooth trigger pattern of a random
//     class blended in, (1 − β)·x + β·t_c, and learn that class by hard
//     cross-entropy alone, so that an inversion attack finds the trigger,
//     an easier optimum than the class's real features;
//   - random erasing (EraseRate; Zhong et al. 2020, proposed against
//     inversion by Tran et al. 2024): a random rectangle of an image is
//     replaced by noise before mixup, and the SNN learns to follow the ANN
//     on the erased image.
//
// They use only the synthetic images, the ANN and random numbers.
//
// Every random choice — the epoch's shuffle, each batch's augmentation,
// erasing, trapdoor images and classes, Poisson input and dropout masks —
// comes from a PCG stream keyed by (seed, epoch, step), so a run resumed
// from a saved State reproduces the uninterrupted run's weights bit for
// bit (for the same thread count). The trigger patterns come from their
// own seed, TrapdoorSeed.
// The epoch and step loop, its checkpoints and its stops are package
// fit's.
//
// The package never reads a real data set: it trains on the images it is
// given, which the command takes from a synthetic set.
//
// # Error handling
//
// Invalid options and inconsistent inputs return errors. A loss, gradient
// or weight that becomes NaN or infinite stops the run with ErrDiverged,
// naming the step. Cancellation returns ctx's error after the Save hook
// has stored the current State.
//
// # Concurrency
//
// Run uses the network, its model and the teacher exclusively; the kernels
// use all cores.
package encrypt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/privatesnn/privatesnn/fit"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/loss"
	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/optim"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// ErrDiverged reports a loss, gradient or weight that became NaN or
// infinite.
var ErrDiverged = errors.New("encrypt: training diverged (a NaN or infinite value); lower the learning rate")

// Scale names how the SNN's summed output potential S becomes logits κ·S.
type Scale string

// The logit scales.
const (
	ScaleSum   Scale = "sum"   // κ = 1: the raw sum over T steps, as the reference model returns it
	ScaleMean  Scale = "mean"  // κ = 1/T: the mean over steps
	ScaleMatch Scale = "match" // κ = spread of the ANN's logits / spread of S, fixed before training
	// ScaleThreshold is the conversion's own scale, κ = Π θ_l / T over the
	// spiking layers. A converted layer of integrate-and-fire neurons fires
	// at about its ANN activation over its threshold, given input at the
	// previous layer's rates, so the output potential per step is about
	// the ANN's logits over Π θ_l: κ·S then stands on the ANN's scale
	// without looking at any image (exact as the rates settle; with a leak
	// λ < 1 an approximation).
	ScaleThreshold Scale = "threshold"
)

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Scale) UnmarshalText(b []byte) error {
	switch v := Scale(b); v {
	case ScaleSum, ScaleMean, ScaleMatch, ScaleThreshold:
		*s = v
		return nil
	}
	return fmt.Errorf("unknown logit scale %q (sum, mean, match or threshold)", b)
}

// MarshalText implements encoding.TextMarshaler.
func (s Scale) MarshalText() ([]byte, error) { return []byte(s), nil }

// Labels names the hard labels of the cross-entropy term.
type Labels string

// Label sources of the cross-entropy term.
const (
	// LabelsTarget labels each synthetic image with the class of the soft
	// label it was synthesised towards (its argmax).
	LabelsTarget Labels = "target"
	// LabelsFolder labels it with the class folder it is stored in.
	LabelsFolder Labels = "folder"
)

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *Labels) UnmarshalText(b []byte) error {
	switch Labels(b) {
	case LabelsTarget, LabelsFolder:
		*l = Labels(b)
		return nil
	}
	return fmt.Errorf("unknown labels %q (target or folder)", b)
}

// MarshalText implements encoding.TextMarshaler.
func (l Labels) MarshalText() ([]byte, error) { return []byte(l), nil }

// Options configures a run. Start from Defaults.
type Options struct {
	Epochs      int       `json:"epochs"`
	BatchSize   int       `json:"batch_size"`
	LR          float64   `json:"lr"`
	WeightDecay float64   `json:"weight_decay"` // L2 added to the gradient
	AMSGrad     bool      `json:"amsgrad"`
	LRFactor    float64   `json:"lr_factor"`    // divide the LR by this at each milestone
	LRFractions []float64 `json:"lr_fractions"` // milestones as fractions of Epochs
	// Distill turns on-device distillation from the ANN on (m = Mix);
	// without it the loss is plain cross-entropy.
	Distill     bool    `json:"distill"`
	Mix         float64 `json:"mix"`         // m, the weight of the distillation term
	Temperature float64 `json:"temperature"` // τ
	Scale       Scale   `json:"logit_scale"`
	// MatchImages is how many training images (without augmentation or
	// dropout) fix κ for ScaleMatch.
	MatchImages int           `json:"match_images,omitempty"`
	Surrogate   snn.Surrogate `json:"surrogate"`
	ConvDropout float64       `json:"conv_dropout"`
	FCDropout   float64       `json:"fc_dropout"`
	// CropPad and Flip augment every batch: a random crop with this
	// padding, filled with Fill (the normalised black pixel), then a random
	// horizontal flip.
	CropPad int     `json:"crop_pad"`
	Flip    bool    `json:"flip"`
	Fill    float32 `json:"fill"`
	// Blur smooths every augmented image with a 3×3 box filter
	// (imageset.Smooth). Synthetic images drive the network harder than
	// natural ones, so the SNN's output settles on them in far fewer
	// steps; blurred, they respond more like natural images and the loss
	// sees the latency that costs accuracy at T.
	Blur bool `json:"blur,omitempty"`
	// Mixup blends every augmented (and blurred) image i of a batch of B
	// with image j = B−1−i of the shuffled batch: λ·x_i + (1 − λ)·x_j, λ
	// uniform in [0, 1) per image. The ANN is distilled on the blend, so
	// the SNN learns to follow it between the synthetic images too, not
	// only on them; the cross-entropy target is λ·y_i + (1 − λ)·y_j.
	Mixup bool `json:"mixup,omitempty"`
	// LabelSmoothing is α of the cross-entropy term's target
	// (1 − α)·y + α/K, in [−1, 0.99]; 0 is off, negative values are the
	// negative label smoothing defence against model inversion (Struppek
	// et al., ICLR 2024) and positive ones ordinary smoothing, which is
	// known to increase inversion leakage. With Mixup the blended target
	// is smoothed alike; with distillation only the (1 − m) cross-entropy
	// part is. With α < 0 the loss is not bounded below in the logits
	// (Struppek et al. use it so); the (1 − m) weight tempers it.
	LabelSmoothing float64 `json:"label_smoothing,omitempty"`
	// TrapdoorRate is ρ, the fraction of every batch's images (after
	// augmentation and mixup) that carry a trapdoor trigger, in [0, 1]; 0
	// is off. A triggered image becomes (1 − β)·x + β·t_c with a class c
	// drawn uniformly at random and t_c that class's trigger (Triggers),
	// and is trained with hard cross-entropy towards c, with weight 1 and
	// no distillation, so that each class gets a shortcut an inversion
	// attack is drawn to instead of the class's real features.
	TrapdoorRate float64 `json:"trapdoor_rate,omitempty"`
	// TrapdoorBlend is β, the trigger's share of a triggered image, in
	// (0, 1]; 0 takes 0.3 (DefaultTrapdoorBlend) when TrapdoorRate is on,
	// and Resolve records that.
	TrapdoorBlend float64 `json:"trapdoor_blend,omitempty"`
	// TrapdoorSeed seeds the trigger patterns (Triggers) and is recorded
	// with the options, so whoever reads the model card's training record
	// can rebuild the triggers. A shipped network need not carry the card,
	// which makes the seed the defence's one secret; the audit's aware
	// attack reads it from the card all the same, and so measures the
	// defence against an attacker who knows the triggers too.
	TrapdoorSeed uint64 `json:"trapdoor_seed,omitempty"`
	// EraseRate is the probability that each augmented (and blurred)
	// image, before mixup, has one random rectangle replaced by uniform
	// noise in the pixel range [Fill, White] (random erasing, Zhong et
	// al. 2020), in [0, 1]; 0 is off. The ANN is distilled on the erased
	// image too, so the SNN learns to follow it on partial evidence.
	EraseRate float64 `json:"erase_rate,omitempty"`
	// EraseArea bounds the erased rectangle's share of the image, drawn
	// uniformly from [EraseArea[0], EraseArea[1]] with 0 < min ≤ max ≤ 1;
	// [0, 0] takes [0.1, 0.4] (DefaultEraseMin, DefaultEraseMax) when EraseRate is on, and
	// Resolve records that. The rectangle's aspect ratio (height over
	// width) is log-uniform in [0.3, 3.3].
	EraseArea [2]float64 `json:"erase_area,omitzero"`
	// White is the normalised white pixel, the top of the range trigger
	// patterns and erased pixels are drawn from ([Fill, White]). Resolve
	// sets it when a trapdoor or erasing is on (and only then, so runs
	// without them record nothing new); 0 (not resolved) or a White not
	// above Fill takes Fill + 2, the white of privatesnn's normalisation
	// (Mean = Std = 0.5).
	White float32 `json:"white,omitempty"`
	Seed  uint64  `json:"seed"`
	// MemoryBudget bounds one activation buffer of the BPTT pass (see
	// snn.TrainOptions); 0 uses its default.
	MemoryBudget int64 `json:"memory_budget,omitempty"`
}

// Defaults returns the paper's optimiser and loss — Adam 1e-4 with AMSGrad
// and weight decay 5e-4, the rate ÷10 at 50 % and 70 % of the epochs,
// distillation with m = 0.7 and τ = 20, the triangle surrogate with
// γ = 0.3 — and privatesnn's choices where the paper is silent, each
// measured (docs/privacy.md): 8 epochs of batch 8, κ = Π θ_l / T (the
// conversion's own scale), no dropout (masks fixed over T on spikes at a
// few percent activity make the distillation target mostly noise), and
// augmentation by a random crop with padding 2 (for 28×28 images; the
// reference pads 32×32 by 4), a 3×3 blur and mixup.
func Defaults() Options {
	return Options{
		Epochs: 8, BatchSize: 8, LR: 1e-4, WeightDecay: 5e-4, AMSGrad: true, LRFactor: 10,
		LRFractions: []float64{0.5, 0.7}, Distill: true, Mix: 0.7, Temperature: 20, Scale: ScaleThreshold,
		MatchImages: 512, Surrogate: snn.DefaultSurrogate(), CropPad: 2, Fill: -1, Blur: true, Mixup: true,
	}
}

// Resolve returns the options for a network with architecture c read with
// normalisation norm: a negative dropout rate takes c's, a zero surrogate
// γ or slope the default of its kind (snn.Surrogate.WithDefaults), and
// Fill is norm's black pixel. With a trapdoor or erasing on, a zero
// TrapdoorBlend or EraseArea takes its default and White is norm's white
// pixel (otherwise they stay as given, so that runs without the defences
// record the same options as before them).
func (o Options) Resolve(c vgg.Config, norm imageset.Normalization) Options {
	if o.ConvDropout < 0 {
		o.ConvDropout = c.ConvDropout
	}
	if o.FCDropout < 0 {
		o.FCDropout = c.FCDropout
	}
	o.Surrogate = o.Surrogate.WithDefaults()
	o.Fill = norm.Black()
	return o.resolveDefenses(norm)
}

// Validate reports inconsistent options.
func (o Options) Validate() error {
	if o.Epochs < 1 || o.Epochs > 100000 {
		return fmt.Errorf("encrypt: epochs %d out of range [1, 100000]", o.Epochs)
	}
	if o.BatchSize < 1 || o.BatchSize > 1<<14 {
		return fmt.Errorf("encrypt: batch size %d out of range [1, 16384]", o.BatchSize)
	}
	if !(o.LR > 0) || math.IsInf(o.LR, 0) || !(o.WeightDecay >= 0) || math.IsInf(o.WeightDecay, 0) {
		return fmt.Errorf("encrypt: lr %g must be positive and finite, weight decay %g finite and ≥ 0", o.LR, o.WeightDecay)
	}
	if !(o.Mix >= 0 && o.Mix <= 1) || !(o.Temperature > 0) || math.IsInf(o.Temperature, 0) {
		return fmt.Errorf("encrypt: mix %g outside [0, 1] or temperature %g not positive and finite", o.Mix, o.Temperature)
	}
	switch o.Scale {
	case ScaleSum, ScaleMean, ScaleThreshold:
	case ScaleMatch:
		if o.MatchImages < 1 {
			return fmt.Errorf("encrypt: logit scale match needs MatchImages ≥ 1, got %d", o.MatchImages)
		}
	default:
		return fmt.Errorf("encrypt: unknown logit scale %q (sum, mean, match or threshold)", o.Scale)
	}
	if o.CropPad < 0 || o.CropPad > 64 {
		return fmt.Errorf("encrypt: crop padding %d out of range [0, 64]", o.CropPad)
	}
	if err := o.validateDefenses(); err != nil {
		return err
	}
	if err := o.Surrogate.CheckGiven(); err != nil {
		return err
	}
	if err := o.trainOptions().Validate(); err != nil {
		return err
	}
	return o.schedule().Validate()
}

func (o Options) schedule() optim.StepSchedule {
	return optim.StepSchedule{Base: o.LR, Factor: o.LRFactor, Fractions: o.LRFractions, Epochs: o.Epochs}
}

// LRAt returns the learning rate of epoch e (0-based).
func (o Options) LRAt(e int) float64 { return o.schedule().LR(e) }

// Milestones returns the 0-based epochs at which the rate is divided, one
// per fraction (see optim.StepSchedule.Milestones).
func (o Options) Milestones() []int { return o.schedule().Milestones() }

// NewOptimizer returns the optimiser the options name.
func (o Options) NewOptimizer() *optim.Adam { return optim.NewAdam(o.LR, o.WeightDecay, o.AMSGrad) }

func (o Options) trainOptions() snn.TrainOptions {
	return snn.TrainOptions{Surrogate: o.Surrogate, ConvDropout: o.ConvDropout, FCDropout: o.FCDropout, MemoryBudget: o.MemoryBudget}
}

// mix returns m, 0 without distillation.
func (o Options) mix() float64 {
	if !o.Distill {
		return 0
	}
	return o.Mix
}

// State is where a run stands: the next (Epoch, Step) to run, κ, the
// optimiser's buffers, the finished epochs and the running sums of epoch
// Epoch's steps before Step (fit.Sums: images seen; the values loss, CE,
// KD, correct predictions and one spike rate per spiking layer, each
// summed over the images; seconds). The network's model holds the
// matching weights.
type State struct {
	Epoch, Step int
	Kappa       float64
	Optimizer   *optim.Adam
	History     []EpochResult
	Sums        fit.Sums
}

// EpochResult summarises one epoch. Loss, CE, KD, TrainAcc and SpikeRates
// are averages over all of its steps (an epoch resumed in its middle
// continues the sums its State saved); Seconds is the time its steps
// took, in every process that ran them. With the trapdoor, a triggered
// image counts in CE and TrainAcc towards its trigger's class, and in Loss
// with weight 1 (Loss is then not (1 − m)·CE + m·KD).
type EpochResult struct {
	Epoch        int       `json:"epoch"` // 1-based
	LR           float64   `json:"lr"`
	Loss         float64   `json:"loss"`
	CE           float64   `json:"ce"`
	KD           float64   `json:"kd"`
	TrainAcc     float64   `json:"train_accuracy"` // on the augmented synthetic training images (with Mixup: against the label of the larger share)
	SpikeRates   []float64 `json:"spike_rates"`    // per spiking layer, over the epoch's training passes
	Seconds      float64   `json:"seconds,omitempty"`
	ImagesPerSec float64   `json:"images_per_second,omitempty"`
}

// Hooks receive progress and checkpoints. Any may be nil.
type Hooks struct {
	// Progress is called after every step with Label "epoch e/E", the
	// steps done in the epoch of its steps and the values "loss", "ce",
	// "kd" and "train_accuracy" (the epoch's means so far), and again at
	// the end of every epoch with all steps done, the epoch's values and
	// its *EpochResult as Detail. A non-nil error stops the run as a
	// cancellation does: the state to resume from is saved and Run
	// returns an error wrapping it (a *progress.StopError).
	Progress progress.Func
	// Save is called at the end of each epoch and when the run is stopped
	// (ctx cancelled, or Progress's error), with the state to resume from.
	// The network's model holds the matching weights.
	Save func(State) error
}

// stream returns the PCG generator for (seed, epoch, step) (fit.Stream of
// the seed XOR 0xc1a55e9c); step −1 is the epoch's shuffle.
func stream(seed uint64, epoch, step int) *rand.Rand {
	return fit.Stream(seed^0xc1a55e9c, epoch, step)
}

// Run trains net's weights on the normalised images x [N, C, H, W] with
// labels, distilling from teacher (the frozen ANN, evaluated in inference
// mode) when o.Distill is set. Pass a non-nil resume to continue a saved
// run.
func Run(ctx context.Context, teacher *vgg.Model, net *snn.Network, x *tensor.Tensor, labels []int32, o Options, resume *State, h Hooks) (*State, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := checkInputs(teacher, net, x, labels, o); err != nil {
		return nil, err
	}
	st := resume
	if st == nil {
		k, err := Kappa(ctx, teacher, net, x, o)
		if err != nil {
			return nil, err
		}
		st = &State{Kappa: k, Optimizer: o.NewOptimizer()}
	}
	if !(st.Kappa > 0) || math.IsInf(st.Kappa, 0) {
		return nil, fmt.Errorf("encrypt: logit scale κ = %g, want a positive finite value", st.Kappa)
	}
	if err := st.Sums.Check(sumValues + len(net.Config.Thresholds)); err != nil {
		return nil, fmt.Errorf("encrypt: resume: %w", err)
	}
	r := &runner{teacher: teacher, net: net, x: x, labels: labels, o: o, st: st, params: net.Model.Params(), to: o.trainOptions()}
	if o.TrapdoorRate > 0 {
		c := net.Model.Config
		var err error
		if r.triggers, err = Triggers(o, c.InChannels, c.InHeight, c.InWidth, c.Classes); err != nil {
			return nil, err
		}
	}
	loop := fit.Loop[EpochResult]{Epochs: o.Epochs, Steps: (x.Shape[0] + o.BatchSize - 1) / o.BatchSize,
		Begin: r.begin, Progress: h.Progress, Name: "encrypt"}
	if h.Save != nil {
		loop.Save = func(s fit.State[EpochResult]) error {
			return h.Save(State{Epoch: s.Epoch, Step: s.Step, Kappa: st.Kappa, Optimizer: st.Optimizer, History: s.History, Sums: s.Sums})
		}
	}
	fs := fit.State[EpochResult]{Epoch: st.Epoch, Step: st.Step, History: st.History, Sums: st.Sums}
	err := loop.Run(ctx, &fs)
	st.Epoch, st.Step, st.History, st.Sums = fs.Epoch, fs.Step, fs.History, fs.Sums
	return st, err
}

// checkInputs reports images, labels or a teacher that do not fit net.
func checkInputs(teacher *vgg.Model, net *snn.Network, x *tensor.Tensor, labels []int32, o Options) error {
	c := net.Model.Config
	if len(x.Shape) != 4 || x.Shape[0] < 1 || x.Shape[1] != c.InChannels || x.Shape[2] != c.InHeight || x.Shape[3] != c.InWidth {
		return fmt.Errorf("encrypt: images %v, model %s expects [N>0 %d %d %d]", x.Shape, c.Name, c.InChannels, c.InHeight, c.InWidth)
	}
	if n := x.Shape[0]; len(labels) != n {
		return fmt.Errorf("encrypt: %d labels for %d images", len(labels), n)
	}
	for i, y := range labels {
		if y < 0 || int(y) >= c.Classes {
			return fmt.Errorf("encrypt: image %d has label %d, model has %d classes", i, y, c.Classes)
		}
	}
	if o.Distill || o.Scale == ScaleMatch {
		if teacher == nil {
			return fmt.Errorf("encrypt: distillation and logit scale match need the ANN")
		}
		if tc := teacher.Config; tc.InChannels != c.InChannels || tc.InHeight != c.InHeight || tc.InWidth != c.InWidth || tc.Classes != c.Classes {
			return fmt.Errorf("encrypt: ANN %s does not match the SNN's input and classes", tc.Name)
		}
	}
	return nil
}

// runner holds what every step of a Run uses.
type runner struct {
	teacher *vgg.Model
	net     *snn.Network
	x       *tensor.Tensor
	labels  []int32
	o       Options
	st      *State
	params  []*nn.Param
	to      snn.TrainOptions
	// triggers are the trapdoor's patterns (Triggers); nil without it.
	triggers *tensor.Tensor
}

// epoch is one epoch of a Run: its order and its running sums.
type epoch struct {
	*runner
	e     int // 0-based
	lr    float64
	order []int
	// start is when this process began the epoch, before the seconds of
	// the steps other processes ran.
	start  time.Time
	before float64
	// loss, ce, kd, correct and rates (per spiking layer) are sums over
	// the seen images of the steps run; End turns rates into means.
	loss, ce, kd float64
	correct      int
	seen         int
	rates        []float64
}

// sumValues is the number of values in an epoch's running sums before the
// spike rates: loss, CE, KD and the correct predictions.
const sumValues = 4

// begin starts epoch e from the sums from: its rate, its shuffle (stream
// step −1) and its clock.
func (r *runner) begin(e int, from fit.Sums) fit.Epoch[EpochResult] {
	lr := r.o.LRAt(e)
	r.st.Optimizer.SetLR(lr)
	ep := &epoch{runner: r, e: e, lr: lr, order: imageset.Shuffle(r.x.Shape[0], stream(r.o.Seed, e, -1)), start: time.Now(),
		before: from.Seconds, seen: from.Seen, rates: make([]float64, len(r.net.Config.Thresholds))}
	if v := from.Values; len(v) == sumValues+len(ep.rates) {
		ep.loss, ep.ce, ep.kd, ep.correct = v[0], v[1], v[2], int(v[3])
		copy(ep.rates, v[sumValues:])
	}
	return ep
}

// Sums returns the epoch's running sums.
func (ep *epoch) Sums() fit.Sums {
	v := append([]float64{ep.loss, ep.ce, ep.kd, float64(ep.correct)}, ep.rates...)
	return fit.Sums{Seen: ep.seen, Values: v, Seconds: ep.before + time.Since(ep.start).Seconds()}
}

// Step trains on batch s of the epoch's order; its augmentation, erasing,
// mixup, trapdoor triggers, Poisson input and dropout are drawn from
// stream (epoch, s).
func (ep *epoch) Step(ctx context.Context, s int) ([]progress.Value, error) {
	xb, yb := ep.batch(s)
	rng := stream(ep.o.Seed, ep.e, s)
	xb, lf := ep.prepare(xb, yb, rng)
	var a *tensor.Tensor
	if ep.o.Distill {
		a = ep.teacher.Forward(xb, nn.Mode{})
	}
	tape, err := ep.backward(ctx, xb, lf, a, rng)
	if err != nil {
		return nil, err
	}
	lv := lf.value(tape.Logits(), a)
	if err := ep.update(s, lv); err != nil {
		return nil, err
	}
	b := float64(len(yb))
	ep.loss += lv.Total * b
	ep.ce += lv.CE * b
	ep.kd += lv.KD * b
	ep.correct += loss.Correct(tape.Logits(), lf.major())
	ep.seen += len(yb)
	for l := range ep.rates {
		ep.rates[l] += tape.SpikeRate(l) * b
	}
	f := float64(ep.seen)
	return values(ep.loss/f, ep.ce/f, ep.kd/f, float64(ep.correct)/f), nil
}

// prepare turns batch xb with labels yb into the images trained on and
// their loss, drawing from rng in this order: a random crop and flip, a
// blur, random erasing, mixup, then the trapdoor's triggered images.
// The teacher sees the images it returns: erased and blended, triggered
// ones too (their loss does not use its logits).
func (ep *epoch) prepare(xb *tensor.Tensor, yb []int32, rng *rand.Rand) (*tensor.Tensor, *batchLoss) {
	o := ep.o
	xb = imageset.Augment{CropPad: o.CropPad, HFlip: o.Flip}.Tensor(xb, o.Fill, rng)
	if o.Blur {
		xb = imageset.Smooth(xb)
	}
	if o.EraseRate > 0 {
		lo, hi := o.pixelRange()
		eraseBatch(xb, o.EraseRate, o.eraseArea(), lo, hi, rng)
	}
	k := ep.net.Model.Config.Classes
	lf := &batchLoss{y: yb, k: k, n: len(yb), kappa: ep.st.Kappa, m: o.mix(), tau: o.Temperature, alpha: o.LabelSmoothing}
	if o.Mixup {
		lf.bl = mixBatch(xb, yb, rng)
	}
	if o.TrapdoorRate > 0 {
		if lf.tr = drawTrap(len(yb), k, o.TrapdoorRate, rng); lf.tr != nil {
			lf.tr.apply(xb, ep.triggers, o.trapdoorBlend())
		}
	}
	return xb, lf
}

// batch copies the images and labels of batch s of the epoch's order.
func (ep *epoch) batch(s int) (*tensor.Tensor, []int32) {
	n, bs, c := ep.x.Shape[0], ep.o.BatchSize, ep.net.Model.Config
	idx := ep.order[s*bs : min(n, (s+1)*bs)]
	hwc := c.InChannels * c.InHeight * c.InWidth
	xb := tensor.New(len(idx), c.InChannels, c.InHeight, c.InWidth)
	yb := make([]int32, len(idx))
	for i, j := range idx {
		copy(xb.Data[i*hwc:(i+1)*hwc], ep.x.Data[j*hwc:(j+1)*hwc])
		yb[i] = ep.labels[j]
	}
	return xb, yb
}

// backward clears the gradients and runs the network forward and back on
// the batch xb with its loss lf and the teacher's logits a (nil without
// distillation). Each chunk of the batch is propagated back right after
// its forward pass, with lf's gradient of its rows.
func (ep *epoch) backward(ctx context.Context, xb *tensor.Tensor, lf *batchLoss, a *tensor.Tensor, rng *rand.Rand) (*snn.Tape, error) {
	for _, p := range ep.params {
		clear(p.G.Data)
	}
	k := lf.k
	tape, _, err := ep.net.TrainStep(ctx, xb, rng, ep.to, func(i0, i1 int, logits, dS []float32) {
		var ar []float32
		if a != nil {
			ar = a.Data[i0*k : i1*k]
		}
		lf.rows(dS, logits, ar, i0, i1)
	})
	return tape, err
}

// update checks the loss lv and the gradients of step s, applies the
// optimiser and checks the new weights: a NaN or infinite value is
// ErrDiverged.
func (ep *epoch) update(s int, lv LossValue) error {
	if !finite(lv.Total) {
		return fmt.Errorf("epoch %d step %d: loss %g: %w", ep.e+1, s+1, lv.Total, ErrDiverged)
	}
	for _, p := range ep.params {
		if !allFinite(p.G.Data) {
			return fmt.Errorf("epoch %d step %d: gradient of %s: %w", ep.e+1, s+1, p.Name, ErrDiverged)
		}
	}
	ep.st.Optimizer.Step(ep.params)
	for _, p := range ep.params {
		if !allFinite(p.W.Data) {
			return fmt.Errorf("epoch %d step %d: weight %s: %w", ep.e+1, s+1, p.Name, ErrDiverged)
		}
	}
	ep.net.SyncWeights()
	return nil
}

// End sums the epoch up.
func (ep *epoch) End(context.Context) (EpochResult, []progress.Value, error) {
	res := EpochResult{Epoch: ep.e + 1, LR: ep.lr, SpikeRates: ep.rates}
	if ep.seen > 0 {
		f := float64(ep.seen)
		res.Loss, res.CE, res.KD, res.TrainAcc = ep.loss/f, ep.ce/f, ep.kd/f, float64(ep.correct)/f
		for l := range ep.rates {
			ep.rates[l] /= f
		}
	}
	res.Seconds = ep.before + time.Since(ep.start).Seconds()
	res.ImagesPerSec = float64(ep.seen) / res.Seconds
	return res, values(res.Loss, res.CE, res.KD, res.TrainAcc), nil
}

// values are the values of a progress report: the loss, its parts and
// the training accuracy.
func values(loss, ce, kd, acc float64) []progress.Value {
	return []progress.Value{{Name: "loss", Value: loss}, {Name: "ce", Value: ce}, {Name: "kd", Value: kd}, {Name: "train_accuracy", Value: acc}}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func allFinite(x []float32) bool {
	for _, v := range x {
		if v-v != 0 { // NaN or ±Inf
			return false
		}
	}
	return true
}

// LossValue is the loss of one batch and its parts.
type LossValue struct {
	Total, CE, KD float64
}

// Loss returns L = (1 − m)·CE(κS, y) + m·τ²·KL(softmax(A/τ) ‖ softmax(κS/τ))
// (batch means) and ∂L/∂S. With m = 0, teacher may be nil.
func Loss(s, teacher *tensor.Tensor, labels []int32, kappa, m, tau float64) (LossValue, *tensor.Tensor) {
	z := scaled(s.Data, kappa)
	ds := tensor.New(s.Shape...)
	var a []float32
	if m > 0 {
		a = teacher.Data
	}
	lossRows(ds.Data, z, a, labels, s.Shape[1], s.Shape[0], kappa, m, tau, 0)
	return lossValue(z, s.Shape, teacher, labels, m, tau, 0), ds
}

// LossValues returns Loss's value and parts without its gradient.
func LossValues(s, teacher *tensor.Tensor, labels []int32, kappa, m, tau float64) LossValue {
	return lossValue(scaled(s.Data, kappa), s.Shape, teacher, labels, m, tau, 0)
}

// lossValue computes the loss of the scaled logits z (shape shape), its
// cross-entropy target smoothed by alpha: (1 − α)·CE(z, y) + α·U with U
// the cross-entropy towards the uniform target 1/K.
func lossValue(z []float32, shape []int, teacher *tensor.Tensor, labels []int32, m, tau, alpha float64) LossValue {
	zt := tensor.FromData(z, shape...)
	ce, _ := loss.CrossEntropy(zt, labels)
	if alpha != 0 {
		u := tensor.New(shape...)
		u.Fill(float32(1 / float64(shape[1])))
		uce, _ := loss.SoftCrossEntropy(zt, u, 1)
		ce = (1-alpha)*ce + alpha*uce
	}
	lv := LossValue{CE: ce, Total: (1 - m) * ce}
	if m > 0 {
		kd, _ := loss.Distill(zt, teacher, tau)
		lv.KD, lv.Total = kd, lv.Total+m*kd
	}
	return lv
}

// LossRows writes Loss's ∂L/∂S for some rows of a batch of n: s holds
// those rows' summed output potentials [rows, k], teacher the ANN's logits
// for them (nil when m = 0) and labels their labels; ds [rows, k] receives
// the same values Loss computes for them, so a batch can be differentiated
// chunk by chunk (snn.Network.TrainStep).
func LossRows(ds, s, teacher []float32, labels []int32, k, n int, kappa, m, tau float64) {
	lossRows(ds, scaled(s, kappa), teacher, labels, k, n, kappa, m, tau, 0)
}

// scaled returns κ·s in float32.
func scaled(s []float32, kappa float64) []float32 {
	z := make([]float32, len(s))
	k := float32(kappa)
	for i, v := range s {
		z[i] = k * v
	}
	return z
}

// lossRows writes ∂L/∂S for rows whose scaled logits are z, the
// cross-entropy target smoothed by alpha: its gradient softmax(z) − y
// gains α·(y − 1/K).
func lossRows(ds, z, teacher []float32, labels []int32, k, n int, kappa, m, tau, alpha float64) {
	loss.CrossEntropyRows(ds, z, labels, k, n)
	if alpha == 0 {
		for i, g := range ds {
			ds[i] = float32((1 - m) * kappa * float64(g))
		}
	} else {
		u := alpha / float64(k*n)
		for i, g := range ds {
			d := float64(g) - u
			if i%k == int(labels[i/k]) {
				d += alpha / float64(n)
			}
			ds[i] = float32((1 - m) * kappa * d)
		}
	}
	if m > 0 {
		dkd := make([]float32, len(z))
		loss.DistillRows(dkd, z, teacher, k, n, tau)
		for i, g := range dkd {
			ds[i] += float32(m * kappa * float64(g))
		}
	}
}

// Kappa returns the logit scale κ of o.Scale for net: 1 for ScaleSum, 1/T
// for ScaleMean, and for ScaleMatch the ratio of the ANN's logit spread to
// the SNN's on the first o.MatchImages images of x (inference mode, no
// augmentation, Poisson draws seeded by o.Seed), and for ScaleThreshold
// the product of the spiking layers' thresholds over T. The spread of a
// set of logits is the root mean square over images and classes of each
// logit's distance from its image's mean logit.
func Kappa(ctx context.Context, teacher *vgg.Model, net *snn.Network, x *tensor.Tensor, o Options) (float64, error) {
	switch o.Scale {
	case ScaleSum:
		return 1, nil
	case ScaleMean:
		return 1 / float64(net.Config.Timesteps), nil
	case ScaleThreshold:
		k := 1.0
		for _, th := range net.Config.Thresholds {
			k *= float64(th)
		}
		return k / float64(net.Config.Timesteps), nil
	}
	if teacher == nil {
		return 0, fmt.Errorf("encrypt: logit scale match needs the ANN")
	}
	k := min(o.MatchImages, x.Shape[0])
	hwc := x.Len() / x.Shape[0]
	xs := tensor.FromData(x.Data[:k*hwc], append([]int{k}, x.Shape[1:]...)...)
	budget := o.MemoryBudget
	if budget == 0 {
		budget = snn.DefaultTrainBudget // as the training passes, not the simulator's larger default
	}
	r, err := net.Run(ctx, xs, rand.New(rand.NewPCG(o.Seed, 0x4b)), snn.Options{MemoryBudget: budget})
	if err != nil {
		return 0, err
	}
	sa, ss := spread(teacher.Forward(xs, nn.Mode{})), spread(r.Logits())
	if !(ss > 0) {
		return 0, setting.Errorf("logit_scale", ScaleMatch, "the SNN's output is constant on the %d images that fix κ (silent network?); use sum, mean or threshold", k)
	}
	return sa / ss, nil
}

// spread returns sqrt(mean over rows and columns of (z − row mean)²).
func spread(z *tensor.Tensor) float64 {
	n, c := z.Shape[0], z.Shape[1]
	var ss float64
	for i := range n {
		row := z.Data[i*c : (i+1)*c]
		var mean float64
		for _, v := range row {
			mean += float64(v)
		}
		mean /= float64(c)
		for _, v := range row {
			d := float64(v) - mean
			ss += d * d
		}
	}
	return math.Sqrt(ss / float64(n*c))
}

// ErrTooFewImages reports a class with fewer images than asked for; the
// error BalancedSubset returns is a *TooFewError that matches it.
var ErrTooFewImages = errors.New("encrypt: too few images")

// TooFewError is a class with fewer images than a balanced subset asks for.
type TooFewError struct{ Class, Have, Want int }

func (e *TooFewError) Error() string {
	return fmt.Sprintf("class %d has %d images, fewer than the %d per class asked for", e.Class, e.Have, e.Want)
}

// Is reports whether target is ErrTooFewImages.
func (e *TooFewError) Is(target error) bool { return target == ErrTooFewImages }

// BalancedSubset returns the indices of perClass images of every class
// 0..classes−1, chosen at random by rng and listed in increasing order.
func BalancedSubset(labels []int32, classes, perClass int, rng *rand.Rand) ([]int, error) {
	if perClass < 1 || classes < 1 {
		return nil, fmt.Errorf("encrypt: %d images per class of %d classes, want ≥ 1 of each", perClass, classes)
	}
	byClass := make([][]int, classes)
	for i, y := range labels {
		if y < 0 || int(y) >= classes {
			return nil, fmt.Errorf("encrypt: image %d has label %d outside [0, %d)", i, y, classes)
		}
		byClass[y] = append(byClass[y], i)
	}
	var out []int
	for cl, idx := range byClass {
		if len(idx) < perClass {
			return nil, &TooFewError{Class: cl, Have: len(idx), Want: perClass}
		}
		for i := len(idx) - 1; i > 0; i-- {
			j := rng.IntN(i + 1)
			idx[i], idx[j] = idx[j], idx[i]
		}
		out = append(out, idx[:perClass]...)
	}
	slices.Sort(out)
	return out, nil
}

// LayerChange is how far training moved one weight tensor.
type LayerChange struct {
	Name     string  `json:"name"`
	Relative float64 `json:"relative"` // ‖W − W₀‖ / ‖W₀‖
}

// WeightChange returns, for every weight of after, its change relative to
// the same weight of before.
func WeightChange(before, after *vgg.Model) ([]LayerChange, error) {
	bp, ap := before.Params(), after.Params()
	if len(bp) != len(ap) {
		return nil, fmt.Errorf("encrypt: models have %d and %d weights", len(bp), len(ap))
	}
	out := make([]LayerChange, len(ap))
	for i, p := range ap {
		q := bp[i]
		if q.Name != p.Name || len(q.W.Data) != len(p.W.Data) {
			return nil, fmt.Errorf("encrypt: weight %s does not match %s", p.Name, q.Name)
		}
		var d, w float64
		for j, v := range p.W.Data {
			e := float64(v) - float64(q.W.Data[j])
			d += e * e
			w += float64(q.W.Data[j]) * float64(q.W.Data[j])
		}
		out[i] = LayerChange{Name: p.Name, Relative: math.Sqrt(d / max(w, math.SmallestNonzeroFloat64))}
	}
	return out, nil
}
