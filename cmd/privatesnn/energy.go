package main

import (
	"context"
	"fmt"
	"io"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/stage"
)

func runEnergy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		job   stage.EnergyJob
		b     bounds
		spec  data.Spec
		model string
		out   output
	)
	fs := newFlagSet("energy")
	dataFlags(fs, &b, &spec, "")
	fs.StringVar(&model, "model", "", "spiking model from 'privatesnn convert' (required)")
	simFlags(fs, &b, &job.Settings.Timesteps, &job.Settings.Readouts, &job.Settings.Seed, 10)
	out.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	if err := setThreads(out.threads); err != nil {
		return err
	}
	var err error
	if job.Model, job.Data, err = modelAndData(model, modelfile.KindSNN, spec, data.Test); err != nil {
		return err
	}
	pr := newProgress(stderr, out.quiet)
	res, err := stage.Energy(ctx, job, pr.reporter())
	pr.clear()
	if err != nil {
		return userError(err, nil)
	}
	if out.json {
		return writeJSON(stdout, res)
	}
	printEnergy(stdout, res)
	return nil
}

func printEnergy(w io.Writer, res *stage.EnergyResult) {
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
