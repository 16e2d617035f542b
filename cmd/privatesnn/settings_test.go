package main

import (
	"flag"
	"reflect"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/audit"
	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/pipeline"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/stage"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/vgg"
)

// The command line and the equivalent configuration give the same job:
// every stage's settings are parsed from flags by the command's own
// registration and from TOML by the pipeline's parser, then compared as
// given and as resolved for a model.

// flags parses args with the flags register adds.
func flags(t *testing.T, register func(*flag.FlagSet, *bounds), args ...string) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var b bounds
	register(fs, &b)
	if err := parseFlags(fs, args, nil); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	if err := b.check(); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
}

// config parses a configuration's text.
func config(t *testing.T, text string) pipeline.Config {
	t.Helper()
	c, err := pipeline.Parse([]byte("name = \"t\"\n"+text), true)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return c
}

// same fails unless the two values are deeply equal.
func same(t *testing.T, what string, cli, cfg any) {
	t.Helper()
	if !reflect.DeepEqual(cli, cfg) {
		t.Errorf("%s:\ncommand line %+v\nconfiguration %+v", what, cli, cfg)
	}
}

var norm = imageset.Normalization{Mean: 0.5, Std: 0.5}

func TestSameJobTrain(t *testing.T) {
	for args, text := range map[string]string{
		"":                     "",
		"--epochs 3 --lr 0.01": "[ann]\nepochs = 3\nlr = 0.01\n",
		"--features 8,A,16,A --hidden - --conv-dropout 0 --flip off --crop-pad 0 --seed 4": "[ann]\nfeatures = \"8,A,16,A\"\nhidden = \"-\"\nconv_dropout = 0\nflip = \"off\"\nseed = 4\n[ann.augment]\nCropPad = 0\n",
		"--model vgg5 --hidden 64,32 --optimizer adam --amsgrad --lr-steps 0.3":            "[ann]\nmodel = \"vgg5\"\nhidden = \"64,32\"\noptimizer = \"adam\"\namsgrad = true\nlr_fractions = [0.3]\n",
	} {
		cli := stage.DefaultTrainSettings()
		var epochs int
		flags(t, func(fs *flag.FlagSet, b *bounds) { trainFlags(fs, b, &cli, &epochs) }, splitArgs(args)...)
		cfg := config(t, text).ANN.TrainSettings
		same(t, "train "+args, cli, cfg)
		o1, err1 := cli.Resolve("embedded")
		o2, err2 := cfg.Resolve("embedded")
		same(t, "train options "+args, []any{o1, err1}, []any{o2, err2})
		a1, err1 := cli.Spec.Config(1, 28, 28, 10)
		a2, err2 := cfg.Spec.Config(1, 28, 28, 10)
		same(t, "architecture "+args, []any{a1, err1}, []any{a2, err2})
	}
}

func TestSameJobImport(t *testing.T) {
	cli := stage.DefaultImportSettings()
	flags(t, func(fs *flag.FlagSet, b *bounds) {
		fs.TextVar(&cli.Features, "features", cli.Features, "")
		fs.Float64Var(&cli.ConvDropout, "conv-dropout", cli.ConvDropout, "")
	}, "--features", "32,32,A,64,64,A", "--conv-dropout", "0.1")
	set := &imageset.Set{Channels: 1, Height: 28, Width: 28, Classes: 10}
	cfg, err := config(t, "[ann]\nimport = \"vgg.safetensors\"\nfeatures = \"32,32,A,64,64,A\"\n").ANN.ImportSettings(set)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "import", cli, cfg)
}

func TestSameJobSynth(t *testing.T) {
	for args, text := range map[string]string{
		"": "",
		"--per-class 70 --schedule reference --bounded": "[synth]\nper_class = 70\nschedule = \"reference\"\nbounded = true\n",
		"--iterations 20 --lr 0.5 --batch 4 --seed 9":   "[synth]\niterations = 20\nlr = 0.5\nbatch = 4\nseed = 9\n",
	} {
		cli := synth.DefaultSettings()
		flags(t, func(fs *flag.FlagSet, b *bounds) { synthFlags(fs, b, &cli) }, splitArgs(args)...)
		cfg := config(t, text).Synth
		same(t, "synth "+args, cli, cfg)
		o1, err1 := cli.Options(28, 28, norm)
		o2, err2 := cfg.Options(28, 28, norm)
		same(t, "synth options "+args, []any{o1, err1}, []any{o2, err2})
	}
}

func TestSameJobConvert(t *testing.T) {
	for args, text := range map[string]string{
		"": "",
		"--recipe paper --timesteps 64 --calib-images 100 --augment off":                           "[convert]\nrecipe = \"paper\"\ntimesteps = 64\ncalib_images = 100\naugment = \"off\"\n",
		"--timesteps 8 --percentile 99 --encoder direct --held-out 50 --score-images raw --seed 2": "[convert]\ntimesteps = 8\npercentile = 99\nencoder = \"direct\"\nheld_out = 50\nscore_images = \"raw\"\nseed = 2\n",
	} {
		cli := pipeline.ConvertConfig{Settings: convert.DefaultSettings(convert.RecipeSelect)}
		flags(t, func(fs *flag.FlagSet, b *bounds) { calibFlags(fs, b, &cli.Settings, &cli.Seed, true) }, splitArgs(args)...)
		cfg := config(t, text).Convert
		same(t, "convert "+args, cli, cfg)
		p1, err1 := cli.Resolve(5000, "set", norm, nil)
		p2, err2 := cfg.Resolve(5000, "set", norm, nil)
		same(t, "convert plan "+args, []any{p1, err1}, []any{p2, err2})
	}
}

func TestSameJobEncrypt(t *testing.T) {
	model := vgg.Config{ConvDropout: 0.1, FCDropout: 0.5}
	for args, text := range map[string]string{
		"": "",
		// The atan surrogate gets its default slope either way.
		"--surrogate atan --per-class 5": "[encrypt]\nper_class = 5\n[encrypt.surrogate]\nkind = \"atan\"\n",
		// -1 takes the model's dropout either way.
		"--conv-dropout -1 --fc-dropout -1 --mixup=false --labels folder --logit-scale match": "[encrypt]\nconv_dropout = -1\nfc_dropout = -1\nmixup = false\nlabels = \"folder\"\nlogit_scale = \"match\"\n",
	} {
		cli := stage.DefaultEncryptSettings()
		flags(t, func(fs *flag.FlagSet, b *bounds) { encryptFlags(fs, b, &cli) }, splitArgs(args)...)
		cfg := config(t, text).Encrypt.EncryptSettings
		same(t, "encrypt "+args, cli, cfg)
		o1, o2 := cli.Options.Resolve(model, norm), cfg.Options.Resolve(model, norm)
		same(t, "encrypt options "+args, o1, o2)
		if err := o1.Validate(); err != nil {
			t.Errorf("encrypt %s: %v", args, err)
		}
	}
	atan := stage.DefaultEncryptSettings()
	atan.Surrogate.Kind = snn.Atan
	if s := atan.Options.Resolve(model, norm).Surrogate; s.Slope != snn.DefaultAtanSlope {
		t.Errorf("atan resolved to %+v", s)
	}
}

func TestSameJobAudit(t *testing.T) {
	for args, text := range map[string]string{
		"": "",
		// The population rule's defaults apply to what neither names.
		"--inv-rule population --methods 1,3 --per-class 2":              "[audit]\nmethods = [1, 3]\nper_class = 2\n[audit.attack3]\nrule = \"population\"\n",
		"--inv-rule population --inv-iterations 4 --inv-encoding direct": "[audit.attack3]\nrule = \"population\"\niterations = 4\nencoding = \"direct\"\n",
		"--surrogate atan --grad-step 0.5":                               "[audit.attack2]\nstep = 0.5\n[audit.attack2.surrogate]\nkind = \"atan\"\n[audit.attack3.surrogate]\nkind = \"atan\"\n",
	} {
		cli := audit.DefaultSettings()
		var f attackFlags
		flags(t, func(fs *flag.FlagSet, b *bounds) {
			f.register(fs, b, &cli)
			fs.Var(&cli.Methods, "methods", "")
			fs.IntVar(&cli.PerClass, "per-class", cli.PerClass, "")
		}, splitArgs(args)...)
		f.finish()
		cfg := config(t, text).Audit
		same(t, "audit options "+args, cli.Options(), cfg.Options())
		if err := cli.Options().Validate(); err != nil {
			t.Errorf("audit %s: %v", args, err)
		}
	}
	pop := audit.DefaultSettings()
	pop.Attack3.Rule = attack.PopulationRule
	if o := pop.Options().Inversion; o.Iterations != attack.DefaultPopulation().Iterations || o.Surrogate != attack.DefaultPopulation().Surrogate {
		t.Errorf("population rule resolved to %+v", o)
	}
}

func TestSameJobEvalEnergy(t *testing.T) {
	var cli stage.EvalSettings
	flags(t, func(fs *flag.FlagSet, b *bounds) {
		simFlags(fs, b, &cli.Timesteps, &cli.Readouts, &cli.Seed, 20)
		fs.IntVar(&cli.Points, "points", 0, "")
	}, "--seed", "3", "--points", "8", "--timesteps", "16")
	same(t, "eval", cli, config(t, "[eval]\nseed = 3\npoints = 8\ntimesteps = 16\n").Eval)
	var en stage.EnergySettings
	flags(t, func(fs *flag.FlagSet, b *bounds) { simFlags(fs, b, &en.Timesteps, &en.Readouts, &en.Seed, 10) }, "--seed", "2", "--readouts", "2,4")
	same(t, "energy", en, config(t, "[energy]\nseed = 2\nreadouts = [2, 4]\n").Energy)
	_ = data.Test
}

// splitArgs splits a command line at spaces.
func splitArgs(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		out = append(out, f)
	}
	return out
}
