package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/audit"
	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/stage"
)

// attackFlags holds the flags of the three attacks, shared by the attack
// and audit commands; each attack's flags carry its prefix. The surrogate
// flags cover Attacks 2 and 3.
type attackFlags struct {
	s         *audit.Settings
	surrogate *snn.SurrogateKind
	gamma     *float64
	slope     *float64
}

func (f *attackFlags) register(fs *flag.FlagSet, b *bounds, s *audit.Settings) {
	f.s = s
	v, g, i := &s.Attack1, &s.Attack2, &s.Attack3
	b.Int(fs, &v.Iterations, "vis-iterations", v.Iterations, 1, attack.MaxIterations, "Attack 1: N, the image is updated N−1 times")
	b.Float(fs, &v.LR, "vis-lr", v.LR, interval{lo: 0, hi: 1e6, loOpen: true}, "Attack 1: η, the SGD step on the normalised image")
	b.Float(fs, &v.WeightDecay, "vis-weight-decay", v.WeightDecay, interval{lo: 0, hi: 1}, "Attack 1: SGD weight decay on the image")
	b.Int(fs, &v.BlurEvery, "vis-blur-every", v.BlurEvery, 0, attack.MaxIterations, "Attack 1: blur the 8-bit image (Gaussian, radius 1) before every k-th update (0: never)")
	b.Int(fs, &g.Iterations, "grad-iterations", g.Iterations, 1, attack.MaxIterations, "Attack 2: number of updates N")
	b.Float(fs, &g.Step, "grad-step", g.Step, interval{lo: 0, hi: 1e6, loOpen: true}, "Attack 2: ζ, grey levels of RMS change per image and update (--grad-step-rule grey) or the factor on the deconvolved gradient (literal)")
	fs.TextVar(&g.StepRule, "grad-step-rule", g.StepRule, "Attack 2: grey (steps of ζ grey levels of RMS change per image) or literal (x += ζ·δx on the normalised image, the paper's ζ = 0.01 taken literally)")
	fs.BoolVar(&g.Accumulate, "grad-accumulate", g.Accumulate, "Attack 2: accumulate G over the iterations as Algorithm 3 does (--grad-accumulate=false: recompute it from 0 each time)")
	fs.BoolVar(&g.Quantize, "grad-quantize", g.Quantize, "Attack 2: round the image to 8 bits after every update")
	fs.TextVar(&i.Rule, "inv-rule", i.Rule, "Attack 3: update rule: adam (bounded image, Adam, priors) or population (BrainLeaks' sampled-population rule)")
	b.Int(fs, &i.Iterations, "inv-iterations", 0, 0, attack.MaxIterations, "Attack 3: steps per restart (0: the rule's, 30 for adam, 10 for population)")
	b.Int(fs, &i.Restarts, "inv-restarts", 0, 0, 1000, "Attack 3: independent starts per image, the best kept (0: the rule's, 2 for adam, 1 for population)")
	b.Float(fs, &i.LR, "inv-lr", 0, interval{lo: 0, hi: 1e6}, "Attack 3: Adam rate (adam) or step (population) (0: the rule's, 0.1 or 1)")
	optText(fs, &i.Encoding, "inv-encoding", "Attack 3: the attacker's input path: model (the model's own encoder), poisson (straight-through) or direct (analog input) (default: the rule's, model for adam, poisson for population)")
	b.Float(fs, &i.TV, "inv-tv", i.TV, interval{lo: 0, hi: 1e6}, "Attack 3: weight of the total-variation prior")
	b.Float(fs, &i.L2, "inv-l2", i.L2, interval{lo: 0, hi: 1e6}, "Attack 3: weight of the L2 prior")
	b.Int(fs, &i.Jitter, "inv-jitter", i.Jitter, 0, 64, "Attack 3: random shift of up to this many pixels before every step")
	fs.BoolVar(&i.Flip, "inv-flip", i.Flip, "Attack 3: random horizontal flip before every step")
	b.Int(fs, &i.BlurEvery, "inv-blur-every", i.BlurEvery, 0, attack.MaxIterations, "Attack 3: blur the image every k steps (0: never)")
	b.Int(fs, &i.Population, "inv-population", i.Population, 1, 1000, "Attack 3, population rule: Poisson samples per step")
	n := &s.Attack5
	b.Int(fs, &n.Iterations, "nes-iterations", n.Iterations, 1, attack.MaxIterations, "Attack 5: Adam updates of the NES estimate")
	b.Int(fs, &n.Samples, "nes-samples", n.Samples, 1, attack.MaxNESSamples, "Attack 5: antithetic pairs of queries per update")
	b.Float(fs, &n.Sigma, "nes-sigma", n.Sigma, interval{lo: 0, hi: 1e3, loOpen: true}, "Attack 5: σ, the search radius on the normalised image")
	b.Float(fs, &n.LR, "nes-lr", n.LR, interval{lo: 0, hi: 1e3, loOpen: true}, "Attack 5: Adam's rate on the coarse image")
	b.Int(fs, &n.Downsample, "nes-downsample", n.Downsample, 1, 64, "Attack 5: optimise an image this many times coarser per axis, upsampled before every query")
	a4 := &s.Attack4
	b.Int(fs, &a4.Iterations, "ann-inv-iterations", 0, 0, attack.MaxIterations, "Attack 4: Adam steps per restart on the re-converted ANN (0: Attack 3's default, 30)")
	b.Int(fs, &a4.Restarts, "ann-inv-restarts", 0, 0, 1000, "Attack 4: independent starts per image, the best kept (0: Attack 3's default, 2)")
	optText(fs, &f.surrogate, "surrogate", "Attacks 2 and 3: surrogate gradient of the spike: triangle, fast-sigmoid or atan (default: triangle; Attack 3's population rule: fast-sigmoid)")
	optFloat(fs, b, &f.gamma, "gamma", interval{lo: 0, hi: 100, loOpen: true}, fmt.Sprintf("Attacks 2 and 3: surrogate height γ (default %g)", snn.DefaultGamma))
	optFloat(fs, b, &f.slope, "slope", interval{lo: 0, hi: 1000, loOpen: true}, "Attacks 2 and 3: slope of fast-sigmoid and atan (default: 5 for fast-sigmoid, 2 for atan)")
}

// finish puts the surrogate flags into the settings: given, they set both
// attacks' surrogate; not given, each attack keeps its default.
func (f *attackFlags) finish() {
	if f.surrogate == nil && f.gamma == nil && f.slope == nil {
		return
	}
	sg := snn.Surrogate{}
	if f.surrogate != nil {
		sg.Kind = *f.surrogate
	}
	if f.gamma != nil {
		sg.Gamma = *f.gamma
	}
	if f.slope != nil {
		sg.Slope = *f.slope
	}
	f.s.Attack2.Surrogate, f.s.Attack3.Surrogate = sg, &sg
}

func runAttack(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	job := stage.AttackJob{Method: audit.Attack{Method: attack.Visualize}, Settings: audit.DefaultSettings()}
	var (
		b     bounds
		f     attackFlags
		model string
		force bool
		out   output
	)
	fs := newFlagSet("attack")
	fs.StringVar(&model, "model", "", "the model to attack: an SNN (any method) or an ANN (method 1) (required)")
	fs.Var((*methodFlag)(&job.Method), "method", "1: re-convert to an ANN and visualise classes; 2: conv1 gradient through the SNN (Algorithm 3); 3: SNN-aware inversion (or attack3-SURROGATE-ENCODING, e.g. attack3-atan-direct; -aware appended keeps a trapdoored model's trigger for the target class out of each image); 4: Attack 3's optimiser on the re-converted ANN; 5: gradient-free NES on the SNN's output")
	b.Int(fs, &job.Settings.PerClass, "per-class", audit.DefaultPerClass, 1, attack.MaxImages, "attack images per class")
	fs.StringVar(&job.Out, "out", "", "output directory: grid.png, images/, attack.json (required)")
	fs.Uint64Var(&job.Settings.Seed, "seed", 0, "random seed (initial images, Poisson spikes, jitter)")
	fs.BoolVar(&force, "force", false, "replace the attack files in an existing --out (other files stay)")
	f.register(fs, &b, &job.Settings)
	out.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := ready(&b, out.threads, "--model", model, "--out", job.Out); err != nil {
		return err
	}
	f.finish()
	if err := userError(setting.Check(job.Settings.Options().Validate())); err != nil {
		return err
	}
	if err := checkOut(job.Out, stage.AttackFile, "an attack", force, model); err != nil {
		return err
	}
	var err error
	if job.Model, err = loadModel(model, stage.RoleModel, ""); err != nil {
		return err
	}
	return runStage(ctx, out, stdout, stderr, stage.Attack, job, func(rec *stage.AttackRecord, w io.Writer) error {
		_, err := fmt.Fprintf(w, "%s on %s: the attacked model assigns %.1f %% of its %d attack images to their target class (chance %.1f %%); %.1fs\nimages in %s (%s, %s/)\n",
			job.Method, model, 100*rec.SelfHitRate, rec.Images, 100/float64(job.Model.Net.Config.Classes), rec.Seconds, job.Out, audit.GridFile, audit.ImagesDir)
		return err
	}, nil)
}

// methodFlag is --method, shown by its name, as audit's --methods are.
type methodFlag audit.Attack

func (m *methodFlag) Set(s string) error { return (*audit.Attack)(m).UnmarshalText([]byte(s)) }
func (m *methodFlag) String() string     { return (*audit.Attack)(m).Name() }

// modelList is a repeatable --model flag: PATH or NAME=PATH.
type modelList []string

func (m *modelList) String() string     { return strings.Join(*m, ",") }
func (m *modelList) Set(s string) error { *m = append(*m, s); return nil }

// auditCommand is the audit command's settings.
type auditCommand struct {
	job        stage.AuditJob
	f          attackFlags
	models     modelList
	evaluators modelList
	synth      string
	split      data.Split
	spec       data.Spec
	force      bool
	out        output
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a := auditCommand{job: stage.AuditJob{Settings: audit.DefaultSettings()}, split: data.Split(data.Test)}
	var b bounds
	s := &a.job.Settings
	fs := newFlagSet("audit")
	fs.Var(&a.models, "model", "a model to audit, PATH or NAME=PATH (the path follows the last '='; repeat the flag for several, e.g. DC and DC + CET + OD; required)")
	fs.Var(&a.evaluators, "evaluator", "independent ANN trained on real data that scores the attack images (from 'privatesnn train' with another architecture and seed), PATH or NAME=PATH; repeat for several: every row is scored by each and the worst case takes the highest (at least one required)")
	fs.StringVar(&a.synth, "synth", "", "synthetic image set to score as a reference row (optional)")
	fs.Var(&s.Methods, "methods", "attacks to run, comma-separated: 1 … 5, attack3-SURROGATE-ENCODING (e.g. attack3-fast-sigmoid-poisson), either Attack 3 form with -aware (keeps a trapdoored model's trigger for the target class, rebuilt from its card, out of each image), or worst-case (every attack: 1, 2, Attack 3 with each surrogate and input path, 4, 5, and the aware Attack 3 with each surrogate and direct input on trapdoored models)")
	b.Int(fs, &s.PerClass, "per-class", s.PerClass, 1, attack.MaxImages, "attack images per class (the default keeps every hit rate's 95 % interval within ±6 pp for 10 classes)")
	b.Int(fs, &s.Bootstrap, "bootstrap", s.Bootstrap, 0, 10000, "bootstrap resamples of the interval on FD (0: none)")
	fs.Uint64Var(&s.Seed, "seed", 0, "random seed (every attack, the reference rows and the real-image split draw from their own stream of it)")
	fs.StringVar(&a.job.Out, "out", "", "output directory: table.md, audit.json and one folder of images per model and attack (required)")
	fs.BoolVar(&a.force, "force", false, "replace the audit files in an existing --out (other files stay)")
	dataFlags(fs, &b, &a.spec, "")
	fs.TextVar(&a.split, "split", a.split, "split whose real images score the attacks (the real row and the reference distribution): test, or train to choose settings on a validation split (with --limit) without the test set")
	a.f.register(fs, &b, s)
	a.out.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := a.load(&b); err != nil {
		return err
	}
	auditing := func(ctx context.Context, j stage.AuditJob, p progress.Func) (*stage.AuditRecord, error) {
		res, err := stage.Audit(ctx, j, stageLines(p))
		if err != nil {
			return nil, err
		}
		return res.AuditRecord, nil
	}
	return runStage(ctx, a.out, stdout, stderr, auditing, a.job, (*stage.AuditRecord).WriteText, nil)
}

// load checks the flags and loads every input before any work.
func (a *auditCommand) load(b *bounds) error {
	if err := ready(b, a.out.threads, "--model", a.models.String(), "--evaluator", a.evaluators.String(), "--out", a.job.Out); err != nil {
		return err
	}
	a.f.finish()
	if err := userError(setting.Check(a.job.Settings.Options().Validate())); err != nil {
		return err
	}
	inputs := []string{a.synth}
	var err error
	if a.job.Models, err = loadNamed(a.models, "--model", stage.RoleModel, "", &inputs); err != nil {
		return err
	}
	evs, err := namedPaths(a.evaluators, "--evaluator", "evaluators")
	if err != nil {
		return err
	}
	for _, e := range evs {
		inputs = append(inputs, e[1])
	}
	if err := checkOut(a.job.Out, audit.ReportFile, "an audit", a.force, inputs...); err != nil {
		return err
	}
	if a.job.Evaluators, err = loadNamed(a.evaluators, "--evaluator", stage.RoleEvaluator, modelfile.KindANN, nil); err != nil {
		return err
	}
	for _, m := range a.job.Models {
		for _, e := range a.job.Evaluators {
			if err := userError(stage.Independent(e.Model, m.Model)); err != nil {
				return err
			}
		}
	}
	if a.job.Test, err = loadData(a.spec, string(a.split), a.job.Models[0].Model); err != nil {
		return err
	}
	if a.synth != "" {
		a.job.Synth, err = loadSynth(a.synth)
	}
	return err
}

// stageLines passes the audit's reports on and adds, when a part (the
// reference distribution, an attack on a model) finishes, an event with
// its wall time.
func stageLines(show progress.Func) progress.Func {
	stageStart, last := time.Now(), ""
	return func(r progress.Report) error {
		stage := cmp.Or(r.Stage, r.Label)
		if stage != last {
			last, stageStart = stage, time.Now()
		}
		if err := show(r); err != nil || r.Done != r.Total || r.Total == 0 {
			return err
		}
		label := fmt.Sprintf("%s done in %.1fs", last, time.Since(stageStart).Seconds())
		last = ""
		return show(progress.Report{Label: label})
	}
}

// namedPaths splits every PATH or NAME=PATH of a repeatable flag (the
// name may hold "=", as in "T = 8": the path follows the last) into name
// and path; a PATH alone is its own name. Two of one name are a usage
// error.
func namedPaths(specs modelList, flagName, noun string) ([][2]string, error) {
	var out [][2]string
	names := map[string]bool{}
	for _, spec := range specs {
		name, path := spec, spec
		if i := strings.LastIndex(spec, "="); i >= 0 {
			name, path = spec[:i], spec[i+1:]
		}
		if names[name] {
			return nil, usagef("two %s named %q; name them with %s NAME=PATH", noun, name, flagName)
		}
		names[name] = true
		out = append(out, [2]string{name, path})
	}
	return out, nil
}

// loadNamed loads the models of a repeatable NAME=PATH flag in role (of
// kind want, "" for any) and, when inputs is not nil, appends their paths
// to it.
func loadNamed(specs modelList, flagName string, role stage.Role, want modelfile.Kind, inputs *[]string) ([]stage.Audited, error) {
	named, err := namedPaths(specs, flagName, map[string]string{"--model": "models", "--evaluator": "evaluators"}[flagName])
	if err != nil {
		return nil, err
	}
	var out []stage.Audited
	for _, np := range named {
		m, err := loadModel(np[1], role, want)
		if err != nil {
			return nil, err
		}
		out = append(out, stage.Audited{Name: np[0], Model: m})
		if inputs != nil {
			*inputs = append(*inputs, np[1])
		}
	}
	return out, nil
}
