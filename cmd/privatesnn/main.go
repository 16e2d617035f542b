// Command privatesnn trains VGG-style networks and (in later stages)
// converts them into data-free, class-encrypted spiking networks.
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
//	eval               accuracy of an ANN or SNN on a test set (SNN: by time step)
//	energy             ANN vs SNN energy from measured spike rates
//	calibrate-compare  thresholds from synthetic vs real images, compared
//	bench              throughput of the engine's key workloads
//
// Run "privatesnn <command> -h" for a command's flags. Every command takes
// --json and then prints one JSON object on stdout; progress goes to stderr.
// Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"train", "train a VGG network on an image data set", runTrain},
		{"synth", "synthesise class images from a trained ANN (no data)", runSynth},
		{"convert", "convert an ANN to a spiking network on synthetic images", runConvert},
		{"eval", "accuracy of an ANN or SNN on a test set (SNN: by time step)", runEval},
		{"energy", "ANN vs SNN energy from measured spike rates", runEnergy},
		{"calibrate-compare", "thresholds from synthetic vs real images, compared", runCalibrateCompare},
		{"bench", "throughput of the engine's key workloads", runBench},
	}
}

// errUsage marks a command-line mistake (exit status 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "privatesnn %s: %v\n", c.name, err)
			return 2
		case errors.Is(err, context.Canceled):
			fmt.Fprintf(stderr, "privatesnn %s: interrupted\n", c.name)
			return 130
		default:
			fmt.Fprintf(stderr, "privatesnn %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "privatesnn: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: privatesnn <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-18s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'privatesnn <command> -h' for a command's flags.")
}

// parseFlags parses args into fs, turning parse errors into errUsage.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %v", errUsage, fs.Args())
	}
	return nil
}
