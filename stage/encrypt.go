package stage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/privatesnn/privatesnn/encrypt"
	"github.com/privatesnn/privatesnn/fit"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// EncryptSettings are a class-encryption training as a user states it,
// the same from the command line and from a pipeline configuration.
type EncryptSettings struct {
	encrypt.Options
	// PerClass is the synthetic training images per class (a class-
	// balanced subset of the set); Labels the cross-entropy term's labels.
	PerClass int            `json:"per_class"`
	Labels   encrypt.Labels `json:"labels"`
}

// DefaultEncryptSettings returns encrypt.Defaults with 20 images per class
// labelled by their target class.
func DefaultEncryptSettings() EncryptSettings {
	return EncryptSettings{Options: encrypt.Defaults(), PerClass: 20, Labels: encrypt.LabelsTarget}
}

// EncryptJob trains a converted SNN's weights on synthetic images: the
// encrypt command's and the pipeline's class-encryption training.
type EncryptJob struct {
	// Out is the model directory written (checkpoints go there too).
	Out string
	SNN *Model
	// Teacher is the ANN distilled from, which also fixes κ; nil takes the
	// ANN the SNN was converted from, found through its card.
	Teacher  *Model
	Synth    *Synthetic
	Settings EncryptSettings
	// Resume continues the interrupted run whose checkpoint is in Out; its
	// recorded settings must equal these.
	Resume   bool
	Software string
}

// EncryptStart is the Detail of the event Encrypt reports before training.
type EncryptStart struct {
	SNN       string // the SNN's path
	PerClass  int
	Recipe    string
	Timesteps int
	Images    int
	Kappa     float64
	Options   encrypt.Options
	Teacher   string
	// Resumed is true when a checkpoint was loaded; Epoch and Step are
	// where it stood (0-based).
	Resumed     bool
	Epoch, Step int
}

// EncryptResult is a finished class-encryption training.
type EncryptResult struct {
	Recipe       string                   `json:"recipe"`
	LogitScale   encrypt.Scale            `json:"logit_scale"`
	Kappa        float64                  `json:"kappa"`
	Timesteps    int                      `json:"timesteps"`
	Images       int                      `json:"images"`
	PerClass     int                      `json:"per_class"`
	Epochs       int                      `json:"epochs"`
	TrainAcc     float64                  `json:"train_accuracy"` // last epoch, synthetic training images
	History      []encrypt.EpochResult    `json:"history"`
	WeightChange []modelfile.WeightChange `json:"weight_change"`
	// Seconds is the run's time, the interrupted runs' it resumed
	// included.
	Seconds float64 `json:"seconds"`
	Out     string  `json:"out"`
	Teacher string  `json:"teacher,omitempty"`
	// TrainingDataAccessed is always false: encryption reads synthetic
	// images only.
	TrainingDataAccessed bool `json:"training_data_accessed"`
	// earlier is the part of Seconds the interrupted runs took.
	earlier float64
}

// EarlierSeconds is the part of Seconds that the interrupted runs this
// one resumed took, up to their last checkpoint.
func (r *EncryptResult) EarlierSeconds() float64 { return r.earlier }

// encryptRecord is stored in the card's training field and in
// checkpoints; only checkpoints hold the unfinished epoch's sums and the
// run's time so far.
type encryptRecord struct {
	Options  encrypt.Options       `json:"options"`
	PerClass int                   `json:"per_class"`
	Labels   encrypt.Labels        `json:"labels"`
	History  []encrypt.EpochResult `json:"history,omitempty"`
	Sums     *fit.Sums             `json:"epoch_sums,omitempty"`
	Seconds  float64               `json:"seconds,omitempty"`
}

// encryptRun is an Encrypt job's resolved inputs.
type encryptRun struct {
	teacher *Model
	o       encrypt.Options
	idx     []int
	labels  []int32
}

// Encrypt draws the class-balanced subset (seeded by the options' seed),
// fixes κ (or takes it from the checkpoint), trains with a checkpoint at
// every epoch and on cancellation, and saves the trained SNN with a card
// recording its parent, teacher, recipe, κ, labels, per-layer weight
// change and that no training data was accessed. The SNN the job holds is
// not modified. Before training it refuses an Out that is a file, holds
// another kind of artifact than a model or a run, or is, holds or lies
// inside an input: the SNN, the models its card leads to (its ANN), the
// set or the teacher. p receives an EncryptStart event, then the training's
// reports.
func Encrypt(ctx context.Context, j EncryptJob, p progress.Func) (*EncryptResult, error) {
	start := time.Now()
	r, err := prepareEncrypt(&j)
	if err != nil {
		return nil, err
	}
	if err := checkModelOut(j.Out, modelInputs(j.SNN), []input{{path: j.Synth.Path}}, modelInputs(r.teacher)); err != nil {
		return nil, err
	}
	card, o := j.SNN.Card, r.o
	// The images are normalised in float32 (imageset's Float32Table), as
	// the published encrypted models were trained.
	x := j.Synth.Set.Tensor(r.idx, card.Normalization.Float32Table())
	m, state, before, err := encryptStart(j, o)
	if err != nil {
		return nil, err
	}
	net, err := snn.New(m, card.SNN.Config)
	if err != nil {
		return nil, err
	}
	if state == nil {
		k, err := encrypt.Kappa(ctx, r.teacher.Net, net, x, o)
		if err != nil {
			return nil, err
		}
		state = &encrypt.State{Kappa: k, Optimizer: o.NewOptimizer()}
	}
	out, err := encryptCard(j, r, state.Kappa)
	if err != nil {
		return nil, err
	}
	err = p.Report(progress.Report{Label: "encrypting", Detail: EncryptStart{SNN: j.SNN.Path, PerClass: j.Settings.PerClass, Recipe: out.SNN.Encryption.Recipe, Timesteps: net.Config.Timesteps,
		Images: len(r.idx), Kappa: state.Kappa, Options: o, Teacher: r.teacher.Path, Resumed: j.Resume, Epoch: state.Epoch, Step: state.Step}})
	if err != nil {
		return nil, err
	}
	rec := encryptRecord{Options: o, PerClass: j.Settings.PerClass, Labels: j.Settings.Labels}
	hooks := encrypt.Hooks{Progress: p, Save: func(st encrypt.State) error {
		ck := rec
		ck.History, ck.Sums, ck.Seconds = st.History, &st.Sums, before+time.Since(start).Seconds()
		return saveCheckpoint(j.Out, m, out, st.Epoch, st.Step, ck, nil, st.Optimizer)
	}}
	st, err := encrypt.Run(ctx, r.teacher.Net, net, x, r.labels, o, state, hooks)
	if err != nil {
		return nil, err
	}
	res, err := finishEncrypt(j, m, out, rec, st)
	if err != nil {
		return nil, err
	}
	res.Images, res.Timesteps, res.Seconds, res.Teacher = len(r.idx), net.Config.Timesteps, before+time.Since(start).Seconds(), r.teacher.Path
	res.earlier = before
	return res, nil
}

// prepareEncrypt checks the job's inputs against each other, finds the
// teacher and resolves the options, labels and subset.
func prepareEncrypt(j *EncryptJob) (*encryptRun, error) {
	card := j.SNN.Card
	if card.SNN == nil {
		return nil, inputErr(RoleModel, j.SNN.Path, &KindError{Have: card.Kind, Want: modelfile.KindSNN})
	}
	teacher := j.Teacher
	if teacher == nil {
		path, err := j.SNN.AncestorANN()
		if err != nil {
			return nil, inputErr(RoleANN, "", fmt.Errorf("the ANN to distil from: %w", err))
		}
		if teacher, err = LoadModel(path, RoleANN, modelfile.KindANN); err != nil {
			return nil, err
		}
	}
	if teacher.Card.Kind != modelfile.KindANN {
		return nil, inputErr(RoleANN, teacher.Path, &KindError{Have: teacher.Card.Kind, Want: modelfile.KindANN})
	}
	if !SameShape(teacher.Net.Config, j.SNN.Net.Config) {
		return nil, inputErr(RoleANN, teacher.Path, mismatch("is a different network (%s) from the SNN's (%s)", teacher.Net.Config.Name, j.SNN.Net.Config.Name))
	}
	if err := j.Synth.CheckMadeFrom(teacher); err != nil {
		return nil, err
	}
	if err := j.Synth.checkFits(j.SNN); err != nil {
		return nil, err
	}
	norm := card.Normalization
	if err := norm.Validate(); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	o := j.Settings.Options.Resolve(j.SNN.Net.Config, norm)
	if err := o.Validate(); err != nil {
		return nil, setting.Check(err)
	}
	labels, err := trainingLabels(j.Synth.Set, j.Settings.Labels)
	if err != nil {
		return nil, err
	}
	idx, err := encrypt.BalancedSubset(labels, j.Synth.Set.Classes, j.Settings.PerClass, rand.New(rand.NewPCG(o.Seed, 0x5b5e7)))
	var few *encrypt.TooFewError
	if errors.As(err, &few) {
		return nil, setting.Errorf("per_class", j.Settings.PerClass, "%s (labels %s): %v", j.Synth.Path, j.Settings.Labels, few)
	}
	if err != nil {
		return nil, err
	}
	y := make([]int32, len(idx))
	for i, k := range idx {
		y[i] = labels[k]
	}
	return &encryptRun{teacher: teacher, o: o, idx: idx, labels: y}, nil
}

// encryptStart returns the model to train and, when resuming, the state
// the checkpoint holds and the time the interrupted runs took.
func encryptStart(j EncryptJob, o encrypt.Options) (*vgg.Model, *encrypt.State, float64, error) {
	if !j.Resume {
		m, err := j.SNN.Net.Clone()
		return m, nil, 0, err
	}
	var rec encryptRecord
	opt := o.NewOptimizer()
	m, ck, err := loadCheckpoint(j.Out, &rec, opt)
	if err != nil {
		return nil, nil, 0, err
	}
	if ck.Card.SNN == nil || ck.Card.SNN.Encryption == nil {
		return nil, nil, 0, fmt.Errorf("resume %s: the checkpoint is not a class-encryption run", j.Out)
	}
	if err := sameRecord(encryptRecord{Options: rec.Options, PerClass: rec.PerClass, Labels: rec.Labels},
		encryptRecord{Options: o, PerClass: j.Settings.PerClass, Labels: j.Settings.Labels}); err != nil {
		return nil, nil, 0, err
	}
	st := &encrypt.State{Epoch: ck.Epoch, Step: ck.Step, Kappa: ck.Card.SNN.Encryption.Kappa, Optimizer: opt, History: rec.History}
	if rec.Sums != nil {
		st.Sums = *rec.Sums
	}
	return m, st, rec.Seconds, nil
}

// encryptCard returns the trained model's card before training: the
// SNN's, with the encryption record and the provenance.
func encryptCard(j EncryptJob, r *encryptRun, kappa float64) (modelfile.Card, error) {
	parent, err := modelfile.NewRef(j.Out, j.SNN.Path)
	if err != nil {
		return modelfile.Card{}, err
	}
	teacherRef, err := modelfile.NewRef(j.Out, r.teacher.Path)
	if err != nil {
		return modelfile.Card{}, err
	}
	recipe := modelfile.RecipeCET
	if r.o.Distill {
		recipe = modelfile.RecipeCETOD
	}
	spec := *j.SNN.Card.SNN
	spec.Encryption = &modelfile.Encryption{Recipe: recipe, Labels: string(j.Settings.Labels), LogitScale: string(r.o.Scale), Kappa: kappa,
		Epochs: r.o.Epochs, PerClass: j.Settings.PerClass, Images: len(r.idx), Source: "synthetic:" + j.Synth.Path, Seed: r.o.Seed, Teacher: teacherRef,
		Defenses: r.o.Defenses()}
	out := *j.SNN.Card
	out.SNN, out.Seed, out.Metrics, out.Training = &spec, r.o.Seed, nil, nil
	if err := out.SetDataFolder(j.Out, j.SNN.Card.DataFolder(j.SNN.Path)); err != nil {
		return modelfile.Card{}, err
	}
	out.Provenance = modelfile.Provenance{Dataset: "none (synthetic images)", TrainingDataAccessed: false, Parent: parent, Software: j.Software}
	return out, nil
}

// finishEncrypt records the weight change and the history (without
// timings, so the same seed gives the same bytes) and saves the model.
func finishEncrypt(j EncryptJob, m *vgg.Model, out modelfile.Card, rec encryptRecord, st *encrypt.State) (*EncryptResult, error) {
	changes, err := encrypt.WeightChange(j.SNN.Net, m)
	if err != nil {
		return nil, err
	}
	enc := out.SNN.Encryption
	for _, c := range changes {
		enc.WeightChange = append(enc.WeightChange, modelfile.WeightChange{Name: c.Name, Relative: c.Relative})
	}
	rec.History = make([]encrypt.EpochResult, len(st.History))
	for i, h := range st.History {
		h.Seconds, h.ImagesPerSec = 0, 0
		rec.History[i] = h
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	out.Training = b
	res := &EncryptResult{Recipe: enc.Recipe, LogitScale: rec.Options.Scale, Kappa: st.Kappa, PerClass: rec.PerClass, Epochs: rec.Options.Epochs,
		History: st.History, WeightChange: enc.WeightChange, Out: j.Out}
	if n := len(st.History); n > 0 {
		res.TrainAcc = st.History[n-1].TrainAcc
	}
	out.Metrics = map[string]float64{"train_accuracy_synthetic": res.TrainAcc}
	if err := finish(j.Out, m, out); err != nil {
		return nil, err
	}
	return res, nil
}

// trainingLabels returns every synthetic image's hard label: its folder
// class, or the argmax of its soft label.
func trainingLabels(set *synth.Set, source encrypt.Labels) ([]int32, error) {
	y := make([]int32, set.Len())
	switch source {
	case encrypt.LabelsFolder:
		copy(y, set.Labels)
		return y, nil
	case encrypt.LabelsTarget:
	default:
		return nil, setting.Errorf("labels", source, "want %s or %s", encrypt.LabelsTarget, encrypt.LabelsFolder)
	}
	k := set.Classes
	if len(set.Soft) != set.Len()*k {
		return nil, setting.Errorf("labels", source, "the synthetic set has no soft labels; use %s", encrypt.LabelsFolder)
	}
	for i := range y {
		y[i] = int32(tensor.Argmax(set.Soft[i*k : (i+1)*k]))
	}
	return y, nil
}
