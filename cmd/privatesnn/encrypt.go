package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/encrypt"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/vgg"
)

// encryptRecord is stored in the card's training field and in checkpoints.
type encryptRecord struct {
	Options  encrypt.Options       `json:"options"`
	PerClass int                   `json:"per_class"`
	Labels   string                `json:"labels"`
	History  []encrypt.EpochResult `json:"history,omitempty"`
}

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
	fs.TextVar(&f.o.Scale, "logit-scale", d.Scale, "the SNN's logits κ·S from its summed output potential S: sum (κ = 1), mean (κ = 1/T), match (κ fixed before training so κ·S spreads like the ANN's logits)")
	b.Int(fs, &f.o.MatchImages, "match-images", d.MatchImages, 1, 1<<20, "training images that fix κ for --logit-scale match")
	fs.TextVar(&f.surrogate, "surrogate", snn.Triangle, "surrogate gradient of the spike: triangle, fast-sigmoid or atan")
	b.Float(fs, &f.o.Surrogate.Gamma, "gamma", snn.DefaultGamma, interval{lo: 0, hi: 100, loOpen: true}, "surrogate height γ (the derivative at U = θ is γ/θ)")
	b.Float(fs, &f.o.Surrogate.Slope, "slope", 0, interval{lo: 0, hi: 1000}, "surrogate slope k of fast-sigmoid and atan (0: 5 for fast-sigmoid, 2 for atan)")
	b.Float(fs, &f.convDrop, "conv-dropout", 0, interval{lo: -1, hi: 0.99}, "dropout on conv spikes, mask fixed over T (-1: the model's conv dropout, as the reference)")
	b.Float(fs, &f.fcDrop, "fc-dropout", 0, interval{lo: -1, hi: 0.99}, "dropout on hidden FC spikes, mask fixed over T (-1: the model's classifier dropout, as the reference)")
	b.Int(fs, &f.o.CropPad, "crop-pad", d.CropPad, 0, 64, "augmentation: random crop with this padding (0: none)")
	fs.BoolVar(&f.o.Flip, "flip", d.Flip, "augmentation: random horizontal flip")
	fs.BoolVar(&f.o.Blur, "blur", d.Blur, "augmentation: blur every image with a 3×3 box filter (synthetic images drive the SNN harder than natural ones)")
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
	labelTarget = "target"
	labelFolder = "folder"
)

// finish completes the options from the model and checks them.
func (f *encryptFlags) finish(m *vgg.Model, norm modelfile.Normalization) error {
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
	f.o.Fill = convert.Normalization(norm).Black()
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
	if _, err := os.Stat(filepath.Join(f.out, modelfile.CardFile)); err == nil && !f.force && !f.resume {
		return fmt.Errorf("%s already holds a model; pass --force to replace it, or choose another --out", f.out)
	}
	if _, err := os.Stat(filepath.Join(f.out, modelfile.CheckpointState)); err == nil && !f.force && !f.resume {
		return fmt.Errorf("%s holds an interrupted run; pass --resume to continue it or --force to start over", f.out)
	}
	start := time.Now()
	m0, card, err := loadModel(f.model, "model", modelfile.KindSNN)
	if err != nil {
		return err
	}
	if err := f.finish(m0, card.Normalization); err != nil {
		return err
	}
	teacherPath, err := f.teacher(card)
	if err != nil {
		return err
	}
	teacher, _, err := loadModel(teacherPath, "ann", modelfile.KindANN)
	if err != nil {
		return err
	}
	if !sameShape(teacher.Config, m0.Config) {
		return fmt.Errorf("%w: --ann %s is a different network (%s) from the SNN's (%s)", errUsage, teacherPath, teacher.Config.Name, m0.Config.Name)
	}
	set, err := loadSynthFor(f.synth, teacherPath, fmt.Sprintf("the ANN %s that --model %s comes from", teacherPath, f.model),
		"training on it would distil another network")
	if err != nil {
		return err
	}
	mc := m0.Config
	if set.Channels != mc.InChannels || set.Height != mc.InHeight || set.Width != mc.InWidth || set.Classes != mc.Classes {
		return fmt.Errorf("%w: synthetic images are %d×%d×%d in %d classes, model %s expects %d×%d×%d in %d", errUsage, set.Channels, set.Height, set.Width,
			set.Classes, mc.Name, mc.InChannels, mc.InHeight, mc.InWidth, mc.Classes)
	}
	pr := newProgress(stderr, f.quiet)

	// The trained model starts as a copy of the converted one.
	m, _, err := modelfile.Load(f.model)
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	var state *encrypt.State
	outCard := *card
	if f.resume {
		ck, rs, err := f.loadCheckpoint()
		if err != nil {
			return err
		}
		m, state = ck, &rs.State
		pr.line("resuming the run in %s at epoch %d, step %d", f.out, rs.Epoch+1, rs.Step+1)
	}
	o := f.o
	labels, err := trainingLabels(set, f.labels)
	if err != nil {
		return err
	}
	// The subset is balanced over the classes the labels name.
	idx, err := encrypt.BalancedSubset(labels, set.Classes, f.perClass, rand.New(rand.NewPCG(o.Seed, 0x5b5e7)))
	if err != nil {
		return fmt.Errorf("%w: --per-class %d: %s (--labels %s): %s", errUsage, f.perClass, f.synth, f.labels, strings.TrimPrefix(err.Error(), "encrypt: "))
	}
	x, err := convert.NormalizeImages(len(idx), set.Channels, set.Height, set.Width, func(i int) []uint8 { return set.Image(idx[i]) },
		convert.Normalization(card.Normalization))
	if err != nil {
		return err
	}
	y := make([]int32, len(idx))
	for i, j := range idx {
		y[i] = labels[j]
	}
	net, err := snn.New(m, card.SNN.Config)
	if err != nil {
		return err
	}
	if state == nil {
		k, err := encrypt.Kappa(ctx, teacher, net, x, o)
		if err != nil {
			return err
		}
		state = &encrypt.State{Kappa: k, Optimizer: o.NewOptimizer()}
	}
	recipe := modelfile.RecipeCET
	if o.Distill {
		recipe = modelfile.RecipeCETOD
	}
	parent, err := modelfile.NewRef(f.out, f.model)
	if err != nil {
		return err
	}
	teacherRef, err := modelfile.NewRef(f.out, teacherPath)
	if err != nil {
		return err
	}
	snnSpec := *card.SNN
	snnSpec.Encryption = &modelfile.Encryption{Recipe: recipe, Labels: f.labels, LogitScale: string(o.Scale), Kappa: state.Kappa, Epochs: o.Epochs,
		PerClass: f.perClass, Images: len(idx), Source: "synthetic:" + f.synth, Seed: o.Seed, Teacher: teacherRef}
	outCard.SNN = &snnSpec
	outCard.Seed = o.Seed
	outCard.Metrics = nil
	outCard.Training = nil
	outCard.Provenance = modelfile.Provenance{Dataset: "none (synthetic images)", TrainingDataAccessed: false, Parent: parent, Software: version()}

	pr.line("class-encryption training (%s) of %s at T=%d on %d synthetic images (%d per class), %s, batch %d; κ = %.4g (%s)",
		recipe, f.model, net.Config.Timesteps, len(idx), f.perClass, plural(o.Epochs, "epoch"), o.BatchSize, state.Kappa, o.Scale)
	pr.line("%s", scheduleOf(o.Epochs, o.LRAt))
	hooks := encrypt.Hooks{
		Progress: func(p encrypt.Progress) error {
			if testHookStep != nil && p.EpochDone == nil {
				testHookStep()
			}
			if r := p.EpochDone; r != nil {
				pr.line("epoch %d/%d  loss %.4f (ce %.4f, kd %.4f)  train %.2f%%  lr %.3g  %.1fs (%.1f img/s)",
					r.Epoch, p.Epochs, r.Loss, r.CE, r.KD, 100*r.TrainAcc, r.LR, r.Seconds, r.ImagesPerS)
				return nil
			}
			pr.update(fmt.Sprintf("epoch %d/%d", p.Epoch, p.Epochs), p.Step, p.Steps, p.Elapsed,
				fmt.Sprintf("loss %.4f (ce %.4f, kd %.4f) train %.2f%%", p.Loss, p.CE, p.KD, 100*p.TrainAcc))
			return nil
		},
		Save: func(st encrypt.State) error {
			rec, err := json.Marshal(encryptRecord{Options: o, PerClass: f.perClass, Labels: f.labels, History: st.History})
			if err != nil {
				return err
			}
			return modelfile.SaveCheckpoint(f.out, m, modelfile.Checkpoint{Card: outCard, Epoch: st.Epoch, Step: st.Step,
				Options: rec, Optimizer: st.Optimizer.State()})
		},
	}
	st, err := encrypt.Run(ctx, teacher, net, x, y, o, state, hooks)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			pr.line("interrupted: checkpoint saved in %s; continue with --resume", f.out)
		}
		return err
	}
	changes, err := encrypt.WeightChange(m0, m)
	if err != nil {
		return err
	}
	res := encryptResult{Recipe: recipe, LogitScale: o.Scale, Kappa: st.Kappa, Timesteps: net.Config.Timesteps, Images: len(idx),
		PerClass: f.perClass, Epochs: o.Epochs, History: st.History, Seconds: time.Since(start).Seconds(), PeakRSS: peakRSS(),
		Out: f.out, Teacher: teacherPath}
	if n := len(st.History); n > 0 {
		res.TrainAcc = st.History[n-1].TrainAcc
	}
	for _, c := range changes {
		res.WeightChange = append(res.WeightChange, modelfile.WeightChange{Name: c.Name, Relative: c.Relative})
	}
	snnSpec.Encryption.WeightChange = res.WeightChange
	// The card holds no timings, so the same seed gives the same bytes.
	hist := make([]encrypt.EpochResult, len(st.History))
	for i, h := range st.History {
		h.Seconds, h.ImagesPerS = 0, 0
		hist[i] = h
	}
	rec, err := json.Marshal(encryptRecord{Options: o, PerClass: f.perClass, Labels: f.labels, History: hist})
	if err != nil {
		return err
	}
	outCard.Training = rec
	outCard.Metrics = map[string]float64{"train_accuracy_synthetic": res.TrainAcc}
	if err := modelfile.Save(f.out, m, outCard); err != nil {
		return err
	}
	if err := modelfile.RemoveCheckpoint(f.out); err != nil {
		return err
	}
	pr.clear()
	if f.json {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "trained %s with %s for %s in %.0fs (κ = %.4g, %s): synthetic training accuracy %.2f%%; saved in %s (no training data accessed)\n",
		f.model, recipe, plural(o.Epochs, "epoch"), res.Seconds, res.Kappa, o.Scale, 100*res.TrainAcc, f.out)
	fmt.Fprint(stdout, "relative weight change:")
	for _, c := range res.WeightChange {
		fmt.Fprintf(stdout, " %s %.3f", c.Name, c.Relative)
	}
	fmt.Fprintln(stdout)
	return nil
}

// trainingLabels returns the hard label of every synthetic image: its
// folder class, or the argmax of the soft label it was synthesised towards.
func trainingLabels(set *synth.Set, source string) ([]int32, error) {
	y := make([]int32, set.Len())
	if source == labelFolder {
		for i, c := range set.Labels {
			y[i] = int32(c)
		}
		return y, nil
	}
	k := set.Classes
	if len(set.Soft) != set.Len()*k {
		return nil, fmt.Errorf("%w: --labels target: the synthetic set has no soft labels; use --labels folder", errUsage)
	}
	for i := range y {
		row := set.Soft[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		y[i] = int32(best)
	}
	return y, nil
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

// resumedState is a checkpoint's position.
type resumedState struct {
	encrypt.State
}

// loadCheckpoint reads the interrupted run in --out: its weights and where
// it stands. The options come from the checkpoint; flags that differ are
// an error, so a resumed run is the run that was started.
func (f *encryptFlags) loadCheckpoint() (*vgg.Model, *resumedState, error) {
	m, ck, err := modelfile.LoadCheckpoint(f.out)
	if err != nil {
		if _, e := modelfile.ReadCard(f.out); e == nil {
			return nil, nil, fmt.Errorf("%w: %s holds a finished run, nothing to resume", errUsage, f.out)
		}
		return nil, nil, fmt.Errorf("resume: %w", err)
	}
	var rec encryptRecord
	if err := json.Unmarshal(ck.Options, &rec); err != nil {
		return nil, nil, fmt.Errorf("resume %s: options: %w", f.out, err)
	}
	if ck.Card.SNN == nil || ck.Card.SNN.Encryption == nil {
		return nil, nil, fmt.Errorf("resume %s: the checkpoint is not a class-encryption run", f.out)
	}
	a, _ := json.Marshal(rec.Options)
	b, _ := json.Marshal(f.o)
	if string(a) != string(b) || rec.PerClass != f.perClass || rec.Labels != f.labels {
		return nil, nil, fmt.Errorf("%w: the run in %s was started with other settings (%s, %d per class, labels %s); resume it with the same flags", errUsage, f.out, a, rec.PerClass, rec.Labels)
	}
	opt := rec.Options.NewOptimizer()
	if err := opt.LoadState(ck.Optimizer); err != nil {
		return nil, nil, fmt.Errorf("resume %s: %w", f.out, err)
	}
	st := &resumedState{State: encrypt.State{Epoch: ck.Epoch, Step: ck.Step, Kappa: ck.Card.SNN.Encryption.Kappa, Optimizer: opt,
		History: rec.History}}
	return m, st, nil
}
