package main

import (
	"context"
	"flag"
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
		model     string
		timesteps int
		seed      uint64
		jsonOut   bool
		quiet     bool
		threads   int
	)
	fs := flag.NewFlagSet("energy", flag.ContinueOnError)
	d.register(fs, data.Embedded)
	fs.StringVar(&model, "model", "", "spiking model from 'privatesnn convert' (required)")
	fs.IntVar(&timesteps, "timesteps", 0, "simulate this many steps (0: the model's T)")
	fs.Uint64Var(&seed, "seed", 0, "seed of the Poisson input spikes")
	outputFlags(fs, &jsonOut, &quiet, &threads)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if model == "" {
		return fmt.Errorf("%w: --model is required", errUsage)
	}
	if timesteps < 0 || timesteps > snn.MaxTimesteps {
		return fmt.Errorf("%w: --timesteps %d out of range", errUsage, timesteps)
	}
	if err := setThreads(threads); err != nil {
		return err
	}
	net, _, err := modelfile.LoadSNN(model)
	if err != nil {
		return err
	}
	if timesteps > 0 {
		cfg := net.Config
		cfg.Timesteps = timesteps
		if net, err = snn.New(net.Model, cfg); err != nil {
			return err
		}
	}
	s, err := d.load(data.Test)
	if err != nil {
		return err
	}
	r, correct, err := simulate(ctx, net, s, nil, seed, newProgress(stderr, quiet))
	if err != nil {
		return err
	}
	res := energyResult{Model: model, Data: s.Name, Images: s.Len(), Timesteps: net.Config.Timesteps,
		TestAccuracy: float64(correct[len(correct)-1]) / float64(s.Len())}
	for _, c := range []energy.Costs{energy.Horowitz45nm(), energy.Rathi()} {
		res.Reports = append(res.Reports, energy.FromRun(net.Model, r, c))
	}
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
	fmt.Fprintln(w, "\n'step' counts spike rates per time step; 'window' counts all spikes over the T steps (the paper's definition is ambiguous; see SPEC §6.2).")
}
