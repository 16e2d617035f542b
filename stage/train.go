package stage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/train"
	"github.com/privatesnn/privatesnn/vgg"
)

// TrainSettings are an ANN training as a user states it, the same from the
// command line and from a pipeline configuration: the architecture, the
// training options and the flip, whose "auto" depends on the data.
type TrainSettings struct {
	vgg.Spec
	train.Options
	// Flip decides Options.Augment.HFlip.
	Flip train.Flip `json:"flip"`
}

// DefaultTrainSettings returns the "small" preset trained with
// train.Defaults for 10 epochs, flipped unless the data are digits.
func DefaultTrainSettings() TrainSettings {
	o := train.Defaults()
	o.Epochs = 10
	return TrainSettings{Spec: vgg.DefaultSpec(), Options: o, Flip: train.FlipAuto}
}

// Resolve returns the training options for the named data set.
func (s TrainSettings) Resolve(data string) (train.Options, error) {
	if s.Options.Augment.HFlip {
		return train.Options{}, setting.Errorf("augment.hflip", true, "set flip = \"on\" instead (auto flips all but digits)")
	}
	o := s.Options
	o.Augment.HFlip = s.Flip.On(data)
	return o, o.Validate()
}

// TrainJob trains an ANN on real data: the train command's and the
// pipeline's ANN and evaluator training, the one stage that learns from
// real images.
type TrainJob struct {
	// Out is the model directory written (checkpoints go there too).
	Out         string
	Train, Test *imageset.Set
	// Data names the data set, as recorded in the card ("fashion-mnist").
	Data string
	// DataDir is the image folder's directory when Data is "folder"; the
	// card records it, so that later stages find the folder.
	DataDir  string
	Settings TrainSettings
	// Resume continues the interrupted run whose checkpoint is in Out,
	// with the options it was started with. Epochs, when positive and
	// different from the checkpoint's, extends (or shortens, down to the
	// epochs already finished) the run; the LR schedule is laid out again.
	Resume   bool
	Epochs   int
	Software string
}

// TrainStart is the Detail of the event Train reports before training.
type TrainStart struct {
	Model   *vgg.Model
	Options train.Options
	Train   *imageset.Set
	// Resumed is true when a checkpoint was loaded: Epoch and Step are
	// where it stood, FromEpochs the epoch count it was started with.
	Resumed     bool
	Epoch, Step int
	FromEpochs  int
}

// TrainResult is a finished training.
type TrainResult struct {
	TestAccuracy  float64             `json:"test_accuracy"`
	TrainAccuracy float64             `json:"train_accuracy"`
	TrainLoss     float64             `json:"train_loss"`
	Seconds       float64             `json:"seconds"`
	Epochs        int                 `json:"epochs"`
	ImagesPerSec  float64             `json:"images_per_second"`
	Model         string              `json:"model"`
	Arch          string              `json:"arch"`
	Data          string              `json:"data"`
	Params        int                 `json:"params"`
	Seed          uint64              `json:"seed"`
	Backend       gemm.Info           `json:"backend"`
	History       []train.EpochResult `json:"history"`
}

// trainRecord is stored in the card's training field.
type trainRecord struct {
	Options train.Options       `json:"options"`
	History []train.EpochResult `json:"history"`
}

// ErrOtherData reports a resume on data of another shape or class count.
var ErrOtherData = errors.New("the run was trained on other data")

// FinishedError reports a resume to no more epochs than already finished.
type FinishedError struct{ Done int }

func (e *FinishedError) Error() string {
	return fmt.Sprintf("the run has already finished %d epochs", e.Done)
}

// Train builds the network (seeded by the options' seed) or loads the
// checkpoint, trains with a checkpoint at every epoch and on cancellation,
// and saves the model with a card that records the data, the options, the
// per-epoch history (without timings, so the same seed gives the same
// bytes) and the final accuracies; the checkpoint is then removed. p
// receives a TrainStart event, then train.Run's reports; a stop by it
// leaves a checkpoint, as a cancellation does. An Out that is a file or
// holds another kind of artifact than a model or a run is refused first.
func Train(ctx context.Context, j TrainJob, p progress.Func) (*TrainResult, error) {
	start := time.Now()
	o, err := j.Settings.Resolve(j.Data)
	if err != nil {
		return nil, setting.Check(err)
	}
	if err := checkModelOut(j.Out); err != nil {
		return nil, err
	}
	m, card, state, st, err := trainStart(j, o)
	if err != nil {
		return nil, err
	}
	o = st.Options
	if err := p.Report(progress.Report{Label: "training", Detail: st}); err != nil {
		return nil, err
	}
	hooks := train.Hooks{Progress: p, Save: func(s train.State) error {
		return saveCheckpoint(j.Out, m, card, s.Epoch, s.Step, o, s.History, s.Optimizer)
	}}
	res, err := train.Run(ctx, m, j.Train, j.Test, o, state, hooks)
	if err != nil {
		return nil, err
	}
	hist := make([]train.EpochResult, len(res.History))
	for i, h := range res.History {
		h.Seconds, h.ImagesPerSec = 0, 0
		hist[i] = h
	}
	if card.Training, err = json.Marshal(trainRecord{Options: o, History: hist}); err != nil {
		return nil, err
	}
	r := &TrainResult{Epochs: o.Epochs, Model: j.Out, Arch: vgg.FormatFeatures(m.Config.Features), Data: j.Train.Name,
		Params: m.NumParams(), Seed: o.Seed, Backend: gemm.CurrentInfo(), History: res.History}
	if n := len(res.History); n > 0 {
		last := res.History[n-1]
		r.TestAccuracy, r.TrainAccuracy, r.TrainLoss = last.TestAcc, last.TrainAcc, last.TrainLoss
		card.Metrics = map[string]float64{"test_accuracy": last.TestAcc, "train_accuracy": last.TrainAcc, "train_loss": last.TrainLoss}
	}
	if err := finish(j.Out, m, card); err != nil {
		return nil, err
	}
	r.ImagesPerSec = meanRate(res.History)
	r.Seconds = time.Since(start).Seconds()
	return r, nil
}

// trainStart builds the network and its card, or loads them with the
// state from the checkpoint in Out.
func trainStart(j TrainJob, o train.Options) (*vgg.Model, modelfile.Card, *train.State, TrainStart, error) {
	if !j.Resume {
		arch, err := j.Settings.Spec.Config(j.Train.Channels, j.Train.Height, j.Train.Width, j.Train.Classes)
		if err != nil {
			return nil, modelfile.Card{}, nil, TrainStart{}, setting.Check(err)
		}
		m, err := vgg.New(arch, rand.New(rand.NewPCG(o.Seed, 0x5eed)))
		if err != nil {
			return nil, modelfile.Card{}, nil, TrainStart{}, err
		}
		card := modelfile.Card{Normalization: trainNormalization, ClassNames: j.Train.ClassNames, Data: j.Data, Seed: o.Seed,
			Provenance: modelfile.Provenance{Dataset: j.Train.Name, TrainingDataAccessed: true, Software: j.Software}}
		if err := card.SetDataFolder(j.Out, folderDir(j.Data, j.DataDir)); err != nil {
			return nil, modelfile.Card{}, nil, TrainStart{}, err
		}
		return m, card, nil, TrainStart{Model: m, Options: o, Train: j.Train}, nil
	}
	var ro train.Options
	m, ck, err := loadCheckpoint(j.Out, &ro, nil)
	if err != nil {
		return nil, modelfile.Card{}, nil, TrainStart{}, err
	}
	st := TrainStart{Model: m, Train: j.Train, Resumed: true, Epoch: ck.Epoch, Step: ck.Step, FromEpochs: ro.Epochs}
	if j.Epochs > 0 && j.Epochs != ro.Epochs {
		if j.Epochs <= ck.Epoch {
			return nil, modelfile.Card{}, nil, TrainStart{}, &FinishedError{Done: ck.Epoch}
		}
		ro.Epochs = j.Epochs
	}
	state := &train.State{Epoch: ck.Epoch, Step: ck.Step, Optimizer: ro.NewOptimizer()}
	if err := state.Optimizer.LoadState(ck.Optimizer); err != nil {
		return nil, modelfile.Card{}, nil, TrainStart{}, fmt.Errorf("resume %s: %w", j.Out, err)
	}
	if len(ck.History) > 0 {
		if err := json.Unmarshal(ck.History, &state.History); err != nil {
			return nil, modelfile.Card{}, nil, TrainStart{}, fmt.Errorf("resume %s: history: %w", j.Out, err)
		}
	}
	if c := m.Config; j.Train.Channels != c.InChannels || j.Train.Height != c.InHeight || j.Train.Width != c.InWidth || j.Train.Classes != c.Classes {
		return nil, modelfile.Card{}, nil, TrainStart{}, fmt.Errorf("%w than %s (%s)", ErrOtherData, j.Train.Name, j.Out)
	}
	st.Options = ro
	card := ck.Card
	card.Seed = ro.Seed
	return m, card, state, st, nil
}

// meanRate is the images per second over the epochs' training time.
func meanRate(h []train.EpochResult) float64 {
	var imgs, secs float64
	for _, e := range h {
		imgs += e.ImagesPerSec * e.Seconds
		secs += e.Seconds
	}
	if secs == 0 {
		return 0
	}
	return imgs / secs
}

// trainNormalization is the input normalisation training uses: pixels to
// [-1, 1], as every stage of the reference after training assumes.
var trainNormalization = imageset.TrainingNormalization()
