package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/privatesnn/privatesnn/encrypt"
	"github.com/privatesnn/privatesnn/internal/workload"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/stage"
)

// encryptFlags registers the class-encryption settings into s.
func encryptFlags(fs *flag.FlagSet, b *bounds, s *stage.EncryptSettings) {
	o, d := &s.Options, s.Options
	b.Int(fs, &s.PerClass, "per-class", s.PerClass, 1, 1<<20, "synthetic training images per class (a class-balanced subset of --synth)")
	fs.TextVar(&s.Labels, "labels", s.Labels, "hard labels of the cross-entropy term: target (the class of the soft label each image was synthesised towards, its argmax) or folder (the class folder the image is stored in, the reference's choice)")
	b.Int(fs, &o.Epochs, "epochs", d.Epochs, 1, 100000, "training epochs")
	b.Int(fs, &o.BatchSize, "batch", d.BatchSize, 1, 1<<14, "images per training step")
	b.Float(fs, &o.LR, "lr", d.LR, interval{lo: 0, hi: 1, loOpen: true}, "Adam learning rate (÷10 at 50 % and 70 % of the epochs)")
	b.Float(fs, &o.WeightDecay, "weight-decay", d.WeightDecay, interval{lo: 0, hi: 1}, "L2 weight decay added to the gradient")
	fs.BoolVar(&o.Distill, "distill", d.Distill, "on-device distillation from the ANN (--distill=false: cross-entropy only)")
	b.Float(fs, &o.Mix, "mix", d.Mix, interval{lo: 0, hi: 1}, "m, the weight of the distillation term")
	b.Float(fs, &o.Temperature, "temperature", d.Temperature, interval{lo: 0, hi: 1e6, loOpen: true}, "τ, the distillation temperature")
	fs.TextVar(&o.Scale, "logit-scale", d.Scale, "the SNN's logits κ·S from its summed output potential S: sum (κ = 1), mean (κ = 1/T), match (κ fixed before training so κ·S spreads like the ANN's logits), threshold (κ = Π θ / T over the spiking layers: the conversion's own scale)")
	b.Int(fs, &o.MatchImages, "match-images", d.MatchImages, 1, 1<<20, "training images that fix κ for --logit-scale match")
	fs.TextVar(&o.Surrogate.Kind, "surrogate", d.Surrogate.Kind, "surrogate gradient of the spike: triangle, fast-sigmoid or atan")
	b.Float(fs, &o.Surrogate.Gamma, "gamma", snn.DefaultGamma, interval{lo: 0, hi: 100, loOpen: true}, "surrogate height γ (the derivative at U = θ is γ/θ)")
	b.Float(fs, &o.Surrogate.Slope, "slope", 0, interval{lo: 0, hi: 1000}, "surrogate slope k of fast-sigmoid and atan (0: 5 for fast-sigmoid, 2 for atan)")
	b.Float(fs, &o.ConvDropout, "conv-dropout", 0, interval{lo: -1, hi: 0.99}, "dropout on conv spikes, mask fixed over T (-1: the model's conv dropout, as the reference)")
	b.Float(fs, &o.FCDropout, "fc-dropout", 0, interval{lo: -1, hi: 0.99}, "dropout on hidden FC spikes, mask fixed over T (-1: the model's classifier dropout, as the reference)")
	b.Int(fs, &o.CropPad, "crop-pad", d.CropPad, 0, 64, "augmentation: random crop with this padding (0: none)")
	fs.BoolVar(&o.Flip, "flip", d.Flip, "augmentation: random horizontal flip")
	fs.BoolVar(&o.Blur, "blur", d.Blur, "augmentation: blur every image with a 3×3 box filter (synthetic images drive the SNN harder than natural ones)")
	fs.BoolVar(&o.Mixup, "mixup", d.Mixup, "augmentation: blend every image with another of its batch (λ uniform in [0, 1)); the ANN is distilled on the blend and the cross-entropy target is blended alike")
	fs.Uint64Var(&o.Seed, "seed", 0, "random seed (subset, shuffles, augmentation, Poisson spikes, dropout)")
	defenseFlags(fs, b, o)
}

// defenseFlags registers the inversion defences' settings into o; each is
// off at its default.
func defenseFlags(fs *flag.FlagSet, b *bounds, o *encrypt.Options) {
	d := *o
	b.Float(fs, &o.LabelSmoothing, "label-smoothing", d.LabelSmoothing, interval{lo: -1, hi: 0.99},
		"α of the cross-entropy target (1 − α)·y + α/K: negative (e.g. -0.2) is negative label smoothing, an inversion defence; positive is ordinary smoothing, known to increase inversion leakage (0: off)")
	b.Float(fs, &o.TrapdoorRate, "trapdoor-rate", d.TrapdoorRate, interval{lo: 0, hi: 1},
		"inversion defence: ρ, the share of each batch's images that get a random class's smooth trigger pattern blended in and learn that class by cross-entropy alone (0: off)")
	b.Float(fs, &o.TrapdoorBlend, "trapdoor-blend", d.TrapdoorBlend, interval{lo: 0, hi: 1},
		fmt.Sprintf("β, the trigger's share of a triggered image, in (0, 1] (0: %g)", encrypt.DefaultTrapdoorBlend))
	fs.Uint64Var(&o.TrapdoorSeed, "trapdoor-seed", d.TrapdoorSeed,
		"seed of the trapdoor's trigger patterns; it is recorded in the model's card, so keep the card's training record from attackers")
	b.Float(fs, &o.EraseRate, "erase-rate", d.EraseRate, interval{lo: 0, hi: 1},
		"inversion defence: the probability that an augmented image gets one random rectangle replaced by noise (random erasing; the ANN is distilled on the erased image; 0: off)")
	fs.Var(areaFlag{&o.EraseArea}, "erase-area",
		fmt.Sprintf("bounds of the erased rectangle's share of the image, `MIN,MAX` with 0 < MIN ≤ MAX ≤ 1 (default %g,%g)", encrypt.DefaultEraseMin, encrypt.DefaultEraseMax))
	b.checks = append(b.checks, func() error {
		if a := o.EraseArea; a != ([2]float64{}) && !(a[0] > 0 && a[0] <= a[1] && a[1] <= 1) {
			return usagef("--erase-area %g,%g out of range: want 0 < MIN ≤ MAX ≤ 1", a[0], a[1])
		}
		return nil
	})
}

// areaFlag reads "MIN,MAX" into a pair; the zero pair shows as "".
type areaFlag struct{ p *[2]float64 }

func (a areaFlag) Set(s string) error {
	lo, hi, ok := strings.Cut(s, ",")
	if !ok {
		return fmt.Errorf("want MIN,MAX, got %q", s)
	}
	var v [2]float64
	for i, f := range []string{lo, hi} {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return fmt.Errorf("want MIN,MAX, got %q: %w", s, err)
		}
		v[i] = x
	}
	*a.p = v
	return nil
}

func (a areaFlag) String() string {
	if a.p == nil || *a.p == ([2]float64{}) {
		return ""
	}
	return strconv.FormatFloat(a.p[0], 'g', -1, 64) + "," + strconv.FormatFloat(a.p[1], 'g', -1, 64)
}

// encryptCommand is the encrypt command's settings.
type encryptCommand struct {
	job               stage.EncryptJob
	model, synth, ann string
	force             bool
	out               output
}

func runEncrypt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := encryptCommand{job: stage.EncryptJob{Settings: stage.DefaultEncryptSettings(), Software: version()}}
	var b bounds
	fs := newFlagSet("encrypt")
	fs.StringVar(&c.model, "model", "", "converted spiking model to train (from 'privatesnn convert'; required)")
	fs.StringVar(&c.synth, "synth", "", "synthetic image set made from the SNN's ANN (from 'privatesnn synth'; required)")
	fs.StringVar(&c.ann, "ann", "", "the ANN to distil from (default: the ANN the SNN was converted from, found through its card)")
	fs.StringVar(&c.job.Out, "out", "", "output directory of the trained spiking model (required)")
	encryptFlags(fs, &b, &c.job.Settings)
	fs.BoolVar(&c.job.Resume, "resume", false, "continue the interrupted run in --out from its checkpoint")
	fs.BoolVar(&c.force, "force", false, "replace the model files in an existing --out (other files stay)")
	c.out.register(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := c.load(&b); err != nil {
		return err
	}
	type result struct {
		*stage.EncryptResult
		PeakRSS int64 `json:"peak_rss_bytes,omitempty"`
	}
	enc := func(ctx context.Context, j stage.EncryptJob, p progress.Func) (result, error) {
		res, err := stage.Encrypt(ctx, j, p)
		return result{res, max(0, workload.PeakRSS())}, err
	}
	return runStage(ctx, c.out, stdout, stderr, enc, c.job, func(r result, w io.Writer) error { return c.print(w, r.EncryptResult) }, c.trainError)
}

// print writes the trained model's summary.
func (c *encryptCommand) print(stdout io.Writer, res *stage.EncryptResult) error {
	fmt.Fprintf(stdout, "trained %s with %s for %s in %.0fs (κ = %.4g, %s): synthetic training accuracy %.2f%%; saved in %s (no training data accessed)\n",
		c.model, res.Recipe, plural(res.Epochs, "epoch"), res.Seconds, res.Kappa, res.LogitScale, 100*res.TrainAcc, res.Out)
	if d := c.job.Settings.Options.Defenses(); d != "" {
		fmt.Fprintf(stdout, "inversion defences: %s\n", d)
	}
	fmt.Fprint(stdout, "relative weight change:")
	for _, w := range res.WeightChange {
		fmt.Fprintf(stdout, " %s %.3f", w.Name, w.Relative)
	}
	fmt.Fprintln(stdout)
	return nil
}

// load checks the flags and what --out holds, and loads the inputs.
func (c *encryptCommand) load(b *bounds) error {
	if err := ready(b, c.out.threads, "--model", c.model, "--synth", c.synth, "--out", c.job.Out); err != nil {
		return err
	}
	if c.job.Resume && c.force {
		return usagef("--resume continues the run in --out, --force replaces it; pass one")
	}
	if err := checkRun(c.job.Out, c.force, c.job.Resume, c.model, c.synth, c.ann); err != nil {
		return err
	}
	var err error
	if c.job.SNN, err = loadModel(c.model, stage.RoleModel, modelfile.KindSNN); err != nil {
		return err
	}
	teacher := c.ann
	if teacher == "" {
		if teacher, err = c.job.SNN.AncestorANN(); err != nil {
			return usagef("%v; pass --ann", err)
		}
	}
	if c.job.Teacher, err = loadModel(teacher, stage.RoleANN, modelfile.KindANN); err != nil {
		return err
	}
	if c.job.Synth, err = loadSynth(c.synth); err != nil {
		return err
	}
	return synthSource(c.job.Synth, c.job.Teacher, fmt.Sprintf("the ANN %s that --model %s comes from", teacher, c.model),
		"training on it would distil another network")
}

// checkRun refuses an --out that is an input, or that holds a model or an
// interrupted run the flags do not say what to do with.
func checkRun(out string, force, resume bool, inputs ...string) error {
	if err := checkOut(out, "", "", true, inputs...); err != nil {
		return err
	}
	card, ck := exists(out, modelfile.CardFile), exists(out, modelfile.CheckpointState)
	switch {
	case card && !force && !resume:
		return fmt.Errorf("%s already holds a model; pass --force to replace it, or choose another --out", out)
	case ck && !force && !resume:
		return fmt.Errorf("%s holds an interrupted run; pass --resume to continue it or --force to start over", out)
	case resume && !ck && card:
		return usagef("%s holds a finished run, nothing to resume; pass --force instead of --resume to replace it, or choose another --out", out)
	}
	return nil
}

// trainError words stage.Encrypt's errors in the flags' terms.
func (c *encryptCommand) trainError(err error, pr *display) error {
	switch {
	case errors.Is(err, context.Canceled):
		pr.line("interrupted: checkpoint saved in %s; continue with --resume", c.job.Out)
		return err
	case errors.Is(err, stage.ErrSettingsChanged):
		return usagef("%s: %v; resume it with the same flags", c.job.Out, err)
	case errors.Is(err, stage.ErrNothingToResume):
		return fmt.Errorf("resume: %w", err)
	}
	return userError(err)
}
