package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/audit"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/vgg"
)

// attackFlags holds the settings of the three attacks, shared by the
// attack and audit commands. Each attack's flags carry its prefix.
type attackFlags struct {
	vis       attack.VisualizeOptions
	grad      attack.SNNGradientOptions
	inv       attack.InversionOptions
	surrogate snn.SurrogateKind
	gamma     float64
	slope     float64
	fs        *flag.FlagSet
}

func (f *attackFlags) register(fs *flag.FlagSet, b *bounds) {
	f.vis, f.grad, f.inv = attack.DefaultVisualize(), attack.DefaultSNNGradient(), attack.DefaultInversion()
	v, g, i := f.vis, f.grad, f.inv
	b.Int(fs, &f.vis.Iterations, "vis-iterations", v.Iterations, 1, attack.MaxIterations, "Attack 1: N, the image is updated N−1 times")
	b.Float(fs, &f.vis.LR, "vis-lr", v.LR, interval{lo: 0, hi: 1e6, loOpen: true}, "Attack 1: η, the SGD step on the normalised image")
	b.Float(fs, &f.vis.WeightDecay, "vis-weight-decay", v.WeightDecay, interval{lo: 0, hi: 1}, "Attack 1: SGD weight decay on the image")
	b.Int(fs, &f.vis.BlurEvery, "vis-blur-every", v.BlurEvery, 0, attack.MaxIterations, "Attack 1: blur the 8-bit image (Gaussian, radius 1) before every k-th update (0: never)")
	b.Int(fs, &f.grad.Iterations, "grad-iterations", g.Iterations, 1, attack.MaxIterations, "Attack 2: number of updates N")
	b.Float(fs, &f.grad.Step, "grad-step", g.Step, interval{lo: 0, hi: 1e6, loOpen: true}, "Attack 2: ζ, the step on the normalised image")
	fs.BoolVar(&f.grad.Quantize, "grad-quantize", g.Quantize, "Attack 2: round the image to 8 bits after every update")
	fs.TextVar(&f.inv.Rule, "inv-rule", i.Rule, "Attack 3: update rule: adam (bounded image, Adam, priors) or population (BrainLeaks' sampled-population rule; its own defaults: 10 steps, 1 start, step 1, Poisson input, fast-sigmoid surrogate)")
	b.Int(fs, &f.inv.Iterations, "inv-iterations", i.Iterations, 1, attack.MaxIterations, "Attack 3: steps per restart")
	b.Int(fs, &f.inv.Restarts, "inv-restarts", i.Restarts, 1, 1000, "Attack 3: independent starts per image; the best is kept")
	b.Float(fs, &f.inv.LR, "inv-lr", i.LR, interval{lo: 0, hi: 1e6, loOpen: true}, "Attack 3: Adam rate (adam) or step (population)")
	fs.TextVar(&f.inv.Encoding, "inv-encoding", i.Encoding, "Attack 3: the attacker's input path: model (the model's own encoder), poisson (straight-through) or direct (analog input)")
	b.Float(fs, &f.inv.TV, "inv-tv", i.TV, interval{lo: 0, hi: 1e6}, "Attack 3: weight of the total-variation prior")
	b.Float(fs, &f.inv.L2, "inv-l2", i.L2, interval{lo: 0, hi: 1e6}, "Attack 3: weight of the L2 prior")
	b.Int(fs, &f.inv.Jitter, "inv-jitter", i.Jitter, 0, 64, "Attack 3: random shift of up to this many pixels before every step")
	fs.BoolVar(&f.inv.Flip, "inv-flip", i.Flip, "Attack 3: random horizontal flip before every step")
	b.Int(fs, &f.inv.BlurEvery, "inv-blur-every", i.BlurEvery, 0, attack.MaxIterations, "Attack 3: blur the image every k steps (0: never)")
	b.Int(fs, &f.inv.Population, "inv-population", i.Population, 1, 1000, "Attack 3, population rule: Poisson samples per step")
	fs.TextVar(&f.surrogate, "surrogate", snn.Triangle, "Attacks 2 and 3: surrogate gradient of the spike: triangle, fast-sigmoid or atan")
	b.Float(fs, &f.gamma, "gamma", snn.DefaultGamma, interval{lo: 0, hi: 100, loOpen: true}, "Attacks 2 and 3: surrogate height γ")
	b.Float(fs, &f.slope, "slope", 0, interval{lo: 0, hi: 1000}, "Attacks 2 and 3: slope of fast-sigmoid and atan (0: their default)")
	f.fs = fs
}

// finish completes the options after parsing.
func (f *attackFlags) finish() error {
	sg := snn.NewSurrogate(f.surrogate)
	sg.Gamma = f.gamma
	if f.slope > 0 {
		if f.surrogate == snn.Triangle {
			return fmt.Errorf("%w: --slope applies to --surrogate fast-sigmoid and atan", errUsage)
		}
		sg.Slope = f.slope
	}
	f.grad.Surrogate, f.inv.Surrogate = sg, sg
	if f.inv.Rule == attack.PopulationRule {
		// The population rule has its own defaults for what was not set.
		set := map[string]bool{}
		f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
		d := attack.DefaultPopulation()
		if !set["inv-iterations"] {
			f.inv.Iterations = d.Iterations
		}
		if !set["inv-restarts"] {
			f.inv.Restarts = d.Restarts
		}
		if !set["inv-lr"] {
			f.inv.LR = d.LR
		}
		if !set["inv-encoding"] {
			f.inv.Encoding = d.Encoding
		}
		if !set["surrogate"] && !set["gamma"] && !set["slope"] {
			f.inv.Surrogate = d.Surrogate
		}
	}
	for _, err := range []error{f.vis.Validate(), f.grad.Validate(), f.inv.Validate()} {
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	return nil
}

// attackTarget is a loaded model under attack.
type attackTarget struct {
	path  string
	card  *modelfile.Card
	model audit.Model
}

// loadTarget loads an ANN or SNN model directory.
func loadTarget(path, role, name string) (*attackTarget, error) {
	m, card, err := loadModel(path, role, "")
	if err != nil {
		return nil, err
	}
	t := &attackTarget{path: path, card: card, model: audit.Model{Name: name, Norm: card.Normalization}}
	if card.Kind == modelfile.KindSNN {
		net, err := snn.New(m, card.SNN.Config)
		if err != nil {
			return nil, fmt.Errorf("--%s %s: %w", role, path, err)
		}
		t.model.SNN = net
	} else {
		t.model.ANN = m
	}
	return t, nil
}

func (t *attackTarget) config() vgg.Config {
	if t.model.SNN != nil {
		return t.model.SNN.Model.Config
	}
	return t.model.ANN.Config
}

// attackRecord is attack.json.
type attackRecord struct {
	Method    attack.Method `json:"method"`
	About     string        `json:"about"`
	Model     string        `json:"model"`
	ModelKind string        `json:"model_kind"`
	Timesteps int           `json:"timesteps,omitempty"`
	PerClass  int           `json:"per_class"`
	Images    int           `json:"images"`
	Seed      uint64        `json:"seed"`
	Options   any           `json:"options"`
	// SelfHitRate is the attacked model's own top-1 hit rate on the images
	// (for Attack 1: the re-converted ANN's).
	SelfHitRate float64     `json:"self_hit_rate"`
	PerImage    []imageInfo `json:"per_image"`
	Seconds     float64     `json:"seconds"`
	Out         string      `json:"out"`
	// DataRead is what the attack read besides the model's weights.
	DataRead string `json:"data_read"`
}

type imageInfo struct {
	File      string  `json:"file"`
	Target    int     `json:"target"`
	Predicted int     `json:"predicted"`
	Loss      float64 `json:"loss"`
}

// AttackFile is the record the attack command writes.
const attackFile = "attack.json"

// attackOptions are the attack command's settings.
type attackOptions struct {
	f                     attackFlags
	b                     bounds
	model, out            string
	method                attack.Method
	perClass, threads     int
	seed                  uint64
	force, jsonOut, quiet bool
}

func (a *attackOptions) register(fs *flag.FlagSet) {
	a.method = attack.Visualize
	fs.StringVar(&a.model, "model", "", "the model to attack: an SNN (any method) or an ANN (method 1) (required)")
	fs.TextVar(&a.method, "method", a.method, "1: re-convert to an ANN and visualise classes; 2: conv1 gradient through the SNN; 3: SNN-aware inversion")
	a.b.Int(fs, &a.perClass, "per-class", 10, 1, attack.MaxImages, "attack images per class")
	fs.StringVar(&a.out, "out", "", "output directory: grid.png, images/, attack.json (required)")
	fs.Uint64Var(&a.seed, "seed", 0, "random seed (initial images, Poisson spikes, jitter)")
	fs.BoolVar(&a.force, "force", false, "replace the attack files in an existing --out (other files stay)")
	a.f.register(fs, &a.b)
	outputFlags(fs, &a.jsonOut, &a.quiet, &a.threads)
}

// load validates the flags and loads the model to attack.
func (a *attackOptions) load() (*attackTarget, error) {
	if err := a.b.check(); err != nil {
		return nil, err
	}
	if a.model == "" || a.out == "" {
		return nil, fmt.Errorf("%w: --model and --out are required", errUsage)
	}
	if err := a.f.finish(); err != nil {
		return nil, err
	}
	if err := setThreads(a.threads); err != nil {
		return nil, err
	}
	if err := checkOutput(a.out, a.model); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(a.out, attackFile)); err == nil && !a.force {
		return nil, fmt.Errorf("%s already holds an attack; pass --force to replace it, or choose another --out", a.out)
	}
	t, err := loadTarget(a.model, "model", a.model)
	if err != nil {
		return nil, err
	}
	if t.model.SNN == nil && a.method != attack.Visualize {
		return nil, fmt.Errorf("%w: --model %s is an ANN; --method %d attacks a spiking network (method 1 applies to an ANN)", errUsage, a.model, int(a.method))
	}
	return t, nil
}

func runAttack(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var a attackOptions
	fs := newFlagSet("attack")
	a.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	t, err := a.load()
	if err != nil {
		return err
	}
	method, k := a.method, t.config().Classes
	pr := newProgress(stderr, a.quiet)
	start := time.Now()
	targets := attack.Targets(k, a.perClass)
	kind := "ANN"
	if t.model.SNN != nil {
		kind = fmt.Sprintf("SNN, T = %d", t.model.SNN.Config.Timesteps)
	}
	pr.line("%s (%s) on %s (%s): %d images (%d per class); reads the weights only, no data", method, method.Describe(), a.model, kind, len(targets), a.perClass)
	o := audit.Options{Visualize: a.f.vis, SNNGradient: a.f.grad, Inversion: a.f.inv}
	res, err := audit.Attack(ctx, &t.model, method, targets, o, rand.New(rand.NewPCG(a.seed, uint64(method))), pr.reporter().WithStage(method.String()))
	pr.clear()
	if err != nil {
		return err
	}
	rec := a.record(t, res, time.Since(start).Seconds())
	if err := audit.WriteImages(a.out, audit.ResultImages(res, k), t.card.ClassNames); err != nil {
		return err
	}
	if err := audit.WriteJSON(filepath.Join(a.out, attackFile), rec); err != nil {
		return err
	}
	if a.jsonOut {
		return writeJSON(stdout, rec)
	}
	fmt.Fprintf(stdout, "%s on %s: the attacked model assigns %.1f %% of its %d attack images to their target class (chance %.1f %%); %.1fs\n",
		method, a.model, 100*rec.SelfHitRate, rec.Images, 100/float64(k), rec.Seconds)
	fmt.Fprintf(stdout, "images in %s (%s, %s/); score them with 'privatesnn audit'\n", a.out, audit.GridFile, audit.ImagesDir)
	return nil
}

// record is attack.json.
func (a *attackOptions) record(t *attackTarget, res *attack.Result, seconds float64) attackRecord {
	opts := map[attack.Method]any{attack.Visualize: a.f.vis, attack.SNNGradient: a.f.grad, attack.SNNInversion: a.f.inv}[a.method]
	rec := attackRecord{Method: a.method, About: a.method.Describe(), Model: a.model, ModelKind: string(t.card.Kind), PerClass: a.perClass,
		Images: len(res.Targets), Seed: a.seed, Options: opts, SelfHitRate: res.Hits(), Seconds: seconds, Out: a.out,
		DataRead: "none: the attack reads the model's weights only", PerImage: perImage(res, t.config().Classes)}
	if t.model.SNN != nil {
		rec.Timesteps = t.model.SNN.Config.Timesteps
	}
	return rec
}

// modelList is a repeatable --model flag: PATH or NAME=PATH.
type modelList []string

func (m *modelList) String() string     { return strings.Join(*m, ",") }
func (m *modelList) Set(s string) error { *m = append(*m, s); return nil }

// auditRecord is audit.json.
type auditRecord struct {
	*audit.Report
	Models    []auditModel `json:"models"`
	Evaluator string       `json:"evaluator"`
	Data      string       `json:"data"`
	Synthetic string       `json:"synthetic,omitempty"`
	Seconds   float64      `json:"seconds"`
	Out       string       `json:"out"`
	// Reads states which stage read what.
	Reads map[string]string `json:"reads"`
}

type auditModel struct {
	Name      string `json:"name"`
	Path      string `json:"path"`
	Kind      string `json:"kind"`
	Timesteps int    `json:"timesteps,omitempty"`
	Recipe    string `json:"recipe,omitempty"`
}

// auditOptions are the audit command's settings.
type auditOptions struct {
	f                                 attackFlags
	b                                 bounds
	models                            modelList
	evaluator, synthDir, out, methods string
	d                                 dataFlags
	threads                           int
	force, jsonOut, quiet             bool
	o                                 audit.Options
}

func (a *auditOptions) register(fs *flag.FlagSet) {
	a.o = audit.Defaults()
	fs.Var(&a.models, "model", "a model to audit, PATH or NAME=PATH (the path follows the last '='; repeat the flag for several, e.g. DC and DC + CET + OD; required)")
	fs.StringVar(&a.evaluator, "evaluator", "", "independent ANN trained on real data that scores the attack images (from 'privatesnn train' with another architecture and seed; required)")
	fs.StringVar(&a.synthDir, "synth", "", "synthetic image set to score as a reference row (optional)")
	fs.StringVar(&a.methods, "methods", "1,2,3", "attacks to run, comma-separated")
	a.b.Int(fs, &a.o.PerClass, "per-class", a.o.PerClass, 1, attack.MaxImages, "attack images per class")
	fs.Uint64Var(&a.o.Seed, "seed", 0, "random seed (every attack, the reference rows and the real-image split draw from their own stream of it)")
	fs.StringVar(&a.out, "out", "", "output directory: table.md, audit.json and one folder of images per model and attack (required)")
	fs.BoolVar(&a.force, "force", false, "replace the audit files in an existing --out (other files stay)")
	a.d.register(fs, &a.b, "")
	a.f.register(fs, &a.b)
	outputFlags(fs, &a.jsonOut, &a.quiet, &a.threads)
}

func (a *auditOptions) validate() error {
	if err := a.b.check(); err != nil {
		return err
	}
	if len(a.models) == 0 || a.evaluator == "" || a.out == "" {
		return fmt.Errorf("%w: --model, --evaluator and --out are required", errUsage)
	}
	if err := a.f.finish(); err != nil {
		return err
	}
	if err := a.d.validate(); err != nil {
		return err
	}
	a.o.Methods = nil
	for _, s := range strings.Split(a.methods, ",") {
		var m attack.Method
		if err := m.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
			return fmt.Errorf("%w: --methods: %v", errUsage, err)
		}
		a.o.Methods = append(a.o.Methods, m)
	}
	a.o.Visualize, a.o.SNNGradient, a.o.Inversion = a.f.vis, a.f.grad, a.f.inv
	return setThreads(a.threads)
}

// auditInputs are an audit's loaded inputs.
type auditInputs struct {
	targets   []*attackTarget
	evaluator *audit.Evaluator
	test      *imageset.Set
	testName  string
	synthetic *imageset.Set
}

// load loads and checks every input before any work.
func (a *auditOptions) load() (*auditInputs, error) {
	in := &auditInputs{}
	inputs := []string{a.evaluator}
	if a.synthDir != "" {
		inputs = append(inputs, a.synthDir)
	}
	names := map[string]bool{}
	for _, spec := range a.models {
		// The name may hold "=" (as in "T = 8"); the path is after the last.
		name, path := spec, spec
		if i := strings.LastIndex(spec, "="); i >= 0 {
			name, path = spec[:i], spec[i+1:]
		}
		if names[name] {
			return nil, fmt.Errorf("%w: two models named %q; name them with --model NAME=PATH", errUsage, name)
		}
		names[name] = true
		t, err := loadTarget(path, "model", name)
		if err != nil {
			return nil, err
		}
		in.targets = append(in.targets, t)
		inputs = append(inputs, path)
	}
	if err := checkOutput(a.out, inputs...); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(a.out, audit.ReportFile)); err == nil && !a.force {
		return nil, fmt.Errorf("%s already holds an audit; pass --force to replace it, or choose another --out", a.out)
	}
	em, ecard, err := loadModel(a.evaluator, "evaluator", modelfile.KindANN)
	if err != nil {
		return nil, err
	}
	for _, t := range in.targets {
		if err := sameWeights(a.evaluator, t); err != nil {
			return nil, err
		}
	}
	in.evaluator = &audit.Evaluator{Model: em, Norm: ecard.Normalization}
	first := in.targets[0]
	if err := a.d.defaultData(first.card, first.path); err != nil {
		return nil, err
	}
	test, err := a.d.load("test")
	if err != nil {
		return nil, err
	}
	mdl := first.model.ANN
	if first.model.SNN != nil {
		mdl = first.model.SNN.Model
	}
	if err := checkData(test, mdl, first.card, first.path); err != nil {
		return nil, err
	}
	in.testName = test.Name
	in.test = test
	if a.synthDir != "" {
		set, err := loadSynthSet(a.synthDir)
		if err != nil {
			return nil, err
		}
		in.synthetic = &set.Set
	}
	return in, nil
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var a auditOptions
	fs := newFlagSet("audit")
	a.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := a.validate(); err != nil {
		return err
	}
	in, err := a.load()
	if err != nil {
		return err
	}
	pr := newProgress(stderr, a.quiet)
	start := time.Now()
	var ms []audit.Model
	for _, t := range in.targets {
		ms = append(ms, t.model)
	}
	pr.line("audit of %d model(s) with attacks %s, %d images per class; evaluator %s; the attacks read the weights only, scoring reads %s",
		len(ms), a.methods, a.o.PerClass, a.evaluator, in.testName)
	rep, err := audit.Run(ctx, ms, in.evaluator, in.test, in.synthetic, a.o, stageLines(pr))
	pr.clear()
	if err != nil {
		return err
	}
	rec := a.record(rep, in, time.Since(start).Seconds())
	if _, err := rep.WriteDir(a.out, in.targets[0].config().Classes, in.targets[0].card.ClassNames, rec); err != nil {
		return err
	}
	if a.jsonOut {
		return writeJSON(stdout, rec)
	}
	return printAudit(stdout, rec)
}

// stageLines shows the audit's reports and, when a stage (the reference
// distribution, an attack on a model) finishes, its wall time.
func stageLines(pr *display) progress.Func {
	show := pr.reporter()
	stageStart, last := time.Now(), ""
	return func(r progress.Report) error {
		stage := cmp.Or(r.Stage, r.Label)
		if stage != last {
			last, stageStart = stage, time.Now()
		}
		if err := show(r); err != nil {
			return err
		}
		if r.Done == r.Total && r.Total > 0 {
			pr.line("%s done in %.1fs", last, time.Since(stageStart).Seconds())
			last = ""
		}
		return nil
	}
}

// record is audit.json: the report, the models and what each stage read.
func (a *auditOptions) record(rep *audit.Report, in *auditInputs, seconds float64) auditRecord {
	rec := auditRecord{Report: rep, Evaluator: a.evaluator, Data: in.testName, Synthetic: a.synthDir, Seconds: seconds, Out: a.out,
		Reads: map[string]string{
			"attacks":            "the attacked models' weights only; no data",
			"scoring":            fmt.Sprintf("%s (real test images) and the evaluator %s", in.testName, a.evaluator),
			"reference rows":     in.testName + " (real), generated noise" + map[bool]string{true: ", the synthetic set " + a.synthDir}[a.synthDir != ""],
			"training (earlier)": "the attacked models were converted and encrypted without real data; only their ANN and the evaluator were trained on it",
		}}
	for _, t := range in.targets {
		am := auditModel{Name: t.model.Name, Path: t.path, Kind: string(t.card.Kind)}
		if t.model.SNN != nil {
			am.Timesteps = t.model.SNN.Config.Timesteps
			am.Recipe = "DC (data-free conversion)"
			if e := t.card.SNN.Encryption; e != nil {
				am.Recipe = "DC + " + strings.ToUpper(strings.ReplaceAll(e.Recipe, "+", " + "))
			}
		}
		rec.Models = append(rec.Models, am)
	}
	return rec
}

func printAudit(w io.Writer, rec auditRecord) error {
	for _, m := range rec.Models {
		fmt.Fprintf(w, "model %s: %s (%s", m.Name, m.Path, m.Kind)
		if m.Timesteps > 0 {
			fmt.Fprintf(w, ", T = %d, %s", m.Timesteps, m.Recipe)
		}
		fmt.Fprintln(w, ")")
	}
	fmt.Fprintln(w)
	if err := rec.Report.WriteTable(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nAttacks read the weights only; scoring read %s. Images, table.md and audit.json in %s (%.0fs).\n", rec.Data, rec.Out, rec.Seconds)
	return nil
}

// sameWeights refuses an evaluator that is one of the audited models or
// their ANN: it must be independent of them.
func sameWeights(evaluator string, t *attackTarget) error {
	ed, err := modelfile.WeightsDigest(evaluator)
	if err != nil {
		return fmt.Errorf("--evaluator: %w", err)
	}
	md, err := modelfile.WeightsDigest(t.path)
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	if ed == md {
		return fmt.Errorf("%w: --evaluator %s has the same weights as --model %s; the evaluator must be an independently trained network", errUsage, evaluator, t.path)
	}
	if t.card.Provenance.Parent != nil {
		if p, err := t.card.Provenance.Parent.Resolve(t.path); err == nil {
			if pd, err := modelfile.WeightsDigest(p); err == nil && pd == ed {
				return fmt.Errorf("%w: --evaluator %s is the ANN --model %s comes from; the evaluator must be an independently trained network", errUsage, evaluator, t.path)
			}
		}
	}
	return nil
}

// loadSynthSet reads a synthetic image set for a reference row.
func loadSynthSet(dir string) (*synth.Set, error) {
	if _, e := modelfile.ReadCard(dir); e == nil || errors.Is(e, modelfile.ErrInterrupted) {
		return nil, fmt.Errorf("%w: --synth %s holds a model, not a synthetic image set", errUsage, dir)
	}
	set, err := synth.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("--synth: %w", err)
	}
	return set, nil
}

// perImage lists every attack image's file, target, the attacked model's
// prediction and the final loss.
func perImage(res *attack.Result, k int) []imageInfo {
	var out []imageInfo
	for i, c := range res.Targets {
		row := res.Logits.Data[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		out = append(out, imageInfo{File: filepath.Join(audit.ImagesDir, fmt.Sprintf("%03d-class%d.png", i, c)),
			Target: c, Predicted: best, Loss: res.Loss[i]})
	}
	return out
}
