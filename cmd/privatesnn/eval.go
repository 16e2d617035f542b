package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/train"
	"github.com/privatesnn/privatesnn/vgg"
)

type layerRate struct {
	Layer     string  `json:"layer"`
	Rate      float64 `json:"rate"`       // spikes per neuron per step
	InputRate float64 `json:"input_rate"` // non-zero inputs per input value per step
	Events    int     `json:"event_driven_chunks"`
	Dense     int     `json:"dense_chunks"`
}

type evalResult struct {
	Kind     modelfile.Kind `json:"kind"`
	Accuracy float64        `json:"accuracy"`
	Split    string         `json:"split"`
	Images   int            `json:"images"`
	Data     string         `json:"data"`
	Model    string         `json:"model"`
	Seconds  float64        `json:"seconds"`
	// SNN only:
	Timesteps           int                    `json:"timesteps,omitempty"`
	AccuracyByTimestep  []snn.TimestepAccuracy `json:"accuracy_by_timestep,omitempty"`
	SpikeRates          []layerRate            `json:"spike_rates,omitempty"`
	ANN                 string                 `json:"ann,omitempty"`
	ANNAccuracy         *float64               `json:"ann_accuracy,omitempty"`
	ANNNote             string                 `json:"ann_note,omitempty"`
	SmallestTWithin1pp  *int                   `json:"smallest_timestep_within_1pp_of_ann,omitempty"`
	Candidates          []candidateEval        `json:"candidates,omitempty"`
	ImagesTimestepsPerS float64                `json:"images_timesteps_per_second,omitempty"`
}

// evalOptions are the eval command's settings.
type evalOptions struct {
	d                dataFlags
	b                bounds
	model, ann       string
	split            data.Split
	readouts         string
	batch, timesteps int
	seed             uint64
	candidates       bool
	jsonOut, quiet   bool
	threads          int
}

func (e *evalOptions) register(fs *flag.FlagSet) {
	e.d.register(fs, &e.b, "")
	fs.StringVar(&e.model, "model", "", "model directory or file, ANN or SNN (required)")
	e.split = data.Test
	fs.TextVar(&e.split, "split", e.split, "split to evaluate: test or train")
	e.b.Int(fs, &e.batch, "batch", 256, 1, 1<<16, "batch size (ANN)")
	e.b.Int(fs, &e.timesteps, "timesteps", 0, 0, snn.MaxTimesteps, "SNN: simulate this many steps (0: the model's T)")
	fs.StringVar(&e.readouts, "readouts", "auto", "SNN: steps at which to read the accuracy (comma list, or auto: every T/20)")
	fs.StringVar(&e.ann, "ann", "", "SNN: the ANN to compare with (default: the SNN's parent, if it is found)")
	fs.Uint64Var(&e.seed, "seed", 0, "SNN: seed of the Poisson input spikes")
	fs.BoolVar(&e.candidates, "candidates", false, "SNN converted with --recipe select: also score every candidate of its data-free selection on this data (how good the choice was)")
	outputFlags(fs, &e.jsonOut, &e.quiet, &e.threads)
}

func (e *evalOptions) validate() error {
	if err := e.b.check(); err != nil {
		return err
	}
	if e.model == "" {
		return fmt.Errorf("%w: --model is required", errUsage)
	}
	if err := e.d.validate(); err != nil {
		return err
	}
	return setThreads(e.threads)
}

// evalInputs are the loaded model, its SNN and comparison ANN, and data.
type evalInputs struct {
	m     *vgg.Model
	card  *modelfile.Card
	net   *snn.Network
	rs    []int
	am    *vgg.Model
	acard *modelfile.Card
	s     *data.Set
}

// load checks everything before any work: the SNN's settings, the ANN to
// compare with, and the data against both models.
func (e *evalOptions) load(pr *display) (*evalInputs, error) {
	m, card, err := loadModel(e.model, "model", "")
	if err != nil {
		return nil, err
	}
	if err := e.d.defaultData(card, e.model); err != nil {
		return nil, err
	}
	in := &evalInputs{m: m, card: card}
	if card.Kind == modelfile.KindSNN {
		cfg := card.SNN.Config
		if e.timesteps > 0 {
			cfg.Timesteps = e.timesteps
		}
		if in.rs, err = parseReadouts(e.readouts, cfg.Timesteps); err != nil {
			return nil, err
		}
		if in.net, err = snn.New(m, cfg); err != nil {
			return nil, err
		}
		if in.am, in.acard, e.ann, err = comparisonANN(e.ann, e.model, card, pr); err != nil {
			return nil, err
		}
	} else if e.ann != "" {
		return nil, fmt.Errorf("%w: --ann compares a spiking model with its ANN; --model %s is itself an ANN", errUsage, e.model)
	}
	if e.candidates && (card.SNN == nil || card.SNN.Calibration.Selection == nil) {
		return nil, fmt.Errorf("%w: --candidates: %s holds no data-free selection (convert it with --recipe select)", errUsage, e.model)
	}
	if in.s, err = e.d.load(string(e.split)); err != nil {
		return nil, err
	}
	return in, checkData(in.s, m, card, e.model)
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var e evalOptions
	fs := newFlagSet("eval")
	e.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := e.validate(); err != nil {
		return err
	}
	start := time.Now()
	pr := newProgress(stderr, e.quiet)
	in, err := e.load(pr)
	if err != nil {
		return err
	}
	s := in.s
	res := evalResult{Kind: in.card.Kind, Split: string(e.split), Images: s.Len(), Data: s.Name, Model: e.model}
	if in.net == nil {
		res.Accuracy, err = train.Evaluate(ctx, in.m, s, in.card.Normalization, e.batch)
	} else {
		err = e.evalSNN(ctx, in, &res, pr)
	}
	if err != nil {
		return err
	}
	res.Seconds = time.Since(start).Seconds()
	pr.clear()
	if e.jsonOut {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "accuracy %.2f%% on %s (%d images)\n", 100*res.Accuracy, s.Name, s.Len())
	if in.card.Kind == modelfile.KindSNN {
		printSNNEval(stdout, res)
	}
	if len(res.Candidates) > 0 {
		printCandidates(stdout, res)
	}
	return nil
}

// evalSNN simulates the SNN: accuracy by time step, spike rates, the
// comparison with its ANN, and optionally the selection's candidates.
func (e *evalOptions) evalSNN(ctx context.Context, in *evalInputs, res *evalResult, pr *display) error {
	s, net := in.s, in.net
	simStart := time.Now()
	r, curve, err := simulate(ctx, net, s, in.card.Normalization, in.rs, e.seed, pr)
	if err != nil {
		return err
	}
	T := net.Config.Timesteps
	res.ImagesTimestepsPerS = float64(s.Len()*T) / time.Since(simStart).Seconds()
	res.Timesteps = T
	res.AccuracyByTimestep = curve
	res.Accuracy = curve[len(curve)-1].Accuracy
	for l, ls := range r.Layers[:len(r.Layers)-1] {
		res.SpikeRates = append(res.SpikeRates, layerRate{Layer: ls.Name, Rate: r.SpikeRate(l), InputRate: r.InputRate(l),
			Events: ls.EventChunks, Dense: ls.DenseChunks})
	}
	if in.am != nil {
		acc, err := train.Evaluate(ctx, in.am, s, in.acard.Normalization, e.batch)
		if err != nil {
			return err
		}
		res.ANN, res.ANNAccuracy = e.ann, &acc
		res.SmallestTWithin1pp = snn.SmallestWithin(res.AccuracyByTimestep, acc, 0.01)
	} else {
		res.ANNNote = e.ann
	}
	if e.candidates {
		if res.Candidates, err = scoreCandidates(ctx, in.m, net.Config, in.card.SNN.Calibration.Selection, s, in.card.Normalization, in.rs, e.seed, pr); err != nil {
			return err
		}
	}
	return nil
}

// candidateEval is one candidate of a data-free selection scored on data.
type candidateEval struct {
	snn.CandidateScore
	Chosen             bool                   `json:"chosen"`
	AccuracyByTimestep []snn.TimestepAccuracy `json:"accuracy_by_timestep"`
}

// scoreCandidates simulates every scored candidate of sel with its own
// thresholds and settings (the rest of cfg unchanged) on s.
func scoreCandidates(ctx context.Context, m *vgg.Model, cfg snn.Config, sel *snn.Selection, s *data.Set, norm imageset.Normalization, rs []int, seed uint64, pr *display) ([]candidateEval, error) {
	var out []candidateEval
	for i, c := range sel.Candidates {
		if c.Error != "" || len(c.Thresholds) == 0 {
			continue
		}
		cc := cfg
		cc.Encoder, cc.InitMembrane, cc.Thresholds = c.Encoder, c.InitMembrane, c.Thresholds
		net, err := snn.New(m, cc)
		if err != nil {
			return nil, fmt.Errorf("candidate %d: %w", i+1, err)
		}
		_, curve, err := simulate(ctx, net, s, norm, rs, seed, pr)
		if err != nil {
			return nil, err
		}
		e := candidateEval{CandidateScore: c, Chosen: i == sel.Chosen, AccuracyByTimestep: curve}
		e.Thresholds = nil
		pr.line("candidate %d/%d %s: %.2f%%", i+1, len(sel.Candidates), candidateText(c.Candidate), 100*e.AccuracyByTimestep[len(e.AccuracyByTimestep)-1].Accuracy)
		out = append(out, e)
	}
	return out, nil
}

func printCandidates(w io.Writer, res evalResult) {
	fmt.Fprintf(w, "candidates of the data-free selection on %s (agreement: on held-out synthetic images at the target T):\n", res.Data)
	fmt.Fprintf(w, "  %-10s %-6s %-8s %10s", "threshold", "init", "encoder", "agreement")
	for _, ta := range res.Candidates[0].AccuracyByTimestep {
		fmt.Fprintf(w, " %8s", fmt.Sprintf("T=%d", ta.T))
	}
	fmt.Fprintln(w)
	for _, c := range res.Candidates {
		th := thresholdName(c.Percentile)
		fmt.Fprintf(w, "  %-10s %-6g %-8s %9.2f%%", th, c.InitMembrane, c.Encoder, 100*c.Agreement)
		for _, ta := range c.AccuracyByTimestep {
			fmt.Fprintf(w, " %7.2f%%", 100*ta.Accuracy)
		}
		if c.Chosen {
			fmt.Fprint(w, "  ← chosen")
		}
		fmt.Fprintln(w)
	}
}

// comparisonANN loads the ANN an SNN is compared with: --ann when given
// (an error if it is not a fitting ANN), else the card's parent. A parent
// that cannot be found or has changed is reported on stderr and in the
// returned note (in place of the ANN's path), and the comparison is
// skipped.
func comparisonANN(ann, model string, card *modelfile.Card, pr *display) (*vgg.Model, *modelfile.Card, string, error) {
	if ann != "" {
		am, acard, err := loadModel(ann, "ann", modelfile.KindANN)
		if err != nil {
			return nil, nil, "", err
		}
		if !sameShape(am.Config, card.Model) {
			return nil, nil, "", fmt.Errorf("%w: --ann %s is a different network (%s) from the SNN's (%s)", errUsage, ann, am.Config.Name, card.Model.Name)
		}
		return am, acard, ann, nil
	}
	if card.Provenance.Parent == nil {
		return nil, nil, "the card names no parent ANN; pass --ann to compare", nil
	}
	// An SNN trained by encrypt names the converted SNN as its parent; the
	// ANN is further up.
	p, err := ancestorANN(model, card)
	if err != nil {
		note := fmt.Sprintf("the parent ANN %v; pass --ann to compare", err)
		pr.line("note: %s", note)
		return nil, nil, note, nil
	}
	am, acard, err := loadModel(p, "ann", modelfile.KindANN)
	if err != nil {
		return nil, nil, "", fmt.Errorf("the SNN's parent: %w", err)
	}
	return am, acard, p, nil
}

// sameShape reports whether two architectures have the same layers and
// input and output shapes.
func sameShape(a, b vgg.Config) bool {
	return slices.Equal(a.Features, b.Features) && slices.Equal(a.Hidden, b.Hidden) && a.Classes == b.Classes &&
		a.InChannels == b.InChannels && a.InHeight == b.InHeight && a.InWidth == b.InWidth
}

func printSNNEval(w io.Writer, res evalResult) {
	fmt.Fprintf(w, "accuracy by time step:")
	for _, ta := range res.AccuracyByTimestep {
		fmt.Fprintf(w, " T=%d %.2f%%", ta.T, 100*ta.Accuracy)
	}
	fmt.Fprintln(w)
	if res.ANNAccuracy != nil {
		fmt.Fprintf(w, "ANN accuracy %.2f%% (%s)", 100**res.ANNAccuracy, res.ANN)
		if res.SmallestTWithin1pp != nil {
			fmt.Fprintf(w, "; smallest T within 1 pp: %d", *res.SmallestTWithin1pp)
		}
		fmt.Fprintln(w)
	} else if res.ANNNote != "" {
		fmt.Fprintf(w, "no ANN comparison: %s\n", res.ANNNote)
	}
	fmt.Fprintln(w, "spike rates (spikes per neuron per time step; input: non-zero inputs per input value per step):")
	for _, l := range res.SpikeRates {
		fmt.Fprintf(w, "  %-22s spike rate %.4f  input rate %.4f\n", l.Layer, l.Rate, l.InputRate)
	}
}

func parseReadouts(s string, T int) ([]int, error) {
	if s == "auto" {
		step := max(1, T/20)
		var rs []int
		for t := step; t <= T; t += step {
			rs = append(rs, t)
		}
		return rs, nil
	}
	var rs []int
	for _, f := range strings.Split(s, ",") {
		t, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || t < 1 || t > T {
			return nil, fmt.Errorf("%w: --readouts entry %q is not a step in [1, %d]", errUsage, f, T)
		}
		rs = append(rs, t)
	}
	return rs, nil
}

// setTensor returns the whole set as an NCHW tensor normalised by norm (the
// model card's), in float64 as training normalises.
func setTensor(s *data.Set, norm imageset.Normalization) (*tensor.Tensor, error) {
	if err := norm.Validate(); err != nil {
		return nil, err
	}
	return s.Tensor(nil, norm.Float64Table()), nil
}

// simulate runs the SNN on the whole set and returns the accuracy at every
// readout.
func simulate(ctx context.Context, net *snn.Network, s *data.Set, norm imageset.Normalization, readouts []int, seed uint64, pr *display) (*snn.Result, []snn.TimestepAccuracy, error) {
	x, err := setTensor(s, norm)
	if err != nil {
		return nil, nil, err
	}
	r, err := net.Run(ctx, x, rand.New(rand.NewPCG(seed, 0x5e1)), snn.Options{Readouts: readouts,
		Progress: pr.reporter().WithStage(fmt.Sprintf("simulating T=%d", net.Config.Timesteps))})
	if err != nil {
		return nil, nil, err
	}
	return r, snn.AccuracyCurve(r, s.Labels), nil
}
