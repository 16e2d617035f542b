package stage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/leakage"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/train"
)

// EvalSettings are an evaluation as a user states it.
type EvalSettings struct {
	// Timesteps simulates an SNN this many steps (0: its T).
	Timesteps int `json:"timesteps,omitempty"`
	// Readouts are the steps at which an SNN's accuracy is read; nil takes
	// Points steps spread over 1..T (Spread), or with Points 0 every
	// T/20th (EveryNth).
	Readouts []int `json:"readouts,omitempty"`
	Points   int   `json:"points,omitempty"`
	// Seed seeds the Poisson input spikes.
	Seed uint64 `json:"seed"`
	// Batch is an ANN's evaluation batch (0: 256).
	Batch int `json:"batch,omitempty"`
	// Candidates also scores every candidate of an SNN's data-free
	// selection.
	Candidates bool `json:"candidates,omitempty"`
	// Reset and InitMembrane, when set, simulate an SNN with this reset
	// rule and initial membrane (a fraction of θ) instead of its own: the
	// semantics another simulator applies to an exported network (a NIR
	// reader: reset zero, initial membrane 0).
	Reset        *snn.Reset `json:"reset,omitempty"`
	InitMembrane *float64   `json:"init_membrane,omitempty"`
	// ExactCurrents simulates an SNN with every current summed in float64
	// and rounded once (snn.Options.ExactCurrents): slower, and the spikes
	// another engine summing in float64 reproduces bit for bit.
	ExactCurrents bool `json:"exact_currents,omitempty"`
}

// EvalJob scores a model on real data: the eval command's and the
// pipeline's accuracy evaluation.
type EvalJob struct {
	Model *Model
	// ANN is the ANN an SNN is compared with; nil with FindANN looks for
	// the ANN the SNN comes from (a note, not an error, when not found).
	ANN     *Model
	FindANN bool
	// Baseline, when set, is a model of either kind scored on the same
	// images (an SNN with the same Timesteps and Seed, its own semantics)
	// and compared with Model image by image.
	Baseline *Model
	Data     *imageset.Set
	Settings EvalSettings
}

// PairedAccuracy compares the evaluated model with another on the same
// images. Difference is the evaluated model's accuracy minus the other's;
// CI95 is Newcombe's 95 % interval for that difference of paired
// proportions (leakage.PairedDifference). OnlyModel and OnlyOther count the
// images that only the evaluated model, or only the other, classifies
// right: the pairs that decide the difference.
type PairedAccuracy struct {
	Model      string           `json:"model"`
	Accuracy   float64          `json:"accuracy"`
	Difference float64          `json:"difference"`
	CI95       leakage.Interval `json:"ci95"`
	OnlyModel  int              `json:"only_model_right"`
	OnlyOther  int              `json:"only_other_right"`
}

// paired compares the evaluated model's hits with other's, image by image.
func paired(path string, hits, other []bool) (*PairedAccuracy, error) {
	d, ci, err := leakage.PairedDifference(hits, other, leakage.Z95)
	if err != nil {
		return nil, err
	}
	pa := &PairedAccuracy{Model: path, Difference: d, CI95: ci}
	right := 0
	for i, h := range hits {
		switch {
		case other[i]:
			right++
			if !h {
				pa.OnlyOther++
			}
		case h:
			pa.OnlyModel++
		}
	}
	pa.Accuracy = float64(right) / float64(len(other))
	return pa, nil
}

// LayerRate is a spiking layer's activity during an evaluation.
type LayerRate struct {
	Layer     string  `json:"layer"`
	Rate      float64 `json:"rate"`       // spikes per neuron per step
	Spikes    int64   `json:"spikes"`     // spikes, summed over images and steps
	Neurons   int64   `json:"neurons"`    // neurons per image
	InputRate float64 `json:"input_rate"` // non-zero inputs per input value per step
	Events    int     `json:"event_driven_chunks"`
	Dense     int     `json:"dense_chunks"`
}

// CandidateEval is one candidate of a data-free selection scored on data.
type CandidateEval struct {
	convert.CandidateScore
	Chosen             bool                   `json:"chosen"`
	AccuracyByTimestep []snn.TimestepAccuracy `json:"accuracy_by_timestep"`
}

// EvalResult is a finished evaluation.
type EvalResult struct {
	Kind     modelfile.Kind `json:"kind"`
	Accuracy float64        `json:"accuracy"`
	Images   int            `json:"images"`
	Data     string         `json:"data"`
	Model    string         `json:"model"`
	Seconds  float64        `json:"seconds"`
	// DataNote says what the check of the data against the model could
	// not cover (DataNote).
	DataNote string `json:"data_note,omitempty"`
	// SNN only:
	Timesteps          int                    `json:"timesteps,omitempty"`
	AccuracyByTimestep []snn.TimestepAccuracy `json:"accuracy_by_timestep,omitempty"`
	SpikeRates         []LayerRate            `json:"spike_rates,omitempty"`
	ANN                string                 `json:"ann,omitempty"`
	ANNAccuracy        *float64               `json:"ann_accuracy,omitempty"`
	ANNNote            string                 `json:"ann_note,omitempty"`
	SmallestTWithin1pp *int                   `json:"smallest_timestep_within_1pp_of_ann,omitempty"`
	// AgainstANN compares the SNN at its last readout with the ANN.
	AgainstANN *PairedAccuracy `json:"against_ann,omitempty"`
	// AgainstBaseline compares the model with EvalJob.Baseline.
	AgainstBaseline     *PairedAccuracy `json:"against_baseline,omitempty"`
	Candidates          []CandidateEval `json:"candidates,omitempty"`
	ImagesTimestepsPerS float64         `json:"images_timesteps_per_second,omitempty"`
	// Hits says, image by image, whether the model (an SNN at its last
	// readout) classified it right.
	Hits []bool `json:"-"`
}

// evalStream keys the Poisson input of every simulation on real data.
const evalStream = 0x5e1

// EveryNth returns the steps k, 2k, … up to T with k = max(1, T/n).
func EveryNth(T, n int) []int {
	step := max(1, T/n)
	var rs []int
	for t := step; t <= T; t += step {
		rs = append(rs, t)
	}
	return rs
}

// Spread returns n readout steps spread over 1..T, ending at T.
func Spread(T, n int) []int {
	var out []int
	for i := 1; i <= n; i++ {
		if t := max(1, i*T/n); len(out) == 0 || t > out[len(out)-1] {
			out = append(out, t)
		}
	}
	if len(out) == 0 || out[len(out)-1] != T {
		out = append(out, T)
	}
	return out
}

// readouts returns the steps at which a network of T steps is read.
func (s EvalSettings) readouts(T int) []int {
	switch {
	case s.Readouts != nil:
		return s.Readouts
	case s.Points > 0:
		return Spread(T, s.Points)
	}
	return EveryNth(T, 20)
}

// Eval scores the model on the data: an ANN's top-1 accuracy, an SNN's
// accuracy at every readout, its spike rates and the comparison with its
// ANN. p receives the simulation's reports.
func Eval(ctx context.Context, j EvalJob, p progress.Func) (*EvalResult, error) {
	start := time.Now()
	note, err := checkData(j.Data, RoleData, j.Model, p)
	if err != nil {
		return nil, err
	}
	if j.Settings.Candidates && j.Model.IsSNN() && j.Model.Card.SNN.Calibration.Selection == nil {
		return nil, inputErr(RoleModel, j.Model.Path, mismatch("holds no data-free selection (convert it with recipe select)"))
	}
	res := &EvalResult{Kind: j.Model.Card.Kind, Images: j.Data.Len(), Data: j.Data.Name, Model: j.Model.Path, DataNote: note}
	batch := j.Settings.Batch
	if batch == 0 {
		batch = 256
	}
	if !j.Model.IsSNN() {
		if j.ANN != nil {
			return nil, inputErr(RoleModel, j.Model.Path, mismatch("is itself an ANN; the comparison with an ANN is for a spiking model"))
		}
		if j.Settings.Candidates {
			return nil, inputErr(RoleModel, j.Model.Path, mismatch("is an ANN; candidates are scored for an SNN converted with recipe select"))
		}
		var hits []bool
		if hits, err = train.Hits(ctx, j.Model.Net, j.Data, j.Model.Card.Normalization, batch); err == nil {
			res.Accuracy, res.Hits = fraction(hits), hits
			err = compareBaseline(ctx, j, res, hits, batch, p)
		}
	} else {
		err = evalSNN(ctx, j, res, batch, p)
	}
	if err != nil {
		return nil, err
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// evalSNN simulates the SNN: accuracy by time step, spike rates, the
// comparison with its ANN, and optionally the selection's candidates.
func evalSNN(ctx context.Context, j EvalJob, res *EvalResult, batch int, p progress.Func) error {
	net, err := j.Model.Spiking(j.Settings.Timesteps)
	if err != nil {
		return err
	}
	if net, err = j.Settings.semantics(net); err != nil {
		return err
	}
	T := net.Config.Timesteps
	rs := j.Settings.readouts(T)
	simStart := time.Now()
	r, curve, err := simulate(ctx, net, j.Data, j.Model.Card.Normalization, snn.Options{Readouts: rs, ExactCurrents: j.Settings.ExactCurrents}, j.Settings.Seed, p)
	if err != nil {
		return err
	}
	res.ImagesTimestepsPerS = float64(j.Data.Len()*T) / time.Since(simStart).Seconds()
	res.Timesteps, res.AccuracyByTimestep, res.Accuracy = T, curve, curve[len(curve)-1].Accuracy
	for l, ls := range r.Layers[:len(r.Layers)-1] {
		res.SpikeRates = append(res.SpikeRates, LayerRate{Layer: ls.Name, Rate: r.SpikeRate(l), Spikes: ls.Spikes, Neurons: ls.Neurons, InputRate: r.InputRate(l),
			Events: ls.EventChunks, Dense: ls.DenseChunks})
	}
	hits := snn.Hits(r, j.Data.Labels)
	res.Hits = hits
	if err := compareANN(ctx, j, res, hits, batch); err != nil {
		return err
	}
	if err := compareBaseline(ctx, j, res, hits, batch, p); err != nil {
		return err
	}
	if j.Settings.Candidates {
		sel := j.Model.Card.SNN.Calibration.Selection
		if res.Candidates, err = scoreCandidates(ctx, j, net.Config, sel, rs, p); err != nil {
			return err
		}
	}
	return nil
}

// semantics returns net with the settings' reset and initial membrane,
// or net itself when neither is set.
func (s EvalSettings) semantics(net *snn.Network) (*snn.Network, error) {
	if s.Reset == nil && s.InitMembrane == nil {
		return net, nil
	}
	cfg := net.Config
	if s.Reset != nil {
		cfg.Reset = *s.Reset
	}
	if s.InitMembrane != nil {
		cfg.InitMembrane = *s.InitMembrane
	}
	if cfg.Signed && cfg.Reset != snn.ResetSubtract {
		return nil, setting.Errorf("reset", cfg.Reset, "the network's signed neurons need reset subtract")
	}
	if cfg.Burst > 1 && cfg.Reset != snn.ResetSubtract {
		return nil, setting.Errorf("reset", cfg.Reset, "the network's burst neurons need reset subtract")
	}
	if err := cfg.Validate(len(cfg.Thresholds)); err != nil {
		return nil, setting.Errorf("init_membrane", cfg.InitMembrane, "%v", err)
	}
	return snn.New(net.Model, cfg)
}

// compareANN scores the ANN the SNN is compared with, when there is one,
// and compares it with the SNN's hits at its last readout.
func compareANN(ctx context.Context, j EvalJob, res *EvalResult, hits []bool, batch int) error {
	ann := j.ANN
	if ann == nil && j.FindANN {
		if j.Model.Card.Provenance.Parent == nil {
			res.ANNNote = "the card names no parent ANN"
			return nil
		}
		path, err := j.Model.AncestorANN()
		if err != nil {
			res.ANNNote = fmt.Sprintf("the parent ANN %v", err)
			return nil
		}
		if ann, err = LoadModel(path, RoleANN, modelfile.KindANN); err != nil {
			return fmt.Errorf("the SNN's parent: %w", err)
		}
	}
	if ann == nil {
		return nil
	}
	if !SameShape(ann.Net.Config, j.Model.Card.Model) {
		return inputErr(RoleANN, ann.Path, mismatch("is a different network (%s) from the SNN's (%s)", ann.Net.Config.Name, j.Model.Card.Model.Name))
	}
	annHits, err := train.Hits(ctx, ann.Net, j.Data, ann.Card.Normalization, batch)
	if err != nil {
		return err
	}
	if res.AgainstANN, err = paired(ann.Path, hits, annHits); err != nil {
		return err
	}
	acc := res.AgainstANN.Accuracy
	res.ANN, res.ANNAccuracy = ann.Path, &acc
	res.SmallestTWithin1pp = snn.SmallestWithin(res.AccuracyByTimestep, acc, 0.01)
	return nil
}

// compareBaseline scores the job's baseline, when there is one, on the same
// images and compares it with the model's hits.
func compareBaseline(ctx context.Context, j EvalJob, res *EvalResult, hits []bool, batch int, p progress.Func) error {
	b := j.Baseline
	if b == nil {
		return nil
	}
	if _, err := checkData(j.Data, RoleBaseline, b, p); err != nil {
		return err
	}
	var other []bool
	if !b.IsSNN() {
		var err error
		if other, err = train.Hits(ctx, b.Net, j.Data, b.Card.Normalization, batch); err != nil {
			return err
		}
	} else {
		net, err := b.Spiking(j.Settings.Timesteps)
		if err != nil {
			return err
		}
		r, _, err := simulate(ctx, net, j.Data, b.Card.Normalization, snn.Options{Readouts: []int{net.Config.Timesteps}}, j.Settings.Seed, p)
		if err != nil {
			return err
		}
		other = snn.Hits(r, j.Data.Labels)
	}
	var err error
	res.AgainstBaseline, err = paired(b.Path, hits, other)
	return err
}

// fraction returns the share of true values in hits.
func fraction(hits []bool) float64 {
	n := 0
	for _, h := range hits {
		if h {
			n++
		}
	}
	return float64(n) / float64(len(hits))
}

// scoreCandidates simulates every scored candidate of sel with its own
// thresholds and settings (the rest of cfg unchanged, without per-channel
// initial membranes) on the data.
func scoreCandidates(ctx context.Context, j EvalJob, cfg snn.Config, sel *convert.Selection, rs []int, p progress.Func) ([]CandidateEval, error) {
	var out []CandidateEval
	var base *snn.Network
	for i, c := range sel.Candidates {
		if c.Error != "" || len(c.Thresholds) == 0 {
			continue
		}
		cc := cfg
		// Candidates were scored before any potential correction, and a
		// correction fits the chosen candidate's thresholds only.
		cc.Encoder, cc.InitMembrane, cc.Thresholds, cc.ChannelInit = c.Encoder, c.InitMembrane, c.Thresholds, nil
		// One network for all candidates (WithConfig), so that they share
		// its weights and simulation buffers.
		var net *snn.Network
		var err error
		if base == nil {
			net, err = snn.New(j.Model.Net, cc)
			base = net
		} else {
			net, err = base.WithConfig(cc)
		}
		if err != nil {
			return nil, fmt.Errorf("candidate %d: %w", i+1, err)
		}
		_, curve, err := Simulate(ctx, net, j.Data, j.Model.Card.Normalization, rs, j.Settings.Seed, p)
		if err != nil {
			return nil, err
		}
		e := CandidateEval{CandidateScore: c, Chosen: i == sel.Chosen, AccuracyByTimestep: curve}
		e.Thresholds = nil
		out = append(out, e)
		if err := p.Report(progress.Report{Label: "candidates", Done: len(out), Total: len(sel.Candidates), Detail: e}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Simulate runs the SNN on the whole set, its pixels normalised by norm
// (the model card's) in float64 as training normalises, and returns the
// accuracy at every readout. Every simulation on real data draws its
// Poisson input from the same stream of seed.
func Simulate(ctx context.Context, net *snn.Network, s *imageset.Set, norm imageset.Normalization, readouts []int, seed uint64, p progress.Func) (*snn.Result, []snn.TimestepAccuracy, error) {
	return simulate(ctx, net, s, norm, snn.Options{Readouts: readouts}, seed, p)
}

// simulate is Simulate with the run's options (its Progress is set here).
func simulate(ctx context.Context, net *snn.Network, s *imageset.Set, norm imageset.Normalization, o snn.Options, seed uint64, p progress.Func) (*snn.Result, []snn.TimestepAccuracy, error) {
	x, err := dataTensor(s, norm)
	if err != nil {
		return nil, nil, err
	}
	o.Progress = p.WithStage(fmt.Sprintf("simulating T=%d", net.Config.Timesteps))
	r, err := net.Run(ctx, x, rand.New(rand.NewPCG(seed, evalStream)), o)
	if err != nil {
		return nil, nil, err
	}
	return r, snn.AccuracyCurve(r, s.Labels), nil
}

// dataTensor returns the whole set as an NCHW tensor normalised by norm, in
// float64 as training normalises.
func dataTensor(s *imageset.Set, norm imageset.Normalization) (*tensor.Tensor, error) {
	if err := norm.Validate(); err != nil {
		return nil, err
	}
	return s.Tensor(nil, norm.Float64Table()), nil
}
