package pipeline

import (
	"context"
	"fmt"
	"os"

	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
)

// Build returns the stage graph of a configuration:
//
//	ann → synth → convert → encrypt (CET + OD) [→ encrypt-cet, samples-*]
//	    → eval, evaluator → audit, energy
//
// Stages that read the real data set say so (RealData); synth, convert and
// the encryption stages read none.
func Build(c Config) *Graph {
	g := &Graph{Workdir: c.Workdir}
	seed := func(s uint64) uint64 {
		if s == 0 {
			return c.Seed
		}
		return s
	}
	ann := c.ANN
	ann.Seed = seed(ann.Seed)
	if ann.Import != "" {
		digest, err := modelfile.WeightsDigest(ann.Import)
		if err != nil {
			digest = "unreadable: " + err.Error()
		}
		settings := map[string]any{"import": ann.Import, "weights_sha256": digest, "data": c.Data}
		if st, err := os.Stat(ann.Import); err == nil && !st.IsDir() { // a state_dict: the layout comes from the config
			settings["model"], settings["features"], settings["normalization"] = ann.Model, ann.Features, ann.importNormalization()
		}
		g.Stages = append(g.Stages, Stage{Name: "ann", Settings: settings,
			RealData: true, Reads: "the ANN to import, and the test split to score it", Seed: ann.Seed,
			Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
				return importANN(ctx, dir, c.Data, ann, ann.Import)
			}})
	} else {
		g.Stages = append(g.Stages, Stage{Name: "ann", Settings: map[string]any{"ann": ann, "data": c.Data},
			RealData: true, Reads: "the training split (training) and the test split (scoring)", Seed: ann.Seed,
			Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
				return trainANN(ctx, dir, c.Data, ann, p)
			}})
	}
	sy := c.Synth
	sy.Seed = seed(sy.Seed)
	g.Stages = append(g.Stages, Stage{Name: "synth", Deps: []string{"ann"}, Settings: sy, Reads: "the ANN's weights only", Seed: sy.Seed,
		Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
			return synthesize(ctx, dir, modelPath(in["ann"]), sy, p)
		}})
	cv := c.Convert
	cv.Seed = seed(cv.Seed)
	g.Stages = append(g.Stages, Stage{Name: "convert", Deps: []string{"ann", "synth"}, Settings: cv, Reads: "the ANN and the synthetic images", Seed: cv.Seed,
		Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
			return convertANN(ctx, dir, modelPath(in["ann"]), in["synth"].Dir, cv, p)
		}})
	enc := func(name string, perClass int, distill bool) {
		o := c.Encrypt.Options
		o.Seed = seed(o.Seed)
		o.Distill = distill
		settings := map[string]any{"options": o, "per_class": perClass, "labels": "target"}
		g.Stages = append(g.Stages, Stage{Name: name, Deps: []string{"ann", "synth", "convert"}, Settings: settings, Seed: o.Seed,
			Reads: "the converted SNN, its ANN (teacher) and the synthetic images",
			Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
				return encryptSNN(ctx, dir, modelPath(in["ann"]), modelPath(in["convert"]), in["synth"].Dir, perClass, o, p)
			}})
	}
	enc("encrypt", c.Encrypt.PerClass, true)
	targets := []evalTarget{{name: "ANN", stage: "ann"}, {name: "DC", stage: "convert"}, {name: "DC + CET + OD", stage: "encrypt", perClass: c.Encrypt.PerClass}}
	if c.Encrypt.Ablation {
		enc("encrypt-cet", c.Encrypt.PerClass, false)
		targets = append(targets, evalTarget{name: "DC + CET", stage: "encrypt-cet", perClass: c.Encrypt.PerClass})
	}
	for _, k := range c.Encrypt.Samples {
		if k == c.Encrypt.PerClass {
			continue
		}
		for _, distill := range []bool{true, false} {
			name, label := fmt.Sprintf("samples-%d-cet", k), "DC + CET"
			if distill {
				name, label = fmt.Sprintf("samples-%d-cetod", k), "DC + CET + OD"
			}
			enc(name, k, distill)
			targets = append(targets, evalTarget{name: fmt.Sprintf("%s (%d per class)", label, k), stage: name, perClass: k})
		}
	}
	var deps []string
	for _, t := range targets {
		deps = append(deps, t.stage)
	}
	ev := c.Eval
	ev.Seed = seed(ev.Seed)
	g.Stages = append(g.Stages, Stage{Name: "eval", Deps: deps, Settings: map[string]any{"eval": ev, "data": c.Data},
		RealData: true, Reads: "the test split", Seed: ev.Seed,
		Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
			return evaluate(ctx, c.Data, ev, in, targets, p)
		}})
	evaluator := c.Evaluator
	g.Stages = append(g.Stages, Stage{Name: "evaluator", Settings: map[string]any{"evaluator": evaluator, "data": c.Data},
		RealData: true, Reads: "the training split (training) and the test split (scoring)", Seed: evaluator.Seed,
		Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
			return trainANN(ctx, dir, c.Data, evaluator, p)
		}})
	attacked := []evalTarget{{name: "DC", stage: "convert"}, {name: "DC + CET + OD", stage: "encrypt"}}
	au := c.Audit
	au.Seed = seed(au.Seed)
	g.Stages = append(g.Stages, Stage{Name: "audit", Deps: []string{"synth", "convert", "encrypt", "evaluator"},
		Settings: map[string]any{"audit": au, "data": c.Data}, RealData: true, Seed: au.Seed,
		Reads: "attacks: the SNNs' weights only; scoring: the test split and the evaluator",
		Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
			return auditModels(ctx, dir, c.Data, au, in, attacked, p)
		}})
	en := c.Energy
	en.Seed = seed(en.Seed)
	var spiking []evalTarget
	var spikingDeps []string
	for _, t := range targets {
		if t.stage != "ann" {
			spiking = append(spiking, t)
			spikingDeps = append(spikingDeps, t.stage)
		}
	}
	g.Stages = append(g.Stages, Stage{Name: "energy", Deps: spikingDeps, Settings: map[string]any{"energy": en, "data": c.Data},
		RealData: true, Reads: "the test split (spike rates)", Seed: en.Seed,
		Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
			return measureEnergy(ctx, c.Data, en, in, spiking)
		}})
	return g
}
