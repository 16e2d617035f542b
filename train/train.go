// Package train runs supervised training and evaluation of a VGG network on
// an image set: mini-batch SGD or Adam with a step learning-rate schedule,
// augmentation, progress callbacks, cancellation and exact resumption.
//
// # Overview
//
// Run trains for Options.Epochs epochs. Every random choice — the epoch's
// shuffle, each batch's augmentation and dropout masks — comes from a PCG
// stream keyed by (seed, epoch, step), so a run resumed from any saved State
// reproduces the uninterrupted run exactly (for the same thread count).
// The epoch and step loop, its checkpoints and its stops are package
// fit's.
//
// The package reads no data set files: Run, Evaluate and Job take the
// imageset Sets their callers loaded (package data reads them).
//
// # Error handling
//
// Invalid options and inconsistent data return errors. A non-finite loss
// stops the run with ErrDiverged. Cancellation of ctx returns ctx's error
// after the Save hook has stored the current State.
//
// # Concurrency
//
// Run uses the model exclusively; the heavy kernels use all cores.
package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/privatesnn/privatesnn/fit"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/loss"
	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/optim"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// ErrDiverged reports a loss that became NaN or infinite.
var ErrDiverged = errors.New("train: loss is not finite (diverged); lower the learning rate")

// Optimizer names an update rule.
type Optimizer string

// The optimisers Run supports.
const (
	SGD  Optimizer = "sgd"
	Adam Optimizer = "adam"
)

// Options configures a training run. The zero value is not valid; start
// from Defaults.
type Options struct {
	Epochs      int              `json:"epochs"`
	BatchSize   int              `json:"batch_size"`
	Optimizer   Optimizer        `json:"optimizer"`
	LR          float64          `json:"lr"`
	Momentum    float64          `json:"momentum"`     // SGD only
	WeightDecay float64          `json:"weight_decay"` // L2 added to the gradient
	AMSGrad     bool             `json:"amsgrad"`      // Adam only
	LRFactor    float64          `json:"lr_factor"`    // divide the LR by this at each milestone
	LRFractions []float64        `json:"lr_fractions"` // milestones as fractions of Epochs
	Augment     imageset.Augment `json:"augment"`
	Seed        uint64           `json:"seed"`
	EvalBatch   int              `json:"eval_batch"` // batch size for evaluation
}

// Defaults returns privatesnn's default recipe for the small net on 28×28
// images: SGD, momentum 0.9, weight decay 5e-4 (the reference's), lr 0.05
// divided by 10 at 50 % and 75 % of the epochs, batch 64, random crop with
// 2-pixel padding.
func Defaults() Options {
	return Options{
		Epochs: 15, BatchSize: 64, Optimizer: SGD, LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4,
		LRFactor: 10, LRFractions: []float64{0.5, 0.75}, Augment: imageset.Augment{CropPad: 2},
		EvalBatch: 256,
	}
}

// Validate reports inconsistent options.
func (o Options) Validate() error {
	if o.Epochs < 1 || o.Epochs > 100000 {
		return fmt.Errorf("train: epochs %d out of range [1, 100000]", o.Epochs)
	}
	if o.BatchSize < 1 || o.BatchSize > 1<<16 || o.EvalBatch < 1 || o.EvalBatch > 1<<16 {
		return fmt.Errorf("train: batch sizes %d/%d out of range [1, 65536]", o.BatchSize, o.EvalBatch)
	}
	if o.Optimizer != SGD && o.Optimizer != Adam {
		return fmt.Errorf("train: unknown optimizer %q (sgd or adam)", o.Optimizer)
	}
	if !(o.LR > 0) || o.Momentum < 0 || o.Momentum >= 1 || o.WeightDecay < 0 {
		return fmt.Errorf("train: lr %g must be > 0, momentum %g in [0, 1), weight decay %g ≥ 0", o.LR, o.Momentum, o.WeightDecay)
	}
	if o.Augment.CropPad < 0 || o.Augment.CropPad > 64 {
		return fmt.Errorf("train: crop padding %d out of range [0, 64]", o.Augment.CropPad)
	}
	return o.schedule().Validate()
}

// LRAt returns the learning rate of epoch e (0-based).
func (o Options) LRAt(e int) float64 { return o.schedule().LR(e) }

func (o Options) schedule() optim.StepSchedule {
	return optim.StepSchedule{Base: o.LR, Factor: o.LRFactor, Fractions: o.LRFractions, Epochs: o.Epochs}
}

// NewOptimizer returns the optimiser the options name.
func (o Options) NewOptimizer() optim.Optimizer {
	if o.Optimizer == Adam {
		return optim.NewAdam(o.LR, o.WeightDecay, o.AMSGrad)
	}
	return optim.NewSGD(o.LR, o.Momentum, o.WeightDecay)
}

// State is where a run stands: the next (Epoch, Step) to run, the
// optimiser's buffers, the finished epochs and the running sums of epoch
// Epoch's steps before Step (fit.Sums: images seen, the values sumLoss
// and correct, seconds). The model weights are saved alongside it.
type State struct {
	Epoch, Step int
	Optimizer   optim.Optimizer
	History     []EpochResult
	Sums        fit.Sums
}

// sumValues is the number of values in an epoch's running sums: the
// summed loss (times the batch size) and the correct predictions.
const sumValues = 2

// EpochResult summarises one finished epoch, all of its steps (an epoch
// resumed in its middle continues the sums its State saved); Seconds is
// the time its steps took, in every process that ran them.
type EpochResult struct {
	Epoch        int     `json:"epoch"` // 1-based
	LR           float64 `json:"lr"`
	TrainLoss    float64 `json:"train_loss"`
	TrainAcc     float64 `json:"train_accuracy"`
	TestAcc      float64 `json:"test_accuracy"` // NaN-free: -1 when no test set
	Seconds      float64 `json:"seconds,omitempty"`
	ImagesPerSec float64 `json:"images_per_second,omitempty"`
}

// Hooks receive progress and checkpoints. Any may be nil.
type Hooks struct {
	// Progress is called after every step with Label "epoch e/E", the
	// steps done in the epoch of its steps and the value "loss" (the
	// epoch's mean so far), and again at the end of every epoch, after
	// the evaluation, with all steps done, the values "loss",
	// "train_accuracy" and (with a test set) "test_accuracy" and the
	// epoch's *EpochResult as Detail. A non-nil error stops the run as a cancellation does:
	// the state to resume from is saved and Run returns an error wrapping
	// it (a *progress.StopError).
	Progress progress.Func
	// Save is called at the end of each epoch and when the run is stopped
	// (ctx cancelled, or Progress's error), with the state to resume from.
	// The model holds the matching weights.
	Save func(State) error
}

// Run trains m on trainSet, evaluating on testSet (may be nil) after each
// epoch. Pass a non-nil resume to continue a saved run. The images are
// normalised by imageset.TrainingNormalization's Float64Table.
func Run(ctx context.Context, m *vgg.Model, trainSet, testSet *imageset.Set, o Options, resume *State, h Hooks) (*State, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := checkSet(m.Config, trainSet); err != nil {
		return nil, err
	}
	if testSet != nil {
		if err := checkSet(m.Config, testSet); err != nil {
			return nil, err
		}
	}
	st := &State{Optimizer: o.NewOptimizer()}
	if resume != nil {
		st = resume
		if err := st.Sums.Check(sumValues); err != nil {
			return nil, fmt.Errorf("train: resume: %w", err)
		}
	}
	c := m.Config
	r := &runner{m: m, train: trainSet, test: testSet, o: o, st: st, params: m.Params(),
		table: imageset.TrainingNormalization().Float64Table(),
		x:     tensor.New(o.BatchSize, c.InChannels, c.InHeight, c.InWidth), labels: make([]int32, o.BatchSize)}
	loop := fit.Loop[EpochResult]{Epochs: o.Epochs, Steps: (trainSet.Len() + o.BatchSize - 1) / o.BatchSize,
		Begin: r.begin, Progress: h.Progress, Name: "train"}
	if h.Save != nil {
		loop.Save = func(s fit.State[EpochResult]) error {
			return h.Save(State{Epoch: s.Epoch, Step: s.Step, Optimizer: st.Optimizer, History: s.History, Sums: s.Sums})
		}
	}
	fs := fit.State[EpochResult]{Epoch: st.Epoch, Step: st.Step, History: st.History, Sums: st.Sums}
	err := loop.Run(ctx, &fs)
	st.Epoch, st.Step, st.History, st.Sums = fs.Epoch, fs.Step, fs.History, fs.Sums
	return st, err
}

// runner holds what every step of a Run uses.
type runner struct {
	m           *vgg.Model
	train, test *imageset.Set
	o           Options
	st          *State
	params      []*nn.Param
	table       *imageset.Table
	x           *tensor.Tensor // the batch buffer, BatchSize images
	labels      []int32
}

// epoch is one epoch of a Run: its order and its running sums.
type epoch struct {
	*runner
	e, n  int // the 0-based epoch and the training set's size
	lr    float64
	order []int
	// start is when this process began the epoch, before the seconds of
	// the steps other processes ran.
	start   time.Time
	before  float64
	sumLoss float64
	correct int
	seen    int
}

// begin starts epoch e from the sums from: its rate, its shuffle (stream
// step −1) and its clock.
func (r *runner) begin(e int, from fit.Sums) fit.Epoch[EpochResult] {
	lr := r.o.schedule().LR(e)
	r.st.Optimizer.SetLR(lr)
	n := r.train.Len()
	ep := &epoch{runner: r, e: e, n: n, lr: lr, order: imageset.Shuffle(n, fit.Stream(r.o.Seed, e, -1)), start: time.Now(),
		before: from.Seconds, seen: from.Seen}
	if len(from.Values) == sumValues {
		ep.sumLoss, ep.correct = from.Values[0], int(from.Values[1])
	}
	return ep
}

// Sums returns the epoch's running sums.
func (ep *epoch) Sums() fit.Sums {
	return fit.Sums{Seen: ep.seen, Values: []float64{ep.sumLoss, float64(ep.correct)}, Seconds: ep.before + time.Since(ep.start).Seconds()}
}

// Step trains on batch s of the epoch's order, its augmentation and
// dropout drawn from stream (epoch, s).
func (ep *epoch) Step(_ context.Context, s int) ([]progress.Value, error) {
	o, c := ep.o, ep.m.Config
	idx := ep.order[s*o.BatchSize : min(ep.n, (s+1)*o.BatchSize)]
	b := len(idx)
	xb := ep.x
	if b != o.BatchSize {
		xb = tensor.FromData(ep.x.Data[:b*c.InChannels*c.InHeight*c.InWidth], b, c.InChannels, c.InHeight, c.InWidth)
	}
	rng := fit.Stream(o.Seed, ep.e, s)
	ep.train.FillBatch(xb.Data, ep.labels[:b], idx, ep.table, o.Augment, rng)
	ep.m.ZeroGrad()
	z := ep.m.Forward(xb, nn.Mode{Train: true, RNG: rng})
	l, dz := loss.CrossEntropy(z, ep.labels[:b])
	if math.IsNaN(l) || math.IsInf(l, 0) {
		return nil, fmt.Errorf("epoch %d step %d: %w", ep.e+1, s+1, ErrDiverged)
	}
	ep.m.Backward(dz, nn.Grad{Weights: true})
	ep.st.Optimizer.Step(ep.params)
	ep.sumLoss += l * float64(b)
	ep.correct += loss.Correct(z, ep.labels[:b])
	ep.seen += b
	return []progress.Value{{Name: "loss", Value: ep.sumLoss / float64(ep.seen)}}, nil
}

// End sums the epoch up and evaluates the model on the test set, if any.
func (ep *epoch) End(ctx context.Context) (EpochResult, []progress.Value, error) {
	res := EpochResult{Epoch: ep.e + 1, LR: ep.lr, TestAcc: -1}
	if ep.seen > 0 {
		res.TrainLoss, res.TrainAcc = ep.sumLoss/float64(ep.seen), float64(ep.correct)/float64(ep.seen)
	}
	res.Seconds = ep.before + time.Since(ep.start).Seconds()
	res.ImagesPerSec = float64(ep.seen) / res.Seconds
	values := []progress.Value{{Name: "loss", Value: res.TrainLoss}, {Name: "train_accuracy", Value: res.TrainAcc}}
	if ep.test != nil {
		acc, err := Evaluate(ctx, ep.m, ep.test, imageset.TrainingNormalization(), ep.o.EvalBatch)
		if err != nil {
			return res, nil, err
		}
		res.TestAcc = acc
		values = append(values, progress.Value{Name: "test_accuracy", Value: res.TestAcc})
	}
	return res, values, nil
}

func checkSet(c vgg.Config, s *imageset.Set) error {
	if s.Len() == 0 {
		return fmt.Errorf("train: data set %s is empty", s.Name)
	}
	if s.Channels != c.InChannels || s.Height != c.InHeight || s.Width != c.InWidth {
		return fmt.Errorf("train: data set %s has %d×%d×%d images, model %s expects %d×%d×%d",
			s.Name, s.Channels, s.Height, s.Width, c.Name, c.InChannels, c.InHeight, c.InWidth)
	}
	if s.Classes > c.Classes {
		return fmt.Errorf("train: data set %s has %d classes, model %s outputs %d", s.Name, s.Classes, c.Name, c.Classes)
	}
	return nil
}

// Evaluate returns the top-1 accuracy of m on s in inference mode, its
// pixels normalised by norm (in float64, as training normalises; pass the
// model card's normalisation).
func Evaluate(ctx context.Context, m *vgg.Model, s *imageset.Set, norm imageset.Normalization, batch int) (float64, error) {
	hits, err := Hits(ctx, m, s, norm, batch)
	if err != nil {
		return 0, err
	}
	correct := 0
	for _, h := range hits {
		if h {
			correct++
		}
	}
	return float64(correct) / float64(s.Len()), nil
}

// Hits returns, for every image of s in order, whether m's top-1 class in
// inference mode is its label (a tie counts for the first maximal class),
// its pixels normalised by norm as Evaluate does.
func Hits(ctx context.Context, m *vgg.Model, s *imageset.Set, norm imageset.Normalization, batch int) ([]bool, error) {
	if batch < 1 || batch > 1<<16 {
		return nil, fmt.Errorf("train: evaluation batch %d out of range [1, 65536]", batch)
	}
	if err := norm.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	table := norm.Float64Table()
	if err := checkSet(m.Config, s); err != nil {
		return nil, err
	}
	c := m.Config
	x := tensor.New(batch, c.InChannels, c.InHeight, c.InWidth)
	labels := make([]int32, batch)
	idx := make([]int, 0, batch)
	hits := make([]bool, 0, s.Len())
	for i := 0; i < s.Len(); i += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		idx = idx[:0]
		for j := i; j < min(s.Len(), i+batch); j++ {
			idx = append(idx, j)
		}
		b := len(idx)
		xb := tensor.FromData(x.Data[:b*c.InChannels*c.InHeight*c.InWidth], b, c.InChannels, c.InHeight, c.InWidth)
		s.FillBatch(xb.Data, labels[:b], idx, table, imageset.Augment{}, nil)
		z := m.Forward(xb, nn.Mode{})
		k := z.Shape[1]
		for r := range b {
			hits = append(hits, tensor.Argmax(z.Data[r*k:(r+1)*k]) == int(labels[r]))
		}
	}
	return hits, nil
}
