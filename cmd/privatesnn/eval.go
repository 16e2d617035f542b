package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/stage"
)

// simFlags registers the simulation flags shared by eval and energy.
func simFlags(fs *flag.FlagSet, b *bounds, timesteps *int, rs *[]int, seed *uint64, every int) {
	b.Int(fs, timesteps, "timesteps", 0, 0, snn.MaxTimesteps, "SNN: simulate this many steps (0: the model's T)")
	fs.Var((*stage.Readouts)(rs), "readouts", fmt.Sprintf("SNN: steps at which to read the accuracy (comma list, or auto: every T/%d)", every))
	fs.Uint64Var(seed, "seed", 0, "SNN: seed of the Poisson input spikes")
}

// modelAndData loads --model (of the kind, "" for either) and the split of
// its data set.
func modelAndData(path string, kind modelfile.Kind, spec data.Spec, split string) (*stage.Model, *data.Set, error) {
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
		baseline   string
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
	fs.StringVar(&baseline, "baseline", "", "a model (ANN or SNN) to compare with image by image on the same data: the accuracy difference with its paired 95 % interval (an SNN baseline runs with the same --timesteps and --seed)")
	optText(fs, &st.Reset, "reset", "SNN: simulate with this reset instead of the model's: zero or subtract (zero with --init-membrane 0: what a NIR reader runs)")
	optFloat(fs, &b, &st.InitMembrane, "init-membrane", interval{lo: 0, hi: 1}, "SNN: simulate with this initial membrane (a fraction of the threshold) instead of the model's")
	fs.BoolVar(&st.ExactCurrents, "exact-currents", false, "SNN: sum every current in float64 and round once, so that another engine summing in float64 (scripts/nir_resim.py) reproduces the spikes bit for bit; slower")
	fs.BoolVar(&st.Candidates, "candidates", false, "SNN converted with --recipe select: also score every candidate of its data-free selection on this data (how good the choice was)")
	out.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := ready(&b, out.threads, "--model", model); err != nil {
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
	if baseline != "" {
		if job.Baseline, err = loadModel(baseline, stage.RoleBaseline, ""); err != nil {
			return err
		}
	}
	type result struct {
		*stage.EvalResult
		Split string `json:"split"`
	}
	eval := func(ctx context.Context, j stage.EvalJob, p progress.Func) (result, error) {
		res, err := stage.Eval(ctx, j, p)
		if err == nil && res.ANNNote != "" {
			res.ANNNote += "; pass --ann to compare"
			err = p.Report(progress.Report{Label: "note: " + res.ANNNote})
		}
		return result{res, string(split)}, err
	}
	return runStage(ctx, out, stdout, stderr, eval, job, func(r result, w io.Writer) error { r.WriteText(w); return nil }, nil)
}
