package encrypt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/vgg"
)

// Label sources of the cross-entropy term.
const (
	// LabelsTarget labels each synthetic image with the class of the soft
	// label it was synthesised towards (its argmax).
	LabelsTarget = "target"
	// LabelsFolder labels it with the class folder it is stored in.
	LabelsFolder = "folder"
)

// Job is one class-encryption training from files into a model directory:
// the stage both the encrypt command and the pipeline run.
type Job struct {
	// Out is the model directory written (checkpoints go there too).
	Out string
	// SNN is the converted network's directory, Teacher the ANN's (the
	// distillation teacher, which also fixes κ), Synth the synthetic set's
	// (recorded as the source; Set holds its images).
	SNN, Teacher, Synth string
	Set                 *synth.Set
	// Labels is LabelsTarget or LabelsFolder; PerClass the images per
	// class of the balanced subset.
	Labels   string
	PerClass int
	// Options are complete except Fill, which Train sets from the SNN's
	// normalisation.
	Options Options
	// Resume continues the interrupted run whose checkpoint is in Out; its
	// recorded settings must equal these.
	Resume bool
	// Software is recorded in the card.
	Software string
}

// Record is stored in the card's training field and in checkpoints.
type Record struct {
	Options  Options       `json:"options"`
	PerClass int           `json:"per_class"`
	Labels   string        `json:"labels"`
	History  []EpochResult `json:"history,omitempty"`
}

// Start describes a training about to run, for progress reports.
type Start struct {
	Recipe    string
	Timesteps int
	Images    int
	Kappa     float64
	// Resumed is true when a checkpoint was loaded; Epoch and Step are
	// where it stood (0-based).
	Resumed     bool
	Epoch, Step int
}

// Outcome is a finished Job.
type Outcome struct {
	State        *State
	Card         modelfile.Card
	Images       int
	Timesteps    int
	WeightChange []modelfile.WeightChange
}

// ErrSettingsChanged reports a resume whose settings differ from the
// interrupted run's.
var ErrSettingsChanged = errors.New("encrypt: the interrupted run was started with other settings")

// ErrNothingToResume reports a resume without a checkpoint.
var ErrNothingToResume = errors.New("encrypt: no checkpoint to resume")

// TrainingLabels returns every synthetic image's hard label: its folder
// class, or the argmax of its soft label.
func TrainingLabels(set *synth.Set, source string) ([]int32, error) {
	y := make([]int32, set.Len())
	switch source {
	case LabelsFolder:
		for i, c := range set.Labels {
			y[i] = int32(c)
		}
		return y, nil
	case LabelsTarget:
	default:
		return nil, fmt.Errorf("encrypt: labels %q: want %s or %s", source, LabelsTarget, LabelsFolder)
	}
	k := set.Classes
	if len(set.Soft) != set.Len()*k {
		return nil, fmt.Errorf("encrypt: labels %s: the synthetic set has no soft labels; use %s", LabelsTarget, LabelsFolder)
	}
	for i := range y {
		row := set.Soft[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		y[i] = int32(best)
	}
	return y, nil
}

// Train runs a Job: it loads the networks, draws the class-balanced subset
// (seeded by Options.Seed), fixes κ (or takes it from the checkpoint),
// trains with a checkpoint at every epoch and on cancellation, and saves
// the trained SNN with a card recording its parent, teacher, recipe, κ,
// labels, per-layer weight change and that no training data was accessed.
// start, when not nil, is called once before training; h's Save is set by
// Train, its Progress is passed through.
func Train(ctx context.Context, j Job, start func(Start) error, progress progress.Func) (*Outcome, error) {
	teacher, _, err := modelfile.Load(j.Teacher)
	if err != nil {
		return nil, fmt.Errorf("encrypt: teacher: %w", err)
	}
	m0, card, err := modelfile.Load(j.SNN)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if card.SNN == nil {
		return nil, fmt.Errorf("encrypt: %s is not a spiking model", j.SNN)
	}
	o := j.Options
	norm := card.Normalization
	if err := norm.Validate(); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	o.Fill = norm.Black()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	labels, err := TrainingLabels(j.Set, j.Labels)
	if err != nil {
		return nil, err
	}
	set := j.Set
	idx, err := BalancedSubset(labels, set.Classes, j.PerClass, rand.New(rand.NewPCG(o.Seed, 0x5b5e7)))
	if err != nil {
		return nil, err
	}
	// The images are normalised in float32 (imageset's Float32Table), as
	// the published encrypted models were trained.
	x := set.Tensor(idx, norm.Float32Table())
	y := make([]int32, len(idx))
	for i, k := range idx {
		y[i] = labels[k]
	}
	m := m0
	var state *State
	if j.Resume {
		if m, state, err = resume(j, o); err != nil {
			return nil, err
		}
	} else if m, _, err = modelfile.Load(j.SNN); err != nil { // a copy to train
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	net, err := snn.New(m, card.SNN.Config)
	if err != nil {
		return nil, err
	}
	if state == nil {
		k, err := Kappa(ctx, teacher, net, x, o)
		if err != nil {
			return nil, err
		}
		state = &State{Kappa: k, Optimizer: o.NewOptimizer()}
	}
	recipe := modelfile.RecipeCET
	if o.Distill {
		recipe = modelfile.RecipeCETOD
	}
	parent, err := modelfile.NewRef(j.Out, j.SNN)
	if err != nil {
		return nil, err
	}
	teacherRef, err := modelfile.NewRef(j.Out, j.Teacher)
	if err != nil {
		return nil, err
	}
	spec := *card.SNN
	spec.Encryption = &modelfile.Encryption{Recipe: recipe, Labels: j.Labels, LogitScale: string(o.Scale), Kappa: state.Kappa, Epochs: o.Epochs,
		PerClass: j.PerClass, Images: len(idx), Source: "synthetic:" + j.Synth, Seed: o.Seed, Teacher: teacherRef}
	out := *card
	out.SNN, out.Seed, out.Metrics, out.Training = &spec, o.Seed, nil, nil
	out.Provenance = modelfile.Provenance{Dataset: "none (synthetic images)", TrainingDataAccessed: false, Parent: parent, Software: j.Software}
	if start != nil {
		if err := start(Start{Recipe: recipe, Timesteps: net.Config.Timesteps, Images: len(idx), Kappa: state.Kappa,
			Resumed: j.Resume, Epoch: state.Epoch, Step: state.Step}); err != nil {
			return nil, err
		}
	}
	hooks := Hooks{Progress: progress, Save: func(st State) error {
		rec, err := json.Marshal(Record{Options: o, PerClass: j.PerClass, Labels: j.Labels, History: st.History})
		if err != nil {
			return err
		}
		return modelfile.SaveCheckpoint(j.Out, m, modelfile.Checkpoint{Card: out, Epoch: st.Epoch, Step: st.Step, Options: rec,
			Optimizer: st.Optimizer.State()})
	}}
	st, err := Run(ctx, teacher, net, x, y, o, state, hooks)
	if err != nil {
		return nil, err
	}
	changes, err := WeightChange(m0, m)
	if err != nil {
		return nil, err
	}
	for _, c := range changes {
		spec.Encryption.WeightChange = append(spec.Encryption.WeightChange, modelfile.WeightChange{Name: c.Name, Relative: c.Relative})
	}
	// The card holds no timings, so the same seed gives the same bytes.
	hist := make([]EpochResult, len(st.History))
	for i, h := range st.History {
		h.Seconds, h.ImagesPerS = 0, 0
		hist[i] = h
	}
	rec, err := json.Marshal(Record{Options: o, PerClass: j.PerClass, Labels: j.Labels, History: hist})
	if err != nil {
		return nil, err
	}
	out.Training = rec
	var trainAcc float64
	if n := len(st.History); n > 0 {
		trainAcc = st.History[n-1].TrainAcc
	}
	out.Metrics = map[string]float64{"train_accuracy_synthetic": trainAcc}
	if err := modelfile.Save(j.Out, m, out); err != nil {
		return nil, err
	}
	if err := modelfile.RemoveCheckpoint(j.Out); err != nil {
		return nil, err
	}
	return &Outcome{State: st, Card: out, Images: len(idx), Timesteps: net.Config.Timesteps, WeightChange: spec.Encryption.WeightChange}, nil
}

// resume loads the checkpoint in j.Out and checks that it was started
// with j's settings.
func resume(j Job, o Options) (*vgg.Model, *State, error) {
	m, ck, err := modelfile.LoadCheckpoint(j.Out)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrNothingToResume, err)
	}
	var rec Record
	if err := json.Unmarshal(ck.Options, &rec); err != nil {
		return nil, nil, fmt.Errorf("encrypt: resume %s: options: %w", j.Out, err)
	}
	if ck.Card.SNN == nil || ck.Card.SNN.Encryption == nil {
		return nil, nil, fmt.Errorf("encrypt: resume %s: the checkpoint is not a class-encryption run", j.Out)
	}
	a, _ := json.Marshal(rec.Options)
	b, _ := json.Marshal(o)
	if string(a) != string(b) || rec.PerClass != j.PerClass || rec.Labels != j.Labels {
		return nil, nil, fmt.Errorf("%w (%s, %d per class, labels %s)", ErrSettingsChanged, a, rec.PerClass, rec.Labels)
	}
	opt := rec.Options.NewOptimizer()
	if err := opt.LoadState(ck.Optimizer); err != nil {
		return nil, nil, fmt.Errorf("encrypt: resume %s: %w", j.Out, err)
	}
	return m, &State{Epoch: ck.Epoch, Step: ck.Step, Kappa: ck.Card.SNN.Encryption.Kappa, Optimizer: opt, History: rec.History}, nil
}
