package main

import (
	"context"
	"fmt"
	"io"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/energy"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/snn"
)

type energyResult struct {
	Model        string          `json:"model"`
	Data         string          `json:"data"`
	Images       int             `json:"images"`
	Timesteps    int             `json:"timesteps"`
	TestAccuracy float64         `json:"test_accuracy"`
	Reports      []energy.Report `json:"reports"`
}

func runEnergy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		d         dataFlags
		b         bounds
		model     string
		timesteps int
		seed      uint64
		jsonOut   bool
		quiet     bool
		threads   int
	)
	fs := newFlagSet("energy")
	d.register(fs, &b, "")
	fs.StringVar(&model, "model", "", "spiking model from 'privatesnn convert' (required)")
	b.Int(fs, &timesteps, "timesteps", 0, 0, snn.MaxTimesteps, "simulate this many steps (0: the model's T)")
	fs.Uint64Var(&seed, "seed", 0, "seed of the Poisson input spikes")
	outputFlags(fs, &jsonOut, &quiet, &threads)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	if model == "" {
		return fmt.Errorf("%w: --model is required", errUsage)
	}
	if err := d.validate(); err != nil {
		return err
	}
	if err := setThreads(threads); err != nil {
		return err
	}
	m, card, err := loadModel(model, "model", modelfile.KindSNN)
	if err != nil {
		return err
	}
	if err := d.defaultData(card, model); err != nil {
		return err
	}
	cfg := card.SNN.Config
	if timesteps > 0 {
		cfg.Timesteps = timesteps
	}
	net, err := snn.New(m, cfg)
	if err != nil {
		return err
	}
	s, err := d.load(data.Test)
	if err != nil {
		return err
	}
	if err := checkData(s, m, card, model); err != nil {
		return err
	}
	pr := newProgress(stderr, quiet)
	r, correct, err := simulate(ctx, net, s, nil, seed, pr)
	if err != nil {
		return err
	}
	res := energyResult{Model: model, Data: s.Name, Images: s.Len(), Timesteps: net.Config.Timesteps,
		TestAccuracy: float64(correct[len(correct)-1]) / float64(s.Len())}
	for _, c := range []energy.Costs{energy.Horowitz45nm(), energy.Rathi()} {
		res.Reports = append(res.Reports, energy.FromRun(net.Model, r, c))
	}
	pr.clear()
	if jsonOut {
		return writeJSON(stdout, res)
	}
	printEnergy(stdout, res)
	return nil
}

func printEnergy(w io.Writer, res energyResult) {
	fmt.Fprintf(w, "%s at T=%d on %s (%d images): accuracy %.2f%%\n\n", res.Model, res.Timesteps, res.Data, res.Images, 100*res.TestAccuracy)
	rep := res.Reports[0]
	fmt.Fprintf(w, "%-22s %14s %10s %16s %16s\n", "layer", "MACs/image", "in rate", "ACs (rate/step)", "ACs (window)")
	for _, l := range rep.Layers {
		fmt.Fprintf(w, "%-22s %14d %10.4f %16.0f %16.0f\n", l.Name, l.MACs, l.InputRate, l.ACsStep, l.ACsWindow)
	}
	fmt.Fprintf(w, "\n%-12s %12s %16s %16s %12s %12s\n", "costs", "ANN µJ", "SNN µJ (step)", "SNN µJ (window)", "ANN/SNN", "ANN/SNN")
	fmt.Fprintf(w, "%-12s %12s %16s %16s %12s %12s\n", "", "", "", "", "(step)", "(window)")
	for _, r := range res.Reports {
		fmt.Fprintf(w, "%-12s %12.3f %16.4f %16.3f %11.1f× %11.2f×\n", r.Costs.Name, r.ANNpJ/1e6, r.SNNStepPJ/1e6, r.SNNWinPJ/1e6, r.RatioStep, r.RatioWin)
	}
	fmt.Fprint(w, `
Energy counts operations only: ANN = MACs × E_MAC; SNN = MACs × input spike rate × E_AC.
  45nm-fp32: E_MAC 4.6 pJ, E_AC 0.9 pJ (32-bit floating point in 45 nm CMOS, Horowitz 2014).
  3.1/0.1:   E_MAC 3.1 pJ, E_AC 0.1 pJ (the integer costs used by earlier SNN energy scripts).
'step' takes the input spike rate per time step (one step's accumulates); 'window' counts all
spikes of the T steps, i.e. T times more. The PrivateSNN paper does not say which it used.
`)
}
