package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/privatesnn/privatesnn/encrypt"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/vgg"
)

type encryptResult struct {
	Recipe       string                   `json:"recipe"`
	LogitScale   encrypt.Scale            `json:"logit_scale"`
	Kappa        float64                  `json:"kappa"`
	Timesteps    int                      `json:"timesteps"`
	Images       int                      `json:"images"`
	PerClass     int                      `json:"per_class"`
	Epochs       int                      `json:"epochs"`
	TrainAcc     float64                  `json:"train_accuracy"` // last epoch, synthetic training images
	History      []encrypt.EpochResult    `json:"history"`
	WeightChange []modelfile.WeightChange `json:"weight_change"`
	Seconds      float64                  `json:"seconds"`
	PeakRSS      int64                    `json:"peak_rss_bytes,omitempty"`
	Out          string                   `json:"out"`
	Teacher      string                   `json:"teacher,omitempty"`
	// TrainingDataAccessed is always false: encryption reads synthetic
	// images only.
	TrainingDataAccessed bool `json:"training_data_accessed"`
}

// encryptFlags holds the command's settings.
type encryptFlags struct {
	o                   encrypt.Options
	model, synth, ann   string
	out                 string
	perClass, threads   int
	labels              string
	convDrop, fcDrop    float64
	surrogate           snn.SurrogateKind
	resume, force, json bool
	quiet               bool
	fs                  *flag.FlagSet
}

func (f *encryptFlags) register(fs *flag.FlagSet, b *bounds) {
	f.o = encrypt.Defaults()
	d := f.o
	fs.StringVar(&f.model, "model", "", "converted spiking model to train (from 'privatesnn convert'; required)")
	fs.StringVar(&f.synth, "synth", "", "synthetic image set made from the SNN's ANN (from 'privatesnn synth'; required)")
	fs.StringVar(&f.ann, "ann", "", "the ANN to distil from (default: the ANN the SNN was converted from, found through its card)")
	fs.StringVar(&f.out, "out", "", "output directory of the trained spiking model (required)")
	b.Int(fs, &f.perClass, "per-class", 20, 1, 1<<20, "synthetic training images per class (a class-balanced subset of --synth)")
	fs.StringVar(&f.labels, "labels", labelTarget, "hard labels of the cross-entropy term: target (the class of the soft label each image was synthesised towards, its argmax) or folder (the class folder the image is stored in, the reference's choice)")
	b.Int(fs, &f.o.Epochs, "epochs", d.Epochs, 1, 100000, "training epochs")
	b.Int(fs, &f.o.BatchSize, "batch", d.BatchSize, 1, 1<<14, "images per training step")
	b.Float(fs, &f.o.LR, "lr", d.LR, interval{lo: 0, hi: 1, loOpen: true}, "Adam learning rate (÷10 at 50 % and 70 % of the epochs)")
	b.Float(fs, &f.o.WeightDecay, "weight-decay", d.WeightDecay, interval{lo: 0, hi: 1}, "L2 weight decay added to the gradient")
	fs.BoolVar(&f.o.Distill, "distill", d.Distill, "on-device distillation from the ANN (--distill=false: cross-entropy only)")
	b.Float(fs, &f.o.Mix, "mix", d.Mix, interval{lo: 0, hi: 1}, "m, the weight of the distillation term")
	b.Float(fs, &f.o.Temperature, "temperature", d.Temperature, interval{lo: 0, hi: 1e6, loOpen: true}, "τ, the distillation temperature")
	fs.TextVar(&f.o.Scale, "logit-scale", d.Scale, "the SNN's logits κ·S from its summed output potential S: sum (κ = 1), mean (κ = 1/T), match (κ fixed before training so κ·S spreads like the ANN's logits), threshold (κ = Π θ / T over the spiking layers: the conversion's own scale)")
	b.Int(fs, &f.o.MatchImages, "match-images", d.MatchImages, 1, 1<<20, "training images that fix κ for --logit-scale match")
	fs.TextVar(&f.surrogate, "surrogate", snn.Triangle, "surrogate gradient of the spike: triangle, fast-sigmoid or atan")
	b.Float(fs, &f.o.Surrogate.Gamma, "gamma", snn.DefaultGamma, interval{lo: 0, hi: 100, loOpen: true}, "surrogate height γ (the derivative at U = θ is γ/θ)")
	b.Float(fs, &f.o.Surrogate.Slope, "slope", 0, interval{lo: 0, hi: 1000}, "surrogate slope k of fast-sigmoid and atan (0: 5 for fast-sigmoid, 2 for atan)")
	b.Float(fs, &f.convDrop, "conv-dropout", 0, interval{lo: -1, hi: 0.99}, "dropout on conv spikes, mask fixed over T (-1: the model's conv dropout, as the reference)")
	b.Float(fs, &f.fcDrop, "fc-dropout", 0, interval{lo: -1, hi: 0.99}, "dropout on hidden FC spikes, mask fixed over T (-1: the model's classifier dropout, as the reference)")
	b.Int(fs, &f.o.CropPad, "crop-pad", d.CropPad, 0, 64, "augmentation: random crop with this padding (0: none)")
	fs.BoolVar(&f.o.Flip, "flip", d.Flip, "augmentation: random horizontal flip")
	fs.BoolVar(&f.o.Blur, "blur", d.Blur, "augmentation: blur every image with a 3×3 box filter (synthetic images drive the SNN harder than natural ones)")
	fs.BoolVar(&f.o.Mixup, "mixup", d.Mixup, "augmentation: blend every image with another of its batch (λ uniform in [0, 1)); the ANN is distilled on the blend and the cross-entropy target is blended alike")
	fs.Uint64Var(&f.o.Seed, "seed", 0, "random seed (subset, shuffles, augmentation, Poisson spikes, dropout)")
	fs.BoolVar(&f.resume, "resume", false, "continue the interrupted run in --out from its checkpoint")
	fs.BoolVar(&f.force, "force", false, "replace the model files in an existing --out (other files stay)")
	outputFlags(fs, &f.json, &f.quiet, &f.threads)
	f.fs = fs
}

// set reports whether the named flag was given.
func (f *encryptFlags) set(name string) bool {
	found := false
	f.fs.Visit(func(fl *flag.Flag) { found = found || fl.Name == name })
	return found
}

// Label sources for the cross-entropy term.
const (
	labelTarget = encrypt.LabelsTarget
	labelFolder = encrypt.LabelsFolder
)

// finish completes the options from the model and checks them.
func (f *encryptFlags) finish(m *vgg.Model, norm imageset.Normalization) error {
	if f.labels != labelTarget && f.labels != labelFolder {
		return fmt.Errorf("%w: --labels %q: want target or folder", errUsage, f.labels)
	}
	f.o.Surrogate.Kind = f.surrogate
	if f.o.Surrogate.Kind != snn.Triangle && f.o.Surrogate.Slope == 0 {
		f.o.Surrogate.Slope = snn.NewSurrogate(f.o.Surrogate.Kind).Slope
	}
	if f.o.Surrogate.Kind == snn.Triangle && f.set("slope") {
		return fmt.Errorf("%w: --slope applies to --surrogate fast-sigmoid and atan", errUsage)
	}
	f.o.ConvDropout, f.o.FCDropout = m.Config.ConvDropout, m.Config.FCDropout
	if f.convDrop >= 0 {
		f.o.ConvDropout = f.convDrop
	}
	if f.fcDrop >= 0 {
		f.o.FCDropout = f.fcDrop
	}
	f.o.Fill = norm.Black()
	if err := f.o.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

func runEncrypt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f encryptFlags
	var b bounds
	fs := newFlagSet("encrypt")
	f.register(fs, &b)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if err := f.validate(&b); err != nil {
		return err
	}
	start := time.Now()
	job, err := f.job()
	if err != nil {
		return err
	}
	pr := newProgress(stderr, f.quiet)
	oc, err := encrypt.Train(ctx, job, f.startLines(pr), pr.reporter())
	if err != nil {
		return f.trainError(err, pr)
	}
	st := oc.State
	res := encryptResult{Recipe: oc.Card.SNN.Encryption.Recipe, LogitScale: f.o.Scale, Kappa: st.Kappa, Timesteps: oc.Timesteps, Images: oc.Images,
		PerClass: f.perClass, Epochs: f.o.Epochs, History: st.History, Seconds: time.Since(start).Seconds(), PeakRSS: peakRSS(),
		Out: f.out, Teacher: job.Teacher, WeightChange: oc.WeightChange}
	if n := len(st.History); n > 0 {
		res.TrainAcc = st.History[n-1].TrainAcc
	}
	pr.clear()
	if f.json {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "trained %s with %s for %s in %.0fs (κ = %.4g, %s): synthetic training accuracy %.2f%%; saved in %s (no training data accessed)\n",
		f.model, res.Recipe, plural(f.o.Epochs, "epoch"), res.Seconds, res.Kappa, f.o.Scale, 100*res.TrainAcc, f.out)
	fmt.Fprint(stdout, "relative weight change:")
	for _, c := range res.WeightChange {
		fmt.Fprintf(stdout, " %s %.3f", c.Name, c.Relative)
	}
	fmt.Fprintln(stdout)
	return nil
}

// validate checks the flags and what --out holds.
func (f *encryptFlags) validate(b *bounds) error {
	if err := b.check(); err != nil {
		return err
	}
	if f.model == "" || f.synth == "" || f.out == "" {
		return fmt.Errorf("%w: --model, --synth and --out are required", errUsage)
	}
	if f.resume && f.force {
		return fmt.Errorf("%w: --resume continues the run in --out, --force replaces it; pass one", errUsage)
	}
	if err := setThreads(f.threads); err != nil {
		return err
	}
	inputs := []string{f.model, f.synth}
	if f.ann != "" {
		inputs = append(inputs, f.ann)
	}
	if err := checkOutput(f.out, inputs...); err != nil {
		return err
	}
	_, errCard := os.Stat(filepath.Join(f.out, modelfile.CardFile))
	_, errCk := os.Stat(filepath.Join(f.out, modelfile.CheckpointState))
	switch {
	case errCard == nil && !f.force && !f.resume:
		return fmt.Errorf("%s already holds a model; pass --force to replace it, or choose another --out", f.out)
	case errCk == nil && !f.force && !f.resume:
		return fmt.Errorf("%s holds an interrupted run; pass --resume to continue it or --force to start over", f.out)
	case f.resume && errCk != nil && errCard == nil:
		return fmt.Errorf("%w: %s holds a finished run, nothing to resume", errUsage, f.out)
	}
	return nil
}

// job loads and checks the inputs before any work and returns the job.
func (f *encryptFlags) job() (encrypt.Job, error) {
	m0, card, err := loadModel(f.model, "model", modelfile.KindSNN)
	if err != nil {
		return encrypt.Job{}, err
	}
	if err := f.finish(m0, card.Normalization); err != nil {
		return encrypt.Job{}, err
	}
	teacherPath, err := f.teacher(card)
	if err != nil {
		return encrypt.Job{}, err
	}
	teacher, _, err := loadModel(teacherPath, "ann", modelfile.KindANN)
	if err != nil {
		return encrypt.Job{}, err
	}
	if !sameShape(teacher.Config, m0.Config) {
		return encrypt.Job{}, fmt.Errorf("%w: --ann %s is a different network (%s) from the SNN's (%s)", errUsage, teacherPath, teacher.Config.Name, m0.Config.Name)
	}
	set, err := loadSynthFor(f.synth, teacherPath, fmt.Sprintf("the ANN %s that --model %s comes from", teacherPath, f.model),
		"training on it would distil another network")
	if err != nil {
		return encrypt.Job{}, err
	}
	mc := m0.Config
	if set.Channels != mc.InChannels || set.Height != mc.InHeight || set.Width != mc.InWidth || set.Classes != mc.Classes {
		return encrypt.Job{}, fmt.Errorf("%w: synthetic images are %d×%d×%d in %d classes, model %s expects %d×%d×%d in %d", errUsage, set.Channels, set.Height, set.Width,
			set.Classes, mc.Name, mc.InChannels, mc.InHeight, mc.InWidth, mc.Classes)
	}
	return encrypt.Job{Out: f.out, SNN: f.model, Teacher: teacherPath, Synth: f.synth, Set: set, Labels: f.labels, PerClass: f.perClass,
		Options: f.o, Resume: f.resume, Software: version()}, nil
}

// startLines reports the training about to run.
func (f *encryptFlags) startLines(pr *display) func(encrypt.Start) error {
	o := f.o
	return func(s encrypt.Start) error {
		if s.Resumed {
			pr.line("resuming the run in %s at epoch %d, step %d", f.out, s.Epoch+1, s.Step+1)
		}
		pr.line("class-encryption training (%s) of %s at T=%d on %d synthetic images (%d per class), %s, batch %d; κ = %.4g (%s)",
			s.Recipe, f.model, s.Timesteps, s.Images, f.perClass, plural(o.Epochs, "epoch"), o.BatchSize, s.Kappa, o.Scale)
		pr.line("%s", scheduleOf(o.Epochs, o.LRAt))
		return nil
	}
}

// trainError words encrypt.Train's errors in the flags' terms.
func (f *encryptFlags) trainError(err error, pr *display) error {
	switch {
	case errors.Is(err, context.Canceled):
		pr.line("interrupted: checkpoint saved in %s; continue with --resume", f.out)
		return err
	case errors.Is(err, encrypt.ErrSettingsChanged):
		return fmt.Errorf("%w: %s: %v; resume it with the same flags", errUsage, f.out, err)
	case errors.Is(err, encrypt.ErrNothingToResume):
		return fmt.Errorf("resume: %w", err)
	case errors.Is(err, encrypt.ErrTooFewImages):
		return fmt.Errorf("%w: --per-class %d: %s (--labels %s): %s", errUsage, f.perClass, f.synth, f.labels,
			strings.TrimPrefix(err.Error(), encrypt.ErrTooFewImages.Error()+": "))
	}
	return err
}

// teacher returns the ANN to distil from: --ann, or the first ANN up the
// SNN's chain of parents.
func (f *encryptFlags) teacher(card *modelfile.Card) (string, error) {
	if f.ann != "" {
		return f.ann, nil
	}
	p, err := ancestorANN(f.model, card)
	if err != nil {
		return "", fmt.Errorf("%w: %v; pass --ann", errUsage, err)
	}
	return p, nil
}

// ancestorANN follows the parent references from the model at path (with
// card c) to the first ANN.
func ancestorANN(path string, c *modelfile.Card) (string, error) {
	for hop := range 16 {
		if c.Kind == modelfile.KindANN {
			return path, nil
		}
		if c.Provenance.Parent == nil {
			return "", fmt.Errorf("%s names no parent model", path)
		}
		p, err := c.Provenance.Parent.Resolve(path)
		if err != nil {
			if hop == 0 {
				return "", err
			}
			return "", fmt.Errorf("the parent of %s: %w", path, err)
		}
		if c, err = modelfile.ReadCard(p); err != nil {
			return "", err
		}
		path = p
	}
	return "", fmt.Errorf("%s: more than 16 models up to its ANN", path)
}
