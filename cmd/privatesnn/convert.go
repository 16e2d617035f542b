package main

import (
	"context"
	"flag"
	"fmt"
	"io"
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
}

func (c *calibFlags) register(fs *flag.FlagSet) {
	c.opts = convert.Defaults()
	fs.IntVar(&c.opts.Timesteps, "timesteps", c.opts.Timesteps, "time steps T of the spiking network (thresholds are balanced at this T)")
	fs.Float64Var(&c.opts.Leak, "leak", c.opts.Leak, "membrane leak λ (1 = integrate-and-fire)")
	fs.TextVar(&c.reset, "reset", snn.ResetSubtract, "reset after a spike: subtract or zero")
	fs.TextVar(&c.encoder, "encoder", snn.Poisson, "input encoding: poisson or direct")
	fs.Float64Var(&c.opts.Percentile, "percentile", 0, "threshold = this percentile of the input currents (0: the maximum, as the reference)")
	fs.Float64Var(&c.opts.Scale, "scale", 1, "multiply every threshold by this factor")
	fs.IntVar(&c.opts.Batch, "batch", c.opts.Batch, "calibration images simulated together")
	fs.IntVar(&c.images, "calib-images", 2048, "calibration images (the reference uses 2,048)")
	fs.IntVar(&c.cropPad, "crop-pad", 0, "random-crop padding applied to calibration images (0: none)")
	fs.BoolVar(&c.flip, "flip", false, "randomly mirror calibration images")
	fs.Uint64Var(&c.seed, "seed", 0, "random seed (image choice, augmentation, Poisson spikes)")
	fs.IntVar(&c.threads, "threads", 0, "threads to use (0: all cores)")
}

func (c *calibFlags) validate() error {
	c.opts.Reset, c.opts.Encoder = c.reset, c.encoder
	if err := c.opts.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if c.images < 1 || c.cropPad < 0 || c.cropPad > 64 {
		return fmt.Errorf("%w: --calib-images %d must be ≥ 1 and --crop-pad %d in [0, 64]", errUsage, c.images, c.cropPad)
	}
	return setThreads(c.threads)
}

func (c *calibFlags) calibration() modelfile.Calibration {
	method := "max-current"
	if c.opts.Percentile > 0 && c.opts.Percentile < 100 {
		method = "percentile-current"
	}
	return modelfile.Calibration{Method: method, Percentile: c.opts.Percentile, Scale: c.opts.Scale, Seed: c.seed}
}

// pickImages returns k normalised images [k, C, H, W] chosen without
// replacement by rng from n images produced by get (CHW bytes).
func pickImages(n, c, h, w, k int, get func(i int) []uint8, rng *rand.Rand) *tensor.Tensor {
	k = min(k, n)
	idx := rng.Perm(n)[:k]
	x := tensor.New(k, c, h, w)
	size := c * h * w
	for j, i := range idx {
		for p, v := range get(i) {
			x.Data[j*size+p] = float32(v)/127.5 - 1
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
		model, synthDir    string
		out                string
		force, jsonOut, qt bool
	)
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	cf.register(fs)
	fs.StringVar(&model, "model", "", "trained ANN (directory or file; required)")
	fs.StringVar(&synthDir, "synth", "", "synthetic image set from 'privatesnn synth' (directory or file; required)")
	fs.StringVar(&out, "out", "", "output directory of the spiking model (required)")
	fs.BoolVar(&force, "force", false, "overwrite an existing model in --out")
	fs.BoolVar(&jsonOut, "json", false, "print the result as one JSON object")
	fs.BoolVar(&qt, "quiet", false, "no progress on stderr")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if model == "" || synthDir == "" || out == "" {
		return fmt.Errorf("%w: --model, --synth and --out are required", errUsage)
	}
	if err := cf.validate(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(out, modelfile.CardFile)); err == nil && !force {
		return fmt.Errorf("%s already holds a model; pass --force to overwrite it", out)
	}
	start := time.Now()
	m, card, err := modelfile.Load(model)
	if err != nil {
		return err
	}
	if card.Kind != "ann" {
		return fmt.Errorf("%s is a %s; convert takes a trained ANN", model, card.Kind)
	}
	set, err := synth.Load(synthDir)
	if err != nil {
		return fmt.Errorf("read synthetic set: %w", err)
	}
	mc := m.Config
	if set.Channels != mc.InChannels || set.Height != mc.InHeight || set.Width != mc.InWidth {
		return fmt.Errorf("synthetic images are %d×%d×%d, model %s expects %d×%d×%d", set.Channels, set.Height, set.Width,
			mc.Name, mc.InChannels, mc.InHeight, mc.InWidth)
	}
	rng := rand.New(rand.NewPCG(cf.seed, 0xca1b))
	calib := pickImages(set.Len(), set.Channels, set.Height, set.Width, cf.images, set.Image, rng)
	calib = convert.Augment(calib, cf.cropPad, cf.flip, rng)
	pr := newProgress(stderr, qt)
	pr.line("balancing %d thresholds of %s on %d synthetic images at T=%d", snn.SpikingLayers(m), mc.Name, calib.Shape[0], cf.opts.Timesteps)
	cf.opts.Progress = func(l, L int, name string, th float32) {
		pr.line("layer %d/%d %-22s threshold %.4f", l, L, name, th)
	}
	th, err := convert.Thresholds(ctx, m, calib, cf.opts, rng)
	if err != nil {
		return err
	}
	cal := cf.calibration()
	cal.Images, cal.Source = calib.Shape[0], "synthetic:"+synthDir
	snnCard := *card
	snnCard.Provenance = modelfile.Provenance{Dataset: "none (synthetic calibration)", TrainingDataAccessed: false,
		Parent: model, Software: version()}
	snnCard.Seed = cf.seed
	snnCard.Metrics = nil
	snnCard.SNN = &modelfile.SNNSpec{Config: cf.opts.Config(th), Calibration: cal}
	if err := modelfile.Save(out, m, snnCard); err != nil {
		return err
	}
	net, _ := snn.New(m, cf.opts.Config(th))
	res := convertResult{Thresholds: th, Layers: net.LayerNames(), Timesteps: cf.opts.Timesteps,
		CalibrationImages: calib.Shape[0], Seconds: time.Since(start).Seconds(), Out: out}
	if jsonOut {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "converted %s to a spiking network (T=%d, %d thresholds) in %.0fs; saved in %s (no training data accessed)\n",
		model, res.Timesteps, len(th), res.Seconds, out)
	return nil
}
