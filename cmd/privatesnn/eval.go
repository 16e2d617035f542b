package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/stage"
)

// readouts is a --readouts list: "auto" (nil, the library's spacing) or
// steps.
type readouts []int

func (r *readouts) String() string {
	if r == nil || *r == nil {
		return "auto"
	}
	parts := make([]string, len(*r))
	for i, t := range *r {
		parts[i] = strconv.Itoa(t)
	}
	return strings.Join(parts, ",")
}

func (r *readouts) Set(s string) error {
	if s == "auto" {
		*r = nil
		return nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		t, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || t < 1 || t > snn.MaxTimesteps {
			return fmt.Errorf("entry %q is not a time step in [1, %d]", f, snn.MaxTimesteps)
		}
		out = append(out, t)
	}
	*r = out
	return nil
}

// simFlags registers the simulation flags shared by eval and energy.
func simFlags(fs *flag.FlagSet, b *bounds, timesteps *int, rs *[]int, seed *uint64, every int) {
	b.Int(fs, timesteps, "timesteps", 0, 0, snn.MaxTimesteps, "SNN: simulate this many steps (0: the model's T)")
	fs.Var((*readouts)(rs), "readouts", fmt.Sprintf("SNN: steps at which to read the accuracy (comma list, or auto: every T/%d)", every))
	fs.Uint64Var(seed, "seed", 0, "SNN: seed of the Poisson input spikes")
}

// modelAndData loads --model (of the kind, "" for either) and the split of
// its data set.
func modelAndData(path string, kind modelfile.Kind, spec data.Spec, split string) (*stage.Model, *data.Set, error) {
	if path == "" {
		return nil, nil, fmt.Errorf("%w: --model is required", errUsage)
	}
	m, err := loadModel(path, stage.RoleModel, kind)
	if err != nil {
		return nil, nil, err
	}
	s, err := loadData(spec, split, m)
	return m, s, err
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		job        stage.EvalJob
		b          bounds
		spec       data.Spec
		model, ann string
		split      = data.Split(data.Test)
		out        output
		st         = &job.Settings
	)
	fs := newFlagSet("eval")
	dataFlags(fs, &b, &spec, "")
	fs.StringVar(&model, "model", "", "model directory or file, ANN or SNN (required)")
	fs.TextVar(&split, "split", split, "split to evaluate: test or train")
	b.Int(fs, &st.Batch, "batch", 256, 1, 1<<16, "batch size (ANN)")
	simFlags(fs, &b, &st.Timesteps, &st.Readouts, &st.Seed, 20)
	b.Int(fs, &st.Points, "points", 0, 0, snn.MaxTimesteps, "SNN, with --readouts auto: read the accuracy at this many steps spread over 1..T (0: every T/20)")
	fs.StringVar(&ann, "ann", "", "SNN: the ANN to compare with (default: the SNN's parent, if it is found)")
	fs.BoolVar(&st.Candidates, "candidates", false, "SNN converted with --recipe select: also score every candidate of its data-free selection on this data (how good the choice was)")
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
	if job.Model, job.Data, err = modelAndData(model, "", spec, string(split)); err != nil {
		return err
	}
	if job.FindANN = ann == ""; !job.FindANN {
		if job.ANN, err = loadModel(ann, stage.RoleANN, modelfile.KindANN); err != nil {
			return err
		}
	}
	pr := newProgress(stderr, out.quiet)
	res, err := stage.Eval(ctx, job, pr.reporter())
	pr.clear()
	if err != nil {
		return userError(err, nil)
	}
	if res.ANNNote != "" {
		res.ANNNote += "; pass --ann to compare"
		pr.line("note: %s", res.ANNNote)
	}
	if out.json {
		return writeJSON(stdout, struct {
			*stage.EvalResult
			Split string `json:"split"`
		}{res, string(split)})
	}
	printEval(stdout, res)
	return nil
}

func printEval(w io.Writer, res *stage.EvalResult) {
	fmt.Fprintf(w, "accuracy %.2f%% on %s (%d images)\n", 100*res.Accuracy, res.Data, res.Images)
	if res.Kind == modelfile.KindSNN {
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
	if len(res.Candidates) == 0 {
		return
	}
	fmt.Fprintf(w, "candidates of the data-free selection on %s (agreement: on held-out synthetic images at the target T):\n", res.Data)
	fmt.Fprintf(w, "  %-10s %-6s %-8s %10s", "threshold", "init", "encoder", "agreement")
	for _, ta := range res.Candidates[0].AccuracyByTimestep {
		fmt.Fprintf(w, " %8s", fmt.Sprintf("T=%d", ta.T))
	}
	fmt.Fprintln(w)
	for _, c := range res.Candidates {
		fmt.Fprintf(w, "  %-10s %-6g %-8s %9.2f%%", thresholdName(c.Percentile), c.InitMembrane, c.Encoder, 100*c.Agreement)
		for _, ta := range c.AccuracyByTimestep {
			fmt.Fprintf(w, " %7.2f%%", 100*ta.Accuracy)
		}
		if c.Chosen {
			fmt.Fprint(w, "  ← chosen")
		}
		fmt.Fprintln(w)
	}
}
