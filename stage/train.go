package stage

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/privatesnn/privatesnn/fit"
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
	// Resume continues the interrupted run whose checkpoint is in Out;
	// the job's data, architecture and options but the epoch count must
	// be those it was started with. Epochs, when positive and different
	// from the checkpoint's, extends (or shortens, down to the epochs
	// already finished) the run; the LR schedule is laid out again.
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
	// before is the time the interrupted runs took.
	before float64
}

// TrainResult is a finished training.
type TrainResult struct {
	TestAccuracy  float64 `json:"test_accuracy"`
	TrainAccuracy float64 `json:"train_accuracy"`
	TrainLoss     float64 `json:"train_loss"`
	// Seconds is the run's time, the interrupted runs' it resumed
	// included.
	Seconds      float64             `json:"seconds"`
	Epochs       int                 `json:"epochs"`
	ImagesPerSec float64             `json:"images_per_second"`
	Model        string              `json:"model"`
	Arch         string              `json:"arch"`
	Data         string              `json:"data"`
	Params       int                 `json:"params"`
	Seed         uint64              `json:"seed"`
	Backend      gemm.Info           `json:"backend"`
	History      []train.EpochResult `json:"history"`
	// earlier is the part of Seconds the interrupted runs took.
	earlier float64
}

// EarlierSeconds is the part of Seconds that the interrupted runs this
// one resumed took, up to their last checkpoint.
func (r *TrainResult) EarlierSeconds() float64 { return r.earlier }

// trainRecord is stored in the card's training field.
type trainRecord struct {
	Options train.Options       `json:"options"`
	History []train.EpochResult `json:"history"`
}

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
//
// A checkpoint records the run's data (name, sets and their sizes, image
// shape, classes), architecture and options, where its unfinished epoch
// stands (fit.Sums) and its time so far: a resumed run must be given the
// same data, architecture and options but the epoch count (else
// ErrSettingsChanged names the recorded ones), continues that epoch's sums
// and counts that time in its Seconds.
func Train(ctx context.Context, j TrainJob, p progress.Func) (*TrainResult, error) {
	start := time.Now()
	o, err := j.Settings.Resolve(j.Data)
	if err != nil {
		return nil, setting.Check(err)
	}
	if err := checkModelOut(j.Out); err != nil {
		return nil, err
	}
	run, arch, err := newTrainRun(j)
	if err != nil {
		return nil, err
	}
	m, card, state, st, err := trainStart(j, o, run, arch)
	if err != nil {
		return nil, err
	}
	o = st.Options
	if err := p.Report(progress.Report{Label: "training", Detail: st}); err != nil {
		return nil, err
	}
	hooks := train.Hooks{Progress: p, Save: func(s train.State) error {
		rec := trainCheckpoint{Options: o, Run: &run, Sums: s.Sums, Seconds: st.before + time.Since(start).Seconds()}
		return saveCheckpoint(j.Out, m, card, s.Epoch, s.Step, rec, s.History, s.Optimizer)
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
		Params: m.NumParams(), Seed: o.Seed, Backend: gemm.CurrentInfo(), History: res.History, earlier: st.before}
	if n := len(res.History); n > 0 {
		last := res.History[n-1]
		r.TestAccuracy, r.TrainAccuracy, r.TrainLoss = last.TestAcc, last.TrainAcc, last.TrainLoss
		card.Metrics = map[string]float64{"test_accuracy": last.TestAcc, "train_accuracy": last.TrainAcc, "train_loss": last.TrainLoss}
	}
	if err := finish(j.Out, m, card); err != nil {
		return nil, err
	}
	r.ImagesPerSec = meanRate(res.History)
	r.Seconds = st.before + time.Since(start).Seconds()
	return r, nil
}

// trainCheckpoint is the record a training checkpoint keeps besides its
// card and history: the options (with the epoch count the run is going
// to), what the run was started with, where its unfinished epoch stands
// and the run's time so far.
type trainCheckpoint struct {
	Options train.Options `json:"options"`
	// Run is nil in checkpoints of versions that did not record it.
	Run     *trainRun `json:"run,omitempty"`
	Sums    fit.Sums  `json:"epoch_sums"`
	Seconds float64   `json:"seconds"`
}

// trainRun is what a training run was started with besides its options:
// the data (its name, the sets' names and sizes, a digest of their
// content, the image shape and the classes) and the architecture. A
// resume must repeat it.
type trainRun struct {
	Data        string `json:"data"`
	Train       string `json:"train"`
	TrainImages int    `json:"train_images"`
	Test        string `json:"test"`
	TestImages  int    `json:"test_images"`
	// Digest tells sets of the same name and size apart (two image
	// folders): see setsDigest.
	Digest      string  `json:"images_sha256"`
	Shape       [3]int  `json:"shape"`
	Classes     int     `json:"classes"`
	Model       string  `json:"model"`
	Features    string  `json:"features"`
	Hidden      []int   `json:"hidden"`
	ConvDropout float64 `json:"conv_dropout"`
	FCDropout   float64 `json:"fc_dropout"`
}

// newTrainRun returns the run the job states: its data and the
// architecture its settings build for them, also returned.
func newTrainRun(j TrainJob) (trainRun, vgg.Config, error) {
	t := j.Train
	c, err := j.Settings.Spec.Config(t.Channels, t.Height, t.Width, t.Classes)
	if err != nil {
		return trainRun{}, c, setting.Check(err)
	}
	r := trainRun{Data: j.Data, Train: t.Name, TrainImages: t.Len(), Digest: setsDigest(j.Train, j.Test), Classes: t.Classes}
	if j.Test != nil {
		r.Test, r.TestImages = j.Test.Name, j.Test.Len()
	}
	r.setArch(c)
	return r, c, nil
}

// setsDigest returns the first 16 hex digits of the SHA-256 of the sets'
// shapes, class names, pixels and labels (nil: none).
func setsDigest(sets ...*imageset.Set) string {
	h := sha256.New()
	for _, s := range sets {
		if s == nil {
			h.Write([]byte("none\n"))
			continue
		}
		fmt.Fprintf(h, "%d %d %d %d %q\n", s.Channels, s.Height, s.Width, s.Classes, s.ClassNames)
		h.Write(s.Pixels)
		binary.Write(h, binary.LittleEndian, s.Labels)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// setArch records the architecture c and its input shape.
func (r *trainRun) setArch(c vgg.Config) {
	r.Shape = [3]int{c.InChannels, c.InHeight, c.InWidth}
	r.Model, r.Features, r.Hidden, r.ConvDropout, r.FCDropout = c.Name, vgg.FormatFeatures(c.Features), c.Hidden, c.ConvDropout, c.FCDropout
}

// trainStart builds the network of architecture arch and its card, or
// loads them with the state from the checkpoint in Out, which must record
// run and options o but the epoch count.
func trainStart(j TrainJob, o train.Options, run trainRun, arch vgg.Config) (*vgg.Model, modelfile.Card, *train.State, TrainStart, error) {
	if !j.Resume {
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
	m, ck, rec, err := loadTrainCheckpoint(j.Out, run)
	if err != nil {
		return nil, modelfile.Card{}, nil, TrainStart{}, err
	}
	ro := rec.Options
	if err := changedSettings([]any{*rec.Run, withEpochs(ro, 0)}, []any{run, withEpochs(o, 0)}); err != nil {
		return nil, modelfile.Card{}, nil, TrainStart{}, err
	}
	st := TrainStart{Model: m, Train: j.Train, Resumed: true, Epoch: ck.Epoch, Step: ck.Step, FromEpochs: ro.Epochs, before: rec.Seconds}
	if j.Epochs > 0 && j.Epochs != ro.Epochs {
		if j.Epochs <= ck.Epoch {
			return nil, modelfile.Card{}, nil, TrainStart{}, &FinishedError{Done: ck.Epoch}
		}
		ro.Epochs = j.Epochs
	}
	state := &train.State{Epoch: ck.Epoch, Step: ck.Step, Optimizer: ro.NewOptimizer(), Sums: rec.Sums}
	if err := state.Optimizer.LoadState(ck.Optimizer); err != nil {
		return nil, modelfile.Card{}, nil, TrainStart{}, fmt.Errorf("resume %s: %w", j.Out, err)
	}
	if len(ck.History) > 0 {
		if err := json.Unmarshal(ck.History, &state.History); err != nil {
			return nil, modelfile.Card{}, nil, TrainStart{}, fmt.Errorf("resume %s: history: %w", j.Out, err)
		}
	}
	st.Options = ro
	card := ck.Card
	card.Seed = ro.Seed
	return m, card, state, st, nil
}

// loadTrainCheckpoint reads the checkpoint in dir. A checkpoint that does
// not record its run (an older version's: its options alone) gets the
// data name, training set name, classes and architecture its card and
// network record; the rest, which it cannot tell, is taken from given.
func loadTrainCheckpoint(dir string, given trainRun) (*vgg.Model, *modelfile.Checkpoint, *trainCheckpoint, error) {
	var rec trainCheckpoint
	m, ck, err := loadCheckpoint(dir, &rec, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	if rec.Run == nil {
		if rec.Options.Epochs == 0 { // the options at the top
			if err := json.Unmarshal(ck.Options, &rec.Options); err != nil {
				return nil, nil, nil, fmt.Errorf("resume %s: options: %w", dir, err)
			}
		}
		run := given
		run.Data, run.Train, run.Classes = ck.Card.Data, ck.Card.Provenance.Dataset, m.Config.Classes
		run.setArch(m.Config)
		rec.Run = &run
	}
	return m, ck, &rec, nil
}

// withEpochs returns o with epochs epochs.
func withEpochs(o train.Options, epochs int) train.Options {
	o.Epochs = epochs
	return o
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
