package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/vgg"
)

// calibFlags are the threshold-balancing settings shared by convert and
// calibrate-compare.
type calibFlags struct {
	opts    convert.Options
	recipe  convert.Recipe
	reset   snn.Reset
	encoder snn.Encoder
	images  int
	heldOut int
	augment convert.Augmentation
	scoreOn string
	cropPad int
	seed    uint64
	threads int
	fs      *flag.FlagSet
	// settings are the validated flags.
	settings convert.Settings
	// fixed (calibrate-compare) takes --percentile, --init-membrane and
	// --encoder as given, with the paper's calibration procedure.
	fixed bool
}

// register adds the flags. An empty recipes text registers no --recipe and
// no --held-out: the settings are then fixed by the flags (calibrate-compare).
func (c *calibFlags) register(fs *flag.FlagSet, b *bounds, recipe convert.Recipe, recipes string) {
	c.opts = convert.Defaults()
	c.recipe = recipe
	c.fixed = recipes == ""
	if !c.fixed {
		fs.TextVar(&c.recipe, "recipe", recipe, recipes)
		b.Int(fs, &c.heldOut, "held-out", convert.SelectHeldOutImages, 1, 1<<20, "select: synthetic images held out to score the candidates")
		fs.StringVar(&c.scoreOn, "score-images", "blurred", "select: score the candidates on the held-out images blurred (3×3 box; ranks candidates as natural images do) or raw")
	}
	b.Int(fs, &c.opts.Timesteps, "timesteps", 0, 0, snn.MaxTimesteps, fmt.Sprintf("time steps T of the spiking network, the target of the selection (0: %d for select, %d for paper)",
		convert.SelectTimesteps, convert.PaperTimesteps))
	b.Float(fs, &c.opts.Leak, "leak", c.opts.Leak, interval{lo: 0, hi: 1, loOpen: true}, "membrane leak λ (1 = integrate-and-fire)")
	fs.TextVar(&c.reset, "reset", snn.ResetSubtract, "reset after a spike: subtract or zero")
	fs.TextVar(&c.encoder, "encoder", snn.Poisson, "input encoding: poisson or direct (select: pins the search to it)")
	b.Float(fs, &c.opts.Percentile, "percentile", 0, interval{lo: 0, hi: 100}, "threshold = this percentile of the input currents, in [50, 100], or 0 for the maximum (select: pins the search to it)")
	b.Float(fs, &c.opts.InitMembrane, "init-membrane", 0, interval{lo: 0, hi: 1}, "initial membrane potential as a fraction of the threshold (select: pins the search to it)")
	b.Float(fs, &c.opts.Scale, "scale", 1, interval{lo: 0, hi: 100, loOpen: true}, "multiply every threshold by this factor")
	b.Int(fs, &c.opts.Batch, "batch", c.opts.Batch, 1, 1<<16, "calibration images simulated together")
	b.Int(fs, &c.images, "calib-images", 0, 0, 1<<20, fmt.Sprintf("calibration images per pass (0: %d for paper, as the reference; %d for select)", convert.PaperCalibImages, convert.SelectCalibImages))
	fs.TextVar(&c.augment, "augment", convert.AugmentAuto, "calibration augmentation: on (random crop and flip; paper: redrawn for every layer's pass), off (one draw, unchanged images), auto (paper: on, select: off)")
	b.Int(fs, &c.cropPad, "crop-pad", convert.PaperCropPad, 0, 64, "padding of the random crop when --augment is on")
	fs.Uint64Var(&c.seed, "seed", 0, "random seed (image choice, augmentation, Poisson spikes)")
	fs.IntVar(&c.threads, "threads", 0, "threads to use (0: all cores)")
	c.fs = fs
}

// set reports whether the named flag was given.
func (c *calibFlags) set(name string) bool {
	found := false
	c.fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// settings returns the flags as convert.Settings, validated.
func (c *calibFlags) validate() error {
	c.opts.Reset, c.opts.Encoder = c.reset, c.encoder
	if p := c.opts.Percentile; p > 0 && p < 50 {
		return fmt.Errorf("%w: --percentile %g out of range: want 0 (the maximum) or [50, 100]", errUsage, p)
	}
	if c.recipe == convert.RecipeSelect && c.augment == convert.AugmentOn && c.set("crop-pad") && c.cropPad == 0 {
		return fmt.Errorf("%w: --augment on with --crop-pad 0", errUsage)
	}
	if !c.fixed && c.scoreOn != "blurred" && c.scoreOn != "raw" {
		return fmt.Errorf("%w: --score-images %q: want blurred or raw", errUsage, c.scoreOn)
	}
	if c.recipe == convert.RecipePaper && !c.fixed {
		for _, f := range []string{"percentile", "init-membrane", "encoder", "held-out", "score-images"} {
			if c.set(f) {
				return fmt.Errorf("%w: --recipe paper fixes its settings (maximum current, zero initial membrane, Poisson input); --%s needs --recipe select", errUsage, f)
			}
		}
	}
	s := convert.Settings{Recipe: c.recipe, Options: c.opts, CalibImages: c.images, CalibExplicit: c.set("calib-images"),
		HeldOut: c.heldOut, HeldOutExplicit: c.set("held-out"), Augment: c.augment, CropPad: c.cropPad, ScoreRaw: c.scoreOn == "raw"}
	s.Pin.Percentile, s.Pin.InitMembrane, s.Pin.Encoder = c.set("percentile"), c.set("init-membrane"), c.set("encoder")
	if err := s.Validate(); err != nil {
		return fmt.Errorf("%w: %s", errUsage, strings.TrimPrefix(err.Error(), "convert: "))
	}
	c.settings, c.opts = s, s.Options
	return setThreads(c.threads)
}

type convertResult struct {
	Recipe               convert.Recipe `json:"recipe"`
	Thresholds           []float32      `json:"thresholds"`
	Layers               []string       `json:"layers"`
	Timesteps            int            `json:"timesteps"`
	Percentile           float64        `json:"percentile"`
	InitMembrane         float64        `json:"init_membrane"`
	Encoder              snn.Encoder    `json:"encoder"`
	CalibrationImages    int            `json:"calibration_images"`
	Selection            *snn.Selection `json:"selection,omitempty"`
	Seconds              float64        `json:"seconds"`
	Out                  string         `json:"out"`
	TrainingDataAccessed bool           `json:"training_data_accessed"`
}

// convertOptions are the convert command's settings.
type convertOptions struct {
	cf                   calibFlags
	b                    bounds
	model, synthDir, out string
	force, jsonOut, qt   bool
}

func (c *convertOptions) register(fs *flag.FlagSet) {
	c.cf.register(fs, &c.b, convert.RecipeSelect, "select: choose the threshold percentile, initial membrane and encoder for the target T on held-out synthetic images (data-free); "+
		"paper: the reference's maximum current, zero initial membrane, Poisson input")
	fs.StringVar(&c.model, "model", "", "trained ANN (directory or file; required)")
	fs.StringVar(&c.synthDir, "synth", "", "synthetic image set from 'privatesnn synth' made from this ANN (directory or file; required)")
	fs.StringVar(&c.out, "out", "", "output directory of the spiking model (required)")
	fs.BoolVar(&c.force, "force", false, "replace the model files in an existing --out (other files stay)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the result as one JSON object")
	fs.BoolVar(&c.qt, "quiet", false, "no progress on stderr")
}

func runConvert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c convertOptions
	fs := newFlagSet("convert")
	c.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	cf, b := &c.cf, &c.b
	model, synthDir, out, force, jsonOut, qt := c.model, c.synthDir, c.out, c.force, c.jsonOut, c.qt
	if err := b.check(); err != nil {
		return err
	}
	if model == "" || synthDir == "" || out == "" {
		return fmt.Errorf("%w: --model, --synth and --out are required", errUsage)
	}
	if err := cf.validate(); err != nil {
		return err
	}
	if err := checkOutput(out, model, synthDir); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(out, modelfile.CardFile)); err == nil && !force {
		return fmt.Errorf("%s already holds a model; pass --force to replace it, or choose another --out", out)
	}
	start := time.Now()
	m, _, err := loadModel(model, "model", modelfile.KindANN)
	if err != nil {
		return err
	}
	set, err := loadSynth(synthDir, model)
	if err != nil {
		return err
	}
	pr := newProgress(stderr, qt)
	job := convert.Job{Out: out, ANN: model, Synth: synthDir, Set: set, Settings: cf.settings, Seed: cf.seed, Software: version(),
		Progress: pr.reporter(), Prepare: cf.prepareLines(pr)}
	oc, cfg, err := convert.ToDir(ctx, job)
	if err != nil {
		return settingsError(err)
	}
	net, err := snn.New(m, cfg)
	if err != nil {
		return err
	}
	res := convertResult{Recipe: cf.recipe, Thresholds: oc.Thresholds, Layers: net.LayerNames(), Timesteps: cfg.Timesteps,
		Percentile: oc.Options.Percentile, InitMembrane: cfg.InitMembrane, Encoder: cfg.Encoder,
		CalibrationImages: oc.CalibrationImages, Selection: oc.Selection, Seconds: time.Since(start).Seconds(), Out: out}
	pr.clear()
	if jsonOut {
		return writeJSON(stdout, res)
	}
	printConvert(stdout, model, res, oc, cfg)
	return nil
}

// prepareLines reports the plan.
func (cf *calibFlags) prepareLines(pr *display) func(plan *convert.Plan, m *vgg.Model) error {
	return func(plan *convert.Plan, m *vgg.Model) error {
		k := plan.Sampling.Images
		switch plan.Recipe {
		case convert.RecipePaper:
			pr.line("balancing %d thresholds of %s on %d synthetic images at T=%d (the paper's recipe)", snn.SpikingLayers(m), m.Config.Name, k, cf.opts.Timesteps)
		case convert.RecipeSelect:
			pr.line("choosing settings for T=%d among %d candidates: thresholds on %d synthetic images, scored on %d held out", cf.opts.Timesteps, len(plan.Candidates), k, plan.HeldOut)
		}
		return nil
	}
}

func printConvert(w io.Writer, model string, res convertResult, oc *convert.Outcome, cfg snn.Config) {
	if oc.Selection != nil {
		printSelection(w, oc.Selection)
	}
	fmt.Fprintf(w, "converted %s to a spiking network (T=%d; %s; %d thresholds) in %.0fs; saved in %s (no training data accessed)\n",
		model, res.Timesteps, candidateText(snn.Candidate{Percentile: oc.Options.Percentile, InitMembrane: cfg.InitMembrane, Encoder: cfg.Encoder}),
		len(oc.Thresholds), res.Seconds, res.Out)
}

// candidateText describes conversion settings in words.
func candidateText(c snn.Candidate) string {
	th := "max current"
	if c.Percentile > 0 && c.Percentile < 100 {
		th = fmt.Sprintf("percentile %g", c.Percentile)
	}
	return fmt.Sprintf("%s, initial membrane %g·θ, %s input", th, c.InitMembrane, c.Encoder)
}

// thresholdName is the short table name of a threshold rule.
func thresholdName(percentile float64) string {
	if percentile > 0 && percentile < 100 {
		return fmt.Sprintf("p%g", percentile)
	}
	return "max"
}

// printSelection prints the scored candidates, marking the chosen one.
func printSelection(w io.Writer, s *snn.Selection) {
	fmt.Fprintf(w, "data-free selection at T=%d: agreement of the SNN's top-1 with the ANN's on %d held-out synthetic images\n(rule: %s)\n", s.Timesteps, s.HeldOutImages, s.Rule)
	fmt.Fprintf(w, "  %-10s %-6s %-8s %9s %9s\n", "threshold", "init", "encoder", fmt.Sprintf("T=%d", s.Timesteps), fmt.Sprintf("T=%d", s.HalfTimesteps))
	for i, c := range s.Candidates {
		th := thresholdName(c.Percentile)
		mark := ""
		if i == s.Chosen {
			mark = "  ← chosen"
		}
		if c.Error != "" {
			fmt.Fprintf(w, "  %-10s %-6g %-8s %s\n", th, c.InitMembrane, c.Encoder, c.Error)
			continue
		}
		fmt.Fprintf(w, "  %-10s %-6g %-8s %8.2f%% %8.2f%%%s\n", th, c.InitMembrane, c.Encoder, 100*c.Agreement, 100*c.AgreementHalf, mark)
	}
}

// loadSynth reads a synthetic image set and checks, by the weights digest
// in its manifest, that it was made from the ANN at model.
func loadSynth(dir, model string) (*synth.Set, error) {
	return loadSynthFor(dir, model, "--model "+model, "thresholds balanced on it would not fit this model")
}

// loadSynthFor is loadSynth with the wording of a mismatch: which model
// the set should come from (as the user named it) and why it matters.
func loadSynthFor(dir, model, which, why string) (*synth.Set, error) {
	if _, e := modelfile.ReadCard(dir); e == nil || errors.Is(e, modelfile.ErrInterrupted) {
		return nil, fmt.Errorf("%w: --synth %s holds a model, not a synthetic image set", errUsage, dir)
	}
	mdir := dir
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		mdir = filepath.Dir(dir)
	}
	// A set without a manifest (a bare binary file) cannot be checked.
	man, err := synth.ReadManifest(mdir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("--synth: %w", err)
	}
	if man != nil && man.ModelSHA256 != "" {
		digest, err := modelfile.WeightsDigest(model)
		if err != nil {
			return nil, err
		}
		if digest != man.ModelSHA256 {
			return nil, fmt.Errorf("%w: --synth %s was synthesised from another ANN (%s), not from %s; %s", errUsage, dir, man.Model, which, why)
		}
	}
	set, err := synth.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("read synthetic set: %w", err)
	}
	return set, nil
}

// settingsError turns convert.ErrSettings into a usage error in the
// flags' terms.
func settingsError(err error) error {
	if !errors.Is(err, convert.ErrSettings) {
		return err
	}
	msg := strings.TrimPrefix(err.Error(), convert.ErrSettings.Error()+": ")
	msg = strings.NewReplacer("calibration images ", "--calib-images ", "held-out ", "--held-out ").Replace(msg)
	return fmt.Errorf("%w: %s", errUsage, msg)
}
