package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/vgg"
)

// Job is one training run into a model directory: the stage both the
// train command and the pipeline run.
type Job struct {
	// Out is the model directory written (checkpoints go there too).
	Out         string
	Train, Test *imageset.Set
	// Arch is the network to build (ignored when resuming).
	Arch    vgg.Config
	Options Options
	// Resume continues the interrupted run whose checkpoint is in Out,
	// with the options it was started with. Epochs, when positive and
	// different from the checkpoint's, extends (or shortens, down to the
	// epochs already finished) the run; the LR schedule is laid out again.
	Resume bool
	Epochs int
	// Data is the data set recorded in the card; Software the version.
	Data     string
	Software string
}

// Start describes a run about to train, for progress reports.
type Start struct {
	Model   *vgg.Model
	Options Options
	// Resumed is true when a checkpoint was loaded: Epoch and Step are
	// where it stood, FromEpochs the epoch count it was started with.
	Resumed     bool
	Epoch, Step int
	FromEpochs  int
}

// Outcome is a finished Job.
type Outcome struct {
	Model   *vgg.Model
	State   *State
	Card    modelfile.Card
	Options Options
}

// Record is stored in the card's training field.
type Record struct {
	Options Options       `json:"options"`
	History []EpochResult `json:"history"`
}

// ErrNothingToResume reports a resume without a checkpoint; ErrOtherData a
// resume on data of another shape or class count.
var (
	ErrNothingToResume = errors.New("train: no checkpoint to resume")
	ErrOtherData       = errors.New("train: the run was trained on other data")
)

// FinishedError reports a resume to no more epochs than already finished.
type FinishedError struct{ Done int }

func (e *FinishedError) Error() string {
	return fmt.Sprintf("train: the run has already finished %d epochs", e.Done)
}

// Fit runs a Job: it builds the network (seeded by Options.Seed) or loads
// the checkpoint, trains with a checkpoint at every epoch and on
// cancellation, and saves the model with a card that records the data,
// the options, the per-epoch history (without timings, so the same seed
// gives the same bytes) and the final accuracies; the checkpoint is then
// removed.
// progress receives Run's reports (see Hooks.Progress); a stop by it
// leaves a checkpoint, as a cancellation does.
func Fit(ctx context.Context, j Job, start func(Start) error, progress progress.Func) (*Outcome, error) {
	o := j.Options
	var m *vgg.Model
	var state *State
	var card modelfile.Card
	st := Start{}
	if j.Resume {
		mm, ck, err := modelfile.LoadCheckpoint(j.Out)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNothingToResume, err)
		}
		if err := json.Unmarshal(ck.Options, &o); err != nil {
			return nil, fmt.Errorf("train: resume %s: options: %w", j.Out, err)
		}
		st = Start{Resumed: true, Epoch: ck.Epoch, Step: ck.Step, FromEpochs: o.Epochs}
		if j.Epochs > 0 && j.Epochs != o.Epochs {
			if j.Epochs <= ck.Epoch {
				return nil, &FinishedError{Done: ck.Epoch}
			}
			o.Epochs = j.Epochs
		}
		state = &State{Epoch: ck.Epoch, Step: ck.Step, Optimizer: o.NewOptimizer()}
		if err := state.Optimizer.LoadState(ck.Optimizer); err != nil {
			return nil, fmt.Errorf("train: resume %s: %w", j.Out, err)
		}
		if len(ck.History) > 0 {
			if err := json.Unmarshal(ck.History, &state.History); err != nil {
				return nil, fmt.Errorf("train: resume %s: history: %w", j.Out, err)
			}
		}
		m, card = mm, ck.Card
		if c := m.Config; j.Train.Channels != c.InChannels || j.Train.Height != c.InHeight || j.Train.Width != c.InWidth || j.Train.Classes != c.Classes {
			return nil, fmt.Errorf("%w than %s (%s)", ErrOtherData, j.Train.Name, j.Out)
		}
	} else {
		var err error
		if m, err = vgg.New(j.Arch, rand.New(rand.NewPCG(o.Seed, 0x5eed))); err != nil {
			return nil, err
		}
		card = modelfile.Card{Normalization: imageset.TrainingNormalization(), ClassNames: j.Train.ClassNames,
			Data: j.Data, Provenance: modelfile.Provenance{Dataset: j.Train.Name, TrainingDataAccessed: true, Software: j.Software}}
	}
	card.Seed = o.Seed
	st.Model, st.Options = m, o
	if start != nil {
		if err := start(st); err != nil {
			return nil, err
		}
	}
	hooks := Hooks{Progress: progress, Save: func(s State) error {
		opts, err := json.Marshal(o)
		if err != nil {
			return err
		}
		hist, err := json.Marshal(s.History)
		if err != nil {
			return err
		}
		return modelfile.SaveCheckpoint(j.Out, m, modelfile.Checkpoint{Card: card, Epoch: s.Epoch, Step: s.Step,
			Options: opts, History: hist, Optimizer: s.Optimizer.State()})
	}}
	res, err := Run(ctx, m, j.Train, j.Test, o, state, hooks)
	if err != nil {
		return nil, err
	}
	hist := make([]EpochResult, len(res.History))
	for i, h := range res.History {
		h.Seconds, h.ImagesPerSec = 0, 0
		hist[i] = h
	}
	rec, err := json.Marshal(Record{Options: o, History: hist})
	if err != nil {
		return nil, err
	}
	card.Training = rec
	if n := len(res.History); n > 0 {
		last := res.History[n-1]
		card.Metrics = map[string]float64{"test_accuracy": last.TestAcc, "train_accuracy": last.TrainAcc, "train_loss": last.TrainLoss}
	}
	if err := modelfile.Save(j.Out, m, card); err != nil {
		return nil, err
	}
	// The model supersedes the checkpoint; a finished run cannot be resumed.
	if err := modelfile.RemoveCheckpoint(j.Out); err != nil {
		return nil, err
	}
	return &Outcome{Model: m, State: res, Card: card, Options: o}, nil
}
