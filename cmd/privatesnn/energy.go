package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/energy"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/snn"
)

type energyResult struct {
	Model        string          `json:"model"`
	Data         string          `json:"data"`
	Images       int             `json:"images"`
	Timesteps    int             `json:"timesteps"`
	Encoder      snn.Encoder     `json:"encoder"`
	TestAccuracy float64         `json:"test_accuracy"`
	Reports      []energy.Report `json:"reports"`
	VersusT      []energyAtT     `json:"versus_t"`
}

// energyAtT is the accuracy and energy of the run read out after T steps.
type energyAtT struct {
	T        int             `json:"t"`
	Accuracy float64         `json:"accuracy"`
	Reports  []energy.Report `json:"reports"`
}

// energyOptions are the energy command's settings.
type energyOptions struct {
	d               dataFlags
	b               bounds
	model, readouts string
	timesteps       int
	seed            uint64
	jsonOut, quiet  bool
	threads         int
	norm            imageset.Normalization // the model card's, set by load
}

func (e *energyOptions) register(fs *flag.FlagSet) {
	e.d.register(fs, &e.b, "")
	fs.StringVar(&e.model, "model", "", "spiking model from 'privatesnn convert' (required)")
	e.b.Int(fs, &e.timesteps, "timesteps", 0, 0, snn.MaxTimesteps, "simulate this many steps (0: the model's T)")
	fs.StringVar(&e.readouts, "readouts", "auto", "steps at which to report accuracy and energy against T (comma list, or auto: every T/10)")
	fs.Uint64Var(&e.seed, "seed", 0, "seed of the Poisson input spikes")
	outputFlags(fs, &e.jsonOut, &e.quiet, &e.threads)
}

// load validates the flags and loads the network, its readouts and the data.
func (e *energyOptions) load() (*snn.Network, []int, *data.Set, error) {
	if err := e.b.check(); err != nil {
		return nil, nil, nil, err
	}
	if e.model == "" {
		return nil, nil, nil, fmt.Errorf("%w: --model is required", errUsage)
	}
	if err := e.d.validate(); err != nil {
		return nil, nil, nil, err
	}
	if err := setThreads(e.threads); err != nil {
		return nil, nil, nil, err
	}
	m, card, err := loadModel(e.model, "model", modelfile.KindSNN)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := e.d.defaultData(card, e.model); err != nil {
		return nil, nil, nil, err
	}
	cfg := card.SNN.Config
	if e.timesteps > 0 {
		cfg.Timesteps = e.timesteps
	}
	net, err := snn.New(m, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	if e.readouts == "auto" {
		e.readouts = autoReadouts(cfg.Timesteps, 10)
	}
	rs, err := parseReadouts(e.readouts, cfg.Timesteps)
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := e.d.load(data.Test)
	if err != nil {
		return nil, nil, nil, err
	}
	e.norm = card.Normalization
	return net, rs, s, checkData(s, m, card, e.model)
}

func runEnergy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var e energyOptions
	fs := newFlagSet("energy")
	e.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	net, rs, s, err := e.load()
	if err != nil {
		return err
	}
	pr := newProgress(stderr, e.quiet)
	r, curve, err := simulate(ctx, net, s, e.norm, rs, e.seed, pr)
	if err != nil {
		return err
	}
	res := energyResult{Model: e.model, Data: s.Name, Images: s.Len(), Timesteps: net.Config.Timesteps, Encoder: net.Config.Encoder,
		TestAccuracy: curve[len(curve)-1].Accuracy}
	costs := []energy.Costs{energy.Horowitz45nm(), energy.Rathi()}
	for _, c := range costs {
		res.Reports = append(res.Reports, energy.FromRun(net.Model, r, c))
	}
	for i, t := range r.Readouts {
		at := energyAtT{T: t, Accuracy: curve[i].Accuracy}
		for _, c := range costs {
			at.Reports = append(at.Reports, energy.FromRun(net.Model, r.UpTo(i), c))
		}
		res.VersusT = append(res.VersusT, at)
	}
	pr.clear()
	if e.jsonOut {
		return writeJSON(stdout, res)
	}
	printEnergy(stdout, res)
	return nil
}

func printEnergy(w io.Writer, res energyResult) {
	fmt.Fprintf(w, "%s at T=%d, %s input, on %s (%d images): accuracy %.2f%%\n\n", res.Model, res.Timesteps, res.Encoder, res.Data, res.Images, 100*res.TestAccuracy)
	rep := res.Reports[0]
	fmt.Fprintf(w, "%-22s %12s %10s %14s %14s\n", "layer", "MACs/image", "in rate", "ACs/step rule", "ops/step sim")
	for _, l := range rep.Layers {
		rate := fmt.Sprintf("%.4f", l.InputRate)
		if l.Analog {
			rate = "analog"
		}
		fmt.Fprintf(w, "%-22s %12d %10s %14.0f %14.0f\n", l.Name, l.MACs, rate, l.ACsStep, l.MeasuredStep)
	}
	fmt.Fprintf(w, "\n%-10s %10s %13s %13s %13s %9s %9s %9s\n", "costs", "ANN µJ", "SNN µJ step", "SNN µJ window", "SNN µJ sim", "ANN/SNN", "ANN/SNN", "ANN/SNN")
	fmt.Fprintf(w, "%-10s %10s %13s %13s %13s %9s %9s %9s\n", "", "", "(rule)", "(rule)", "(window)", "step", "window", "sim")
	for _, r := range res.Reports {
		fmt.Fprintf(w, "%-10s %10.3f %13.4f %13.3f %13.3f %8.1f× %8.2f× %8.2f×\n", r.Costs.Name, r.ANNpJ/1e6, r.SNNStepPJ/1e6, r.SNNWinPJ/1e6,
			r.SNNMeasuredWinPJ/1e6, r.RatioStep, r.RatioWin, r.RatioMeasuredWin)
	}
	if len(res.VersusT) > 1 {
		fmt.Fprintf(w, "\nagainst T (%s costs, window):\n%6s %9s %12s %12s %9s %9s\n", res.Reports[0].Costs.Name, "T", "accuracy", "SNN µJ rule", "SNN µJ sim", "ANN/SNN", "ANN/SNN")
		fmt.Fprintf(w, "%6s %9s %12s %12s %9s %9s\n", "", "", "", "", "rule", "sim")
		for _, e := range res.VersusT {
			r := e.Reports[0]
			fmt.Fprintf(w, "%6d %8.2f%% %12.3f %12.3f %8.2f× %8.2f×\n", e.T, 100*e.Accuracy, r.SNNWinPJ/1e6, r.SNNMeasuredWinPJ/1e6, r.RatioWin, r.RatioMeasuredWin)
		}
	}
	fmt.Fprint(w, `
Energy counts operations only: ANN = MACs × E_MAC; SNN = accumulates × E_AC, plus MACs × E_MAC
for a layer fed the analog image (direct input; counted at every step).
  45nm-fp32: E_MAC 4.6 pJ, E_AC 0.9 pJ (32-bit floating point in 45 nm CMOS, Horowitz 2014).
  3.1/0.1:   E_MAC 3.1 pJ, E_AC 0.1 pJ (the integer costs used by earlier SNN energy scripts).
'rule' counts MACs × input spike rate; 'step' is one time step's accumulates, 'window' all T steps'
(the PrivateSNN paper does not say which it used). 'sim' counts the accumulates the event-driven
simulator performed: after a pooling layer an input is non-zero when any spike it averages is, so
'sim' exceeds the rule there, which takes the spike rate before pooling.
`)
}

// autoReadouts returns about n evenly spaced steps up to T, as a list.
func autoReadouts(T, n int) string {
	step := max(1, T/n)
	var parts []string
	for t := step; t <= T; t += step {
		parts = append(parts, strconv.Itoa(t))
	}
	return strings.Join(parts, ",")
}
