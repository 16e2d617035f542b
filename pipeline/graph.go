package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/privatesnn/privatesnn/audit"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/stage"
)

// Build returns the stage graph of a configuration:
//
//	ann → synth → convert → encrypt (CET + OD) [→ encrypt-cet, samples-*, frontier-*]
//	    → eval, evaluator, evaluator2 → audit, energy [, frontier-audit]
//
// Stages that read the real data set say so (RealData); synth, convert and
// the encryption stages read none.
//
// Stages named in c.Skip are left out, with every stage that needs them.
// c.Threads (at least 1; 0 takes GOMAXPROCS) is the graph's Threads.
func Build(c Config) *Graph {
	g := buildAll(c)
	g.Threads = c.Threads
	if g.Threads < 1 {
		g.Threads = runtime.GOMAXPROCS(0)
	}
	g.Stages = skipStages(g.Stages, c.Skip)
	return g
}

// skipStages returns stages without those named in skip and those that
// need them (in place).
func skipStages(stages []Stage, skip []string) []Stage {
	if len(skip) == 0 {
		return stages
	}
	gone := map[string]bool{}
	for _, n := range skip {
		gone[n] = true
	}
	kept := stages[:0]
	for _, s := range stages {
		if gone[s.Name] || slices.ContainsFunc(s.Deps, func(d string) bool { return gone[d] }) {
			gone[s.Name] = true
			continue
		}
		kept = append(kept, s)
	}
	return kept
}

// validSkip reports names in c.Skip that are no stage of c, and a skip
// list that leaves no stage.
func validSkip(c Config) error {
	if len(c.Skip) == 0 {
		return nil
	}
	stages := buildAll(c).Stages
	var names []string
	for _, s := range stages {
		names = append(names, s.Name)
	}
	for _, n := range c.Skip {
		if !slices.Contains(names, n) {
			return fmt.Errorf("skip %q: no such stage; the stages are %s", n, strings.Join(names, ", "))
		}
	}
	if len(skipStages(stages, c.Skip)) == 0 {
		return fmt.Errorf("skip %q leaves no stage to run", c.Skip)
	}
	return nil
}

// buildAll returns the graph of c without its Skip.
func buildAll(c Config) *Graph {
	g := &Graph{Workdir: c.Workdir}
	seed := func(s uint64) uint64 {
		if s == 0 {
			return c.Seed
		}
		return s
	}
	g.Stages = append(g.Stages, annStage(c, seed(c.ANN.Seed)))
	sy := c.Synth
	sy.Seed = seed(sy.Seed)
	g.Stages = append(g.Stages, Stage{Name: "synth", Deps: []string{"ann"}, Settings: sy, Reads: "the ANN's weights only", Seed: sy.Seed,
		Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
			return synthesize(ctx, dir, c.software(), modelPath(in["ann"]), sy, p)
		}})
	cv := c.Convert
	cv.Seed = seed(cv.Seed)
	g.Stages = append(g.Stages, Stage{Name: "convert", Deps: []string{"ann", "synth"}, Settings: cv, Reads: "the ANN and the synthetic images", Seed: cv.Seed,
		Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
			return convertANN(ctx, dir, c.software(), modelPath(in["ann"]), in["synth"].Dir, cv, p)
		}})
	targets := []evalTarget{{name: "ANN", stage: "ann", role: RoleANN}, {name: "DC", stage: "convert", role: RoleDC}}
	for _, e := range encryptions(c) {
		s := encryptSettings(c.Encrypt, e.perClass, e.role == RoleCETOD, seed(c.Encrypt.Seed))
		g.Stages = append(g.Stages, encryptStage(e.stage, c.software(), s))
		targets = append(targets, e)
	}
	frontier, defended := frontierStages(c, seed(c.Encrypt.Seed))
	g.Stages = append(g.Stages, frontier...)
	targets = append(targets, defended...)
	compared, compareTargets := compareStages(c, cv.Seed)
	g.Stages = append(g.Stages, compared...)
	targets = append(targets, compareTargets...)
	g.Stages = append(g.Stages, measureStages(c, seed, targets)...)
	if len(defended) > 0 {
		g.Stages = append(g.Stages, frontierAuditStage(c, seed, targets))
	}
	return g
}

// encryptStage trains the converted SNN with settings s (stage.Encrypt);
// its card names the software sw.
func encryptStage(name, sw string, s stage.EncryptSettings) Stage {
	return Stage{Name: name, Deps: []string{"ann", "synth", "convert"}, Settings: s, Seed: s.Seed, Resumes: true,
		Reads: "the converted SNN, its ANN (teacher) and the synthetic images",
		Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
			return encryptSNN(ctx, dir, sw, modelPath(in["ann"]), modelPath(in["convert"]), in["synth"].Dir, s, p)
		}}
}

// annStage trains the ANN, or imports it.
func annStage(c Config, seed uint64) Stage {
	ann := c.ANN
	ann.Seed = seed
	if ann.Import == "" {
		return Stage{Name: "ann", Settings: map[string]any{"ann": ann, "data": c.Data}, Resumes: true,
			RealData: true, Reads: "the training split (training) and the test split (scoring)", Seed: ann.Seed,
			Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
				return trainANN(ctx, dir, c.software(), c.Data, ann.TrainSettings, p)
			}}
	}
	digest, err := weightsDigest(ann.Import)
	if err != nil {
		digest = "unreadable: " + err.Error()
	}
	settings := map[string]any{"import": ann.Import, "weights_sha256": digest, "data": c.Data}
	if st, err := os.Stat(ann.Import); err == nil && !st.IsDir() { // a state_dict: the layout comes from the config
		settings["model"], settings["normalization"] = ann.Spec, ann.Normalization
	}
	return Stage{Name: "ann", Settings: settings,
		RealData: true, Reads: "the ANN to import, and the test split to score it", Seed: ann.Seed,
		Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
			return importANN(ctx, dir, c.software(), c.Data, ann, p)
		}}
}

// encryptions lists the encryption stages: CET + OD, the ablation's CET
// and the samples-per-class sweep.
func encryptions(c Config) []evalTarget {
	out := []evalTarget{{name: "DC + CET + OD", stage: "encrypt", role: RoleCETOD, perClass: c.Encrypt.PerClass}}
	if c.Encrypt.Ablation {
		out = append(out, evalTarget{name: "DC + CET", stage: "encrypt-cet", role: RoleCET, perClass: c.Encrypt.PerClass})
	}
	for _, k := range c.Encrypt.Samples {
		if k == c.Encrypt.PerClass {
			continue
		}
		out = append(out,
			evalTarget{name: fmt.Sprintf("DC + CET + OD (%d per class)", k), stage: fmt.Sprintf("samples-%d-cetod", k), role: RoleCETOD, perClass: k, sweep: true},
			evalTarget{name: fmt.Sprintf("DC + CET (%d per class)", k), stage: fmt.Sprintf("samples-%d-cet", k), role: RoleCET, perClass: k, sweep: true})
	}
	return out
}

// measureStages returns the stages that read the test split: eval, the
// evaluators' training, the audit and the energy estimate (of every SNN
// but the frontier's).
func measureStages(c Config, seed func(uint64) uint64, targets []evalTarget) []Stage {
	var spikingDeps []string
	var spiking []evalTarget
	for _, t := range targets {
		if t.role != RoleANN && t.role != RoleFrontier {
			spiking, spikingDeps = append(spiking, t), append(spikingDeps, t.stage)
		}
	}
	ev := c.Eval
	ev.Seed = seed(ev.Seed)
	evaluator, evaluator2 := c.Evaluator, c.Evaluator2
	au := c.Audit
	au.Seed = seed(au.Seed)
	en := c.Energy
	en.Seed = seed(en.Seed)
	attacked := []evalTarget{targets[1], targets[2]} // DC and DC + CET + OD
	// Each model is evaluated by a stage of its own, so that a sweep's
	// points share the evaluation of the models they share; "eval" gathers
	// them in order.
	var out []Stage
	var evals []string
	for _, t := range targets {
		name := "eval-" + t.stage
		evals = append(evals, name)
		out = append(out, Stage{Name: name, Deps: []string{t.stage},
			Settings: map[string]any{"eval": ev, "data": c.Data, "model": map[string]any{"name": t.name, "role": t.role, "per_class": t.perClass, "sweep": t.sweep},
				"records": evalRecords},
			RealData: true, Reads: "the test split", Seed: ev.Seed,
			Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
				return evaluateOne(ctx, c.Data, ev, in, t, p)
			}})
	}
	out = append(out, Stage{Name: "eval", Deps: evals, Settings: map[string]any{}, Reads: "the results of " + strings.Join(evals, ", "),
		Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
			return gatherEvals(in, evals)
		}})
	return append(out, []Stage{
		{Name: "evaluator", Settings: map[string]any{"evaluator": evaluator, "data": c.Data}, RealData: true, Resumes: true,
			Reads: "the training split (training) and the test split (scoring)", Seed: evaluator.Seed,
			Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
				return trainANN(ctx, dir, c.software(), c.Data, evaluator, p)
			}},
		{Name: "evaluator2", Settings: map[string]any{"evaluator": evaluator2, "data": c.Data}, RealData: true, Resumes: true,
			Reads: "the training split (training) and the test split (scoring)", Seed: evaluator2.Seed,
			Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
				return trainANN(ctx, dir, c.software(), c.Data, evaluator2, p)
			}},
		{Name: "audit", Deps: []string{"synth", "convert", "encrypt", "evaluator", "evaluator2"}, Settings: auditSettings(au, map[string]any{"data": c.Data}),
			RealData: true, Seed: au.Seed, Reads: "attacks: the SNNs' weights only; scoring: the test split and the two evaluators",
			Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
				return auditModels(ctx, dir, c.Data, au, in, attacked, p)
			}},
		{Name: "energy", Deps: spikingDeps, Settings: map[string]any{"energy": en, "data": c.Data}, RealData: true,
			Reads: "the test split (spike rates)", Seed: en.Seed,
			Run: func(ctx context.Context, dir string, in Inputs, p progress.Func) (any, error) {
				return measureEnergy(ctx, c.Data, en, in, spiking, p)
			}},
	}...)
}

// evalRecords names what an eval-* stage's result holds beyond the
// accuracies: the test images' hits (Evaluated.Hits), which the report's
// paired intervals need. It enters the stage's hash, so that an evaluation
// cached before its result held them runs again.
const evalRecords = "hits"

// digests remembers the weights digests of imported models by path, size
// and modification time: a sweep builds its graph once per point and per
// worker, and hashing a large model each time would dominate.
var digests = struct {
	sync.Mutex
	m map[string]string
}{m: map[string]string{}}

// weightsDigest is modelfile.WeightsDigest, remembered (see digests).
func weightsDigest(path string) (string, error) {
	weights := filepath.Join(path, modelfile.WeightsFile) // the file modelfile.WeightsDigest reads
	switch {
	case strings.HasSuffix(path, ".safetensors"):
		weights = path
	case strings.HasSuffix(path, ".json"):
		weights = strings.TrimSuffix(path, ".json") + ".safetensors"
	}
	st, err := os.Stat(weights)
	if err != nil {
		return modelfile.WeightsDigest(path)
	}
	key := fmt.Sprintf("%s\x00%d\x00%d", path, st.Size(), st.ModTime().UnixNano())
	digests.Lock()
	d, ok := digests.m[key]
	digests.Unlock()
	if ok {
		return d, nil
	}
	d, err = modelfile.WeightsDigest(path)
	if err == nil {
		digests.Lock()
		digests.m[key] = d
		digests.Unlock()
	}
	return d, err
}

// auditSettings returns an audit stage's settings: the audit's under
// "audit", the others given, and, when one of its attacks has changed what
// it computes under an unchanged name, the attacks' revisions
// (audit.Revisions) under "attack_revisions". The revisions enter the
// stage's hash, so an audit cached with an earlier form of an attack runs
// again; an audit of attacks that never changed keeps its hash.
func auditSettings(au audit.Settings, others map[string]any) map[string]any {
	others["audit"] = au
	if r := audit.Revisions(au.Methods); r != nil {
		others["attack_revisions"] = r
	}
	return others
}
