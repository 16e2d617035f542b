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
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/privatesnn/privatesnn/data"
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

// State is where a run stands: the next (Epoch, Step) to run and the
// optimiser's buffers. The model weights are saved alongside it.
type State struct {
	Epoch, Step int
	Optimizer   optim.Optimizer
	History     []EpochResult
}

// EpochResult summarises one finished epoch.
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

// stream returns the PCG generator for (seed, epoch, step); step −1 is the
// epoch's shuffle.
func stream(seed uint64, epoch, step int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(epoch)<<32^uint64(step+1)))
}

// Run trains m on trainSet, evaluating on testSet (may be nil) after each
// epoch. Pass a non-nil resume to continue a saved run.
func Run(ctx context.Context, m *vgg.Model, trainSet, testSet *data.Set, o Options, resume *State, h Hooks) (*State, error) {
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
	}
	n := trainSet.Len()
	steps := (n + o.BatchSize - 1) / o.BatchSize
	c := m.Config
	x := tensor.New(o.BatchSize, c.InChannels, c.InHeight, c.InWidth)
	labels := make([]int32, o.BatchSize)
	params := m.Params()
	for ; st.Epoch < o.Epochs; st.Epoch, st.Step = st.Epoch+1, 0 {
		lr := o.schedule().LR(st.Epoch)
		st.Optimizer.SetLR(lr)
		order := data.Shuffle(n, stream(o.Seed, st.Epoch, -1))
		start := time.Now()
		var sumLoss float64
		var correct, seen int
		for ; st.Step < steps; st.Step++ {
			if err := ctx.Err(); err != nil {
				return st, saveOnStop(h, st, err)
			}
			idx := order[st.Step*o.BatchSize : min(n, (st.Step+1)*o.BatchSize)]
			b := len(idx)
			xb := x
			if b != o.BatchSize {
				xb = tensor.FromData(x.Data[:b*c.InChannels*c.InHeight*c.InWidth], b, c.InChannels, c.InHeight, c.InWidth)
			}
			rng := stream(o.Seed, st.Epoch, st.Step)
			trainSet.FillBatch(xb.Data, labels[:b], idx, data.Table, o.Augment, rng)
			m.ZeroGrad()
			z := m.Forward(xb, nn.Mode{Train: true, RNG: rng})
			l, dz := loss.CrossEntropy(z, labels[:b])
			if math.IsNaN(l) || math.IsInf(l, 0) {
				return st, fmt.Errorf("epoch %d step %d: %w", st.Epoch+1, st.Step+1, ErrDiverged)
			}
			m.Backward(dz, nn.Grad{Weights: true})
			st.Optimizer.Step(params)
			sumLoss += l * float64(b)
			correct += loss.Correct(z, labels[:b])
			seen += b
			if err := h.Progress.Report(progress.Report{Label: epochLabel(st.Epoch, o.Epochs), Done: st.Step + 1, Total: steps,
				Values: []progress.Value{{Name: "loss", Value: sumLoss / float64(seen)}}}); err != nil {
				st.Step++ // this step's update is in the weights
				return st, saveOnStop(h, st, fmt.Errorf("train: %w", err))
			}
		}
		res := EpochResult{Epoch: st.Epoch + 1, LR: lr, TestAcc: -1}
		if seen > 0 {
			res.TrainLoss, res.TrainAcc = sumLoss/float64(seen), float64(correct)/float64(seen)
		}
		res.Seconds = time.Since(start).Seconds()
		res.ImagesPerSec = float64(seen) / res.Seconds
		if testSet != nil {
			acc, err := Evaluate(ctx, m, testSet, data.Normalization, o.EvalBatch)
			if err != nil {
				return st, saveOnStop(h, st, err)
			}
			res.TestAcc = acc
		}
		st.History = append(st.History, res)
		values := []progress.Value{{Name: "loss", Value: res.TrainLoss}, {Name: "train_accuracy", Value: res.TrainAcc}}
		if testSet != nil {
			values = append(values, progress.Value{Name: "test_accuracy", Value: res.TestAcc})
		}
		if err := h.Progress.Report(progress.Report{Label: epochLabel(st.Epoch, o.Epochs), Done: steps, Total: steps, Values: values, Detail: &res}); err != nil {
			st.Epoch, st.Step = st.Epoch+1, 0 // the epoch is finished
			return st, saveOnStop(h, st, fmt.Errorf("train: %w", err))
		}
		if h.Save != nil {
			next := *st
			next.Epoch, next.Step = st.Epoch+1, 0
			if err := h.Save(next); err != nil {
				return st, fmt.Errorf("save checkpoint: %w", err)
			}
		}
	}
	return st, nil
}

// epochLabel is the progress label of 0-based epoch e of E.
func epochLabel(e, E int) string { return "epoch " + strconv.Itoa(e+1) + "/" + strconv.Itoa(E) }

func saveOnStop(h Hooks, st *State, cause error) error {
	if h.Save != nil {
		if err := h.Save(*st); err != nil {
			return errors.Join(cause, fmt.Errorf("save checkpoint: %w", err))
		}
	}
	return cause
}

func checkSet(c vgg.Config, s *data.Set) error {
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
func Evaluate(ctx context.Context, m *vgg.Model, s *data.Set, norm imageset.Normalization, batch int) (float64, error) {
	if batch < 1 || batch > 1<<16 {
		return 0, fmt.Errorf("train: evaluation batch %d out of range [1, 65536]", batch)
	}
	if err := norm.Validate(); err != nil {
		return 0, fmt.Errorf("train: %w", err)
	}
	table := norm.Float64Table()
	if err := checkSet(m.Config, s); err != nil {
		return 0, err
	}
	c := m.Config
	x := tensor.New(batch, c.InChannels, c.InHeight, c.InWidth)
	labels := make([]int32, batch)
	idx := make([]int, 0, batch)
	correct := 0
	for i := 0; i < s.Len(); i += batch {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		idx = idx[:0]
		for j := i; j < min(s.Len(), i+batch); j++ {
			idx = append(idx, j)
		}
		b := len(idx)
		xb := tensor.FromData(x.Data[:b*c.InChannels*c.InHeight*c.InWidth], b, c.InChannels, c.InHeight, c.InWidth)
		s.FillBatch(xb.Data, labels[:b], idx, table, imageset.Augment{}, nil)
		correct += loss.Correct(m.Forward(xb, nn.Mode{}), labels[:b])
	}
	return float64(correct) / float64(s.Len()), nil
}
