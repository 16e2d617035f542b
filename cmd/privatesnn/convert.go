package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/tensor"
)

// calibFlags are the threshold-balancing settings shared by convert and
// calibrate-compare.
type calibFlags struct {
	opts    convert.Options
	reset   snn.Reset
	encoder snn.Encoder
	images  int
	cropPad int
	flip    bool
	seed    uint64
	threads int
	fs      *flag.FlagSet
}

func (c *calibFlags) register(fs *flag.FlagSet, b *bounds) {
	c.opts = convert.Defaults()
	b.Int(fs, &c.opts.Timesteps, "timesteps", c.opts.Timesteps, 1, snn.MaxTimesteps, "time steps T of the spiking network (thresholds are balanced at this T)")
	b.Float(fs, &c.opts.Leak, "leak", c.opts.Leak, interval{lo: 0, hi: 1, loOpen: true}, "membrane leak λ (1 = integrate-and-fire)")
	fs.TextVar(&c.reset, "reset", snn.ResetSubtract, "reset after a spike: subtract or zero")
	fs.TextVar(&c.encoder, "encoder", snn.Poisson, "input encoding: poisson or direct")
	b.Float(fs, &c.opts.Percentile, "percentile", 0, interval{lo: 0, hi: 100}, "threshold = this percentile of the input currents, in [50, 100] (0: the maximum, as the reference)")
	b.Float(fs, &c.opts.Scale, "scale", 1, interval{lo: 0, hi: 100, loOpen: true}, "multiply every threshold by this factor")
	b.Int(fs, &c.opts.Batch, "batch", c.opts.Batch, 1, 1<<16, "calibration images simulated together")
	b.Int(fs, &c.images, "calib-images", defaultCalibImages, 1, 1<<20, "calibration images (the reference uses 2,048)")
	b.Int(fs, &c.cropPad, "crop-pad", 0, 0, 64, "random-crop padding applied to calibration images (0: none)")
	fs.BoolVar(&c.flip, "flip", false, "randomly mirror calibration images")
	fs.Uint64Var(&c.seed, "seed", 0, "random seed (image choice, augmentation, Poisson spikes)")
	fs.IntVar(&c.threads, "threads", 0, "threads to use (0: all cores)")
	c.fs = fs
}

// defaultCalibImages is the reference's number of calibration images.
const defaultCalibImages = 2048

func (c *calibFlags) validate() error {
	c.opts.Reset, c.opts.Encoder = c.reset, c.encoder
	if p := c.opts.Percentile; p > 0 && p < 50 {
		return fmt.Errorf("%w: --percentile %g out of range: want 0 (the maximum) or [50, 100]", errUsage, p)
	}
	if err := c.opts.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return setThreads(c.threads)
}

// calibCount returns how many of the available images to calibrate on. An
// explicit --calib-images beyond what is available is an error; the default
// then shrinks to all images, which note reports.
func (c *calibFlags) calibCount(available int, what string, note func(format string, args ...any)) (int, error) {
	if c.images <= available {
		return c.images, nil
	}
	set := false
	c.fs.Visit(func(f *flag.Flag) { set = set || f.Name == "calib-images" })
	if set {
		return 0, fmt.Errorf("%w: --calib-images %d: %s holds only %d images", errUsage, c.images, what, available)
	}
	note("calibrating on all %d images of %s (fewer than the default --calib-images %d)", available, what, defaultCalibImages)
	return available, nil
}

func (c *calibFlags) calibration() modelfile.Calibration {
	method := "max-current"
	if c.opts.Percentile > 0 && c.opts.Percentile < 100 {
		method = "percentile-current"
	}
	return modelfile.Calibration{Method: method, Percentile: c.opts.Percentile, Scale: c.opts.Scale, Seed: c.seed}
}

// pickImages returns k images [k, C, H, W] chosen without replacement by
// rng from n images produced by get (CHW bytes), normalised with norm.
func pickImages(n, c, h, w, k int, get func(i int) []uint8, norm modelfile.Normalization, rng *rand.Rand) *tensor.Tensor {
	k = min(k, n)
	idx := rng.Perm(n)[:k]
	x := tensor.New(k, c, h, w)
	size := c * h * w
	for j, i := range idx {
		for p, v := range get(i) {
			x.Data[j*size+p] = float32((float64(v)/255 - norm.Mean) / norm.Std)
		}
	}
	return x
}

type convertResult struct {
	Thresholds           []float32 `json:"thresholds"`
	Layers               []string  `json:"layers"`
	Timesteps            int       `json:"timesteps"`
	CalibrationImages    int       `json:"calibration_images"`
	Seconds              float64   `json:"seconds"`
	Out                  string    `json:"out"`
	TrainingDataAccessed bool      `json:"training_data_accessed"`
}

func runConvert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cf                 calibFlags
		b                  bounds
		model, synthDir    string
		out                string
		force, jsonOut, qt bool
	)
	fs := newFlagSet("convert")
	cf.register(fs, &b)
	fs.StringVar(&model, "model", "", "trained ANN (directory or file; required)")
	fs.StringVar(&synthDir, "synth", "", "synthetic image set from 'privatesnn synth' made from this ANN (directory or file; required)")
	fs.StringVar(&out, "out", "", "output directory of the spiking model (required)")
	fs.BoolVar(&force, "force", false, "replace the model files in an existing --out (other files stay)")
	fs.BoolVar(&jsonOut, "json", false, "print the result as one JSON object")
	fs.BoolVar(&qt, "quiet", false, "no progress on stderr")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
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
	m, card, err := loadModel(model, "model", modelfile.KindANN)
	if err != nil {
		return err
	}
	set, err := loadSynth(synthDir, model)
	if err != nil {
		return err
	}
	mc := m.Config
	if set.Channels != mc.InChannels || set.Height != mc.InHeight || set.Width != mc.InWidth || set.Classes != mc.Classes {
		return fmt.Errorf("%w: synthetic images are %d×%d×%d in %d classes, model %s expects %d×%d×%d in %d", errUsage, set.Channels, set.Height, set.Width,
			set.Classes, mc.Name, mc.InChannels, mc.InHeight, mc.InWidth, mc.Classes)
	}
	pr := newProgress(stderr, qt)
	k, err := cf.calibCount(set.Len(), synthDir, pr.line)
	if err != nil {
		return err
	}
	parent, err := modelfile.NewRef(out, model)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(cf.seed, 0xca1b))
	calib := pickImages(set.Len(), set.Channels, set.Height, set.Width, k, set.Image, card.Normalization, rng)
	calib = convert.Augment(calib, cf.cropPad, cf.flip, rng)
	pr.line("balancing %d thresholds of %s on %d synthetic images at T=%d", snn.SpikingLayers(m), mc.Name, calib.Shape[0], cf.opts.Timesteps)
	cf.opts.Progress = func(l, L int, name string, th float32) {
		pr.line("layer %d/%d %-22s threshold %.4f", l, L, name, th)
	}
	th, err := convert.Thresholds(ctx, m, calib, cf.opts, rng)
	if err != nil {
		return err
	}
	net, err := snn.New(m, cf.opts.Config(th))
	if err != nil {
		return err
	}
	cal := cf.calibration()
	cal.Images, cal.Source = calib.Shape[0], "synthetic:"+synthDir
	snnCard := *card
	snnCard.Data = cardData(card)
	snnCard.Provenance = modelfile.Provenance{Dataset: "none (synthetic calibration)", TrainingDataAccessed: false,
		Parent: parent, Software: version()}
	snnCard.Seed = cf.seed
	snnCard.Metrics = nil
	snnCard.Training = nil
	snnCard.SNN = &modelfile.SNNSpec{Config: cf.opts.Config(th), Calibration: cal}
	if err := modelfile.Save(out, m, snnCard); err != nil {
		return err
	}
	res := convertResult{Thresholds: th, Layers: net.LayerNames(), Timesteps: cf.opts.Timesteps,
		CalibrationImages: calib.Shape[0], Seconds: time.Since(start).Seconds(), Out: out}
	if jsonOut {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "converted %s to a spiking network (T=%d, %d thresholds) in %.0fs; saved in %s (no training data accessed)\n",
		model, res.Timesteps, len(th), res.Seconds, out)
	return nil
}

// loadSynth reads a synthetic image set and checks, by the weights digest
// in its manifest, that it was made from the ANN at model.
func loadSynth(dir, model string) (*synth.Set, error) {
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
			return nil, fmt.Errorf("%w: --synth %s was synthesised from another ANN (%s), not from --model %s; thresholds balanced on it would not fit this model", errUsage, dir, man.Model, model)
		}
	}
	set, err := synth.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("read synthetic set: %w", err)
	}
	return set, nil
}
