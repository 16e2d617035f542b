// Command privatesnn trains VGG-style networks, synthesises class images from
// them and converts them, without real data, into spiking networks.
//
// Usage:
//
//	privatesnn <command> [flags]
//
// Commands:
//
//	train              train a VGG network on an image data set
//	synth              synthesise class images from a trained ANN (no data)
//	convert            convert an ANN to a spiking network on synthetic images
//	quantise           an ANN with quantised (QCFS) activations for conversion at low T, made on its synthetic images (no data)
//	encrypt            class-encryption training of a converted SNN on synthetic images (no data)
//	eval               accuracy of an ANN or SNN on a test set (SNN: by time step)
//	attack             model-inversion attack on an SNN or ANN (weights only, no data)
//	audit              attacks on several models, scored by an independent evaluator
//	energy             ANN vs SNN energy from measured spike rates
//	run                the whole pipeline from a configuration, cached and resumable, with a report
//	demo               the whole pipeline on the embedded data, with a report
//	calibrate-compare  thresholds from synthetic vs real images, compared
//	bench              throughput of the engine's key workloads
//	show               what a model directory holds: kind, T, parent, data, accuracy, conversion, defence
//	version            the version of this binary
//
// Run "privatesnn <command> -h" for a command's flags. Every command takes
// --json and then prints one JSON object on stdout and, when it fails, one
// on stderr, {"command": …, "error": …, "exit": N}; progress goes to
// stderr. Exit codes: 0 success, 1 failure, 2 usage error, 130
// interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/privatesnn/privatesnn/pipeline"
)

type command struct {
	name, summary string
	// args is the synopsis after the command name; about is the paragraph
	// that -h prints above the flags.
	args, about string
	run         func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"train", "train a VGG network on an image data set", "[--data NAME] [--out DIR] [flags]",
			"Trains a VGG-style ANN (no bias, no batch norm, average pooling, dropout) and saves it with its model card in --out. " +
				"This is the only step of the pipeline that reads real data. Ctrl-C saves a checkpoint; --resume continues it.", runTrain},
		{"import", "import a PyTorch VGG state_dict (safetensors) or a NIR file as a model directory", "--weights FILE [--features LIST | --format nir] --out DIR [flags]",
			"Reads a bare state_dict of a bias-free VGG (features.<i>.weight, classifier.<i>.weight), written by scripts/stfile.py (torch and numpy only: stfile.save(path, model.state_dict(), {\"features\": \"32,32,A,64,64,A\"})) or safetensors.torch.save_file, " +
				"checks its shapes against --features or that metadata (where the pools sit) and --data's image size, scores it on --data's test split, " +
				"and writes a model directory with its card that every other command takes as --model. " +
				"With --format nir it reads a NIR graph of the same shape (from 'privatesnn export' or another framework) instead.", runImport},
		{"synth", "synthesise class images from a trained ANN (no data)", "--model DIR [--out DIR] [flags]",
			"Optimises noise images towards Dirichlet soft labels drawn from the ANN's class similarity, using the ANN's weights alone. " +
				"Writes the images as PNG folders, a binary set for convert, a labelled preview grid.png and a manifest.", runSynth},
		{"convert", "convert an ANN to a spiking network on synthetic images", "--model DIR --synth DIR --out DIR [flags]",
			"Copies the ANN's weights into a spiking network and sets each layer's threshold by threshold balancing on the synthetic images only. " +
				"No real data is read.", runConvert},
		{"quantise", "an ANN with quantised (QCFS) activations for conversion at low T, made on its synthetic images (no data)", "--model DIR --synth DIR --out DIR [flags]",
			"Replaces every ReLU of a copy of the ANN by a quantisation-clip-floor-shift activation with L levels (L = T for --timesteps T) and a clip per layer, " +
				"set at a percentile of the ANN's activations on the synthetic images; with --epochs it then distils the ANN's logits into the copy on shifted, flipped and mixed synthetic images. " +
				"Writes an ANN that convert turns into a spiking network with thresholds from the clips, initial membrane θ/2 and direct input. No real data is read.", runQuantise},
		{"encrypt", "class-encryption training of a converted SNN on synthetic images (no data)", "--model DIR --synth DIR --out DIR [flags]",
			"Trains the spiking network's weights with surrogate gradients through time on a class-balanced subset of the synthetic images, " +
				"distilling from the ANN it was converted from, so that its weights stop working as an ANN's and its accuracy at low T recovers. " +
				"No real data is read. Ctrl-C saves a checkpoint; --resume continues it.", runEncrypt},
		{"eval", "accuracy of an ANN or SNN on a test set (SNN: by time step)", "--model DIR [--data NAME] [flags]",
			"Scores a model on a data set. For a spiking model it also reports the accuracy at several time steps, the spike rates per layer, " +
				"and the parent ANN's accuracy for comparison.", runEval},
		{"attack", "model-inversion attack on an SNN or ANN (weights only, no data)", "--model DIR --method 1|2|3 --out DIR [flags]",
			"Recovers what the model has learnt about each class from its weights alone. Method 1 (the paper's Attack 1) re-converts the SNN to an ANN " +
				"(same weights, ReLU) and runs class visualisation: gradient ascent on a class logit with 8-bit images and a blur every 4th step. " +
				"Method 2 (Attack 2) takes surrogate gradients through the SNN, averages them over time at conv1's output and deconvolves them. " +
				"Method 3 is an SNN-aware inversion: surrogate gradients through all steps to the input, Adam on a bounded image with priors, restarts. " +
				"Writes a grid with one row per class, one PNG per image and attack.json. No data is read.", runAttack},
		{"audit", "attacks on several models, scored by an independent evaluator", "--model [NAME=]DIR [--model …] --evaluator DIR --out DIR [flags]",
			"Runs the attacks against every model and scores the images with an independent ANN trained on real data: its top-1 and top-3 hit rates on the " +
				"target class, its mean confidence, and the Fréchet distance between the images and real test images in its penultimate features " +
				"(FD (evaluator features), not FID). Reference rows score real test images, uniform noise and, with --synth, the synthetic set. " +
				"The attacks read the weights only; scoring reads the test set.", runAudit},
		{"energy", "ANN vs SNN energy from measured spike rates", "--model DIR [--data NAME] [flags]",
			"Simulates the spiking model on test images, measures the input spike rate of every layer, and compares the energy of the ANN's " +
				"multiply-accumulates with the SNN's accumulates.", runEnergy},
		{"calibrate-compare", "thresholds from synthetic vs real images, compared", "--model DIR --synth DIR [flags]",
			"Balances thresholds once on synthetic and once on real training images with identical settings and compares the two SNNs' test accuracy. " +
				"It reads real data by design: it measures what data-free calibration costs.", runCalibrateCompare},
		{"run", "the whole pipeline from a configuration, cached and resumable, with a report", "CONFIG [--plan | --explain] [flags]",
			"Runs ANN training (or import), synthesis, conversion, class-encryption training, evaluation, the leakage audit and the energy estimate " +
				"as configured in CONFIG (TOML or JSON; see configs/), each stage into a directory named by a hash of its settings and inputs. " +
				"An unchanged re-run does nothing; a changed setting re-runs that stage and those after it; an interrupted stage resumes. " +
				"Writes report.md and report.html in the work directory's report folder. --explain (without CONFIG) prints every configuration key with its default.", runRun},
		{"demo", "the whole pipeline on the embedded data, with a report", "[flags]",
			"Runs configs/demo.toml (compiled in): the pipeline on the Fashion-MNIST subset compiled into the binary, sized for minutes on two cores, " +
				"and prints where the report is.", runDemo},
		{"bench", "throughput of the engine's key workloads", "[flags]",
			"Measures the ANN training step, the input-gradient step, SGEMM, optionally an SNN simulation, and a BPTT training step of the default network's spiking version " +
				"(items/s and peak RSS, from a child process that runs only that workload), for comparison with scripts/bench_torch.py.", runBench},
		{"export", "write a model as a NIR file for neuromorphic tools", "--model DIR --out FILE [flags]",
			"Writes the network as a NIR graph (Neuromorphic Intermediate Representation, an HDF5 file) that snnTorch, Norse, SpikingJelly, Sinabs, Lava, " +
				"Rockpool, Nengo and SpiNNaker2 read: Input, Conv2d, IF, AvgPool2d or SumPool2d, Flatten, Linear, I, Output. T, the encoder, the initial " +
				"membrane, reset by subtraction and the card's provenance, which NIR has no fields for, go into the graph's metadata (privatesnn.* keys); " +
				"'eval --reset zero --init-membrane 0' shows the accuracy a reader that ignores them gets.", runExport},
		{"show", "what a model directory holds: kind, T, parent, data, accuracy, conversion, defence", "--model DIR [--json]",
			"Describes a model from its card without running it, and checks that its weights are the ones the card records.", runShow},
		{"version", "the version of this binary", "[--json]", "Prints the version that every card this binary writes records, and the Go release it was built with.", runVersion},
	}
}

// usageError is a command-line mistake (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a *usageError with the formatted message.
func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			usage(stderr)
			return 2
		}
		usage(stdout)
		return 0
	}
	fail := func(name, msg, hint string, code int) int {
		if jsonFlag(args[1:]) {
			writeJSON(stderr, struct {
				Command string `json:"command"`
				Error   string `json:"error"`
				Exit    int    `json:"exit"`
			}{name, msg, code})
		} else {
			fmt.Fprintf(stderr, "privatesnn%s: %s\n%s", strings.TrimRight(" "+name, " "), msg, hint)
		}
		return code
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil || errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, new(*usageError)):
			return fail(c.name, err.Error(), "Run 'privatesnn "+c.name+" -h' for usage.\n", 2)
		case errors.Is(err, context.Canceled):
			msg := "interrupted"
			if ie, ok := errors.AsType[*pipeline.InterruptedError](err); ok {
				msg = ie.Error()
			}
			return fail(c.name, msg, "", 130)
		}
		return fail(c.name, err.Error(), "", 1)
	}
	return fail("", fmt.Sprintf("unknown command %q", args[0]), "Run 'privatesnn -h' for the list of commands.\n", 2)
}

// jsonFlag reports whether the command-line arguments ask for JSON output
// (--json or -json, =true or without a value; =false does not), up to a
// "--".
func jsonFlag(args []string) bool {
	on := false
	for _, a := range args {
		if a == "--" {
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "json" {
			b, err := strconv.ParseBool(val)
			on = !hasVal || err == nil && b
		}
	}
	return on
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: privatesnn <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-18s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'privatesnn <command> -h' for a command's flags.")
}

// newFlagSet returns the flag set of the named command, whose -h output is
// the command's synopsis, description and flags.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		for _, c := range commands() {
			if c.name == name {
				w := fs.Output()
				fmt.Fprintf(w, "usage: privatesnn %s %s\n\n%s\n\n%s\n\nflags:\n", c.name, c.args, c.summary, wrap(c.about, 78))
				fs.PrintDefaults()
			}
		}
	}
	return fs
}

// wrap breaks s into lines of at most width characters at spaces.
func wrap(s string, width int) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(s) {
		if i > 0 && n+1+len([]rune(w)) > width {
			b.WriteByte('\n')
			n = 0
		} else if i > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len([]rune(w))
	}
	return b.String()
}

// parseFlags parses args into fs. -h prints the command's help on stdout
// and returns flag.ErrHelp; a value a flag refuses is returned once, as
// a *usageError worded "--name "value": why", without the flag package's own
// message and flag dump.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	var refused *setError
	fs.VisitAll(func(f *flag.Flag) { f.Value = &recorded{Value: f.Value, name: f.Name, refused: &refused} })
	err := fs.Parse(args)
	fs.VisitAll(func(f *flag.Flag) { f.Value = f.Value.(*recorded).Value }) // the help text reads the values' types
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return err
		}
		if refused != nil {
			return usagef("--%s %q: %v", refused.name, refused.value, refused.err)
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %v", fs.Args())
	}
	return nil
}

// setError is a value a flag refused.
type setError struct {
	name, value string
	err         error
}

// recorded wraps a flag's value and records the value it refuses, so that
// parseFlags can word the error itself.
type recorded struct {
	flag.Value
	name    string
	refused **setError
}

func (r *recorded) Set(s string) error {
	err := r.Value.Set(s)
	if err != nil {
		*r.refused = &setError{name: r.name, value: s, err: err}
	}
	return err
}

// IsBoolFlag lets the flag package parse a wrapped bool flag without a value.
func (r *recorded) IsBoolFlag() bool {
	b, ok := r.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
