package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/loss"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/train"
)

type layerRate struct {
	Layer     string  `json:"layer"`
	Rate      float64 `json:"rate"`       // spikes per neuron per step
	InputRate float64 `json:"input_rate"` // non-zero inputs per input value per step
	Events    int     `json:"event_driven_chunks"`
	Dense     int     `json:"dense_chunks"`
}

type evalResult struct {
	Kind         string  `json:"kind"`
	TestAccuracy float64 `json:"test_accuracy"`
	Images       int     `json:"images"`
	Data         string  `json:"data"`
	Model        string  `json:"model"`
	Seconds      float64 `json:"seconds"`
	// SNN only:
	Timesteps           int                `json:"timesteps,omitempty"`
	AccuracyByTimestep  map[string]float64 `json:"accuracy_by_timestep,omitempty"`
	SpikeRates          []layerRate        `json:"spike_rates,omitempty"`
	ANNAccuracy         *float64           `json:"ann_accuracy,omitempty"`
	SmallestTWithin1pp  *int               `json:"smallest_timestep_within_1pp_of_ann,omitempty"`
	ImagesTimestepsPerS float64            `json:"images_timesteps_per_second,omitempty"`
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		d         dataFlags
		model     string
		split     string
		batch     int
		timesteps int
		readouts  string
		ann       string
		seed      uint64
		jsonOut   bool
		quiet     bool
		threads   int
	)
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	d.register(fs, data.Embedded)
	fs.StringVar(&model, "model", "", "model directory or file, ANN or SNN (required)")
	fs.StringVar(&split, "split", data.Test, "split to evaluate: test or train")
	fs.IntVar(&batch, "batch", 256, "batch size (ANN)")
	fs.IntVar(&timesteps, "timesteps", 0, "SNN: simulate this many steps (0: the model's T)")
	fs.StringVar(&readouts, "readouts", "auto", "SNN: steps at which to read the accuracy (comma list, or auto: every T/20)")
	fs.StringVar(&ann, "ann", "", "SNN: the ANN to compare with (default: the SNN's parent, if it exists)")
	fs.Uint64Var(&seed, "seed", 0, "SNN: seed of the Poisson input spikes")
	outputFlags(fs, &jsonOut, &quiet, &threads)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if model == "" {
		return fmt.Errorf("%w: --model is required", errUsage)
	}
	if batch < 1 || batch > 1<<16 || timesteps < 0 || timesteps > snn.MaxTimesteps {
		return fmt.Errorf("%w: --batch %d or --timesteps %d out of range", errUsage, batch, timesteps)
	}
	if err := setThreads(threads); err != nil {
		return err
	}
	start := time.Now()
	m, card, err := modelfile.Load(model)
	if err != nil {
		return err
	}
	s, err := d.load(split)
	if err != nil {
		return err
	}
	res := evalResult{Kind: card.Kind, Images: s.Len(), Data: s.Name, Model: model}
	if card.Kind == "ann" {
		if res.TestAccuracy, err = train.Evaluate(ctx, m, s, batch); err != nil {
			return err
		}
	} else {
		cfg := card.SNN.Config
		if timesteps > 0 {
			cfg.Timesteps = timesteps
		}
		rs, err := parseReadouts(readouts, cfg.Timesteps)
		if err != nil {
			return err
		}
		net, err := snn.New(m, cfg)
		if err != nil {
			return err
		}
		pr := newProgress(stderr, quiet)
		simStart := time.Now()
		r, correct, err := simulate(ctx, net, s, rs, seed, pr)
		if err != nil {
			return err
		}
		res.ImagesTimestepsPerS = float64(s.Len()*cfg.Timesteps) / time.Since(simStart).Seconds()
		res.Timesteps = cfg.Timesteps
		res.AccuracyByTimestep = map[string]float64{}
		for i, t := range r.Readouts {
			res.AccuracyByTimestep[strconv.Itoa(t)] = float64(correct[i]) / float64(s.Len())
		}
		res.TestAccuracy = float64(correct[len(correct)-1]) / float64(s.Len())
		for l, ls := range r.Layers[:len(r.Layers)-1] {
			res.SpikeRates = append(res.SpikeRates, layerRate{Layer: ls.Name, Rate: r.SpikeRate(l), InputRate: r.InputRate(l),
				Events: ls.EventChunks, Dense: ls.DenseChunks})
		}
		if ann == "" {
			ann = card.Provenance.Parent
		}
		if ann != "" {
			if am, _, err := modelfile.Load(ann); err == nil {
				acc, err := train.Evaluate(ctx, am, s, batch)
				if err != nil {
					return err
				}
				res.ANNAccuracy = &acc
				for i, t := range r.Readouts {
					if float64(correct[i])/float64(s.Len()) >= acc-0.01 {
						res.SmallestTWithin1pp = &t
						break
					}
				}
			} else if card.Provenance.Parent != ann {
				return err
			}
		}
	}
	res.Seconds = time.Since(start).Seconds()
	if jsonOut {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "accuracy %.2f%% on %s (%d images)\n", 100*res.TestAccuracy, s.Name, s.Len())
	if card.Kind == "snn" {
		printSNNEval(stdout, res)
	}
	return nil
}

func printSNNEval(w io.Writer, res evalResult) {
	fmt.Fprintf(w, "accuracy by time step:")
	keys := make([]int, 0, len(res.AccuracyByTimestep))
	for k := range res.AccuracyByTimestep {
		t, _ := strconv.Atoi(k)
		keys = append(keys, t)
	}
	slices.Sort(keys)
	for _, t := range keys {
		fmt.Fprintf(w, " T=%d %.2f%%", t, 100*res.AccuracyByTimestep[strconv.Itoa(t)])
	}
	fmt.Fprintln(w)
	if res.ANNAccuracy != nil {
		fmt.Fprintf(w, "ANN accuracy %.2f%%", 100**res.ANNAccuracy)
		if res.SmallestTWithin1pp != nil {
			fmt.Fprintf(w, "; smallest T within 1 pp: %d", *res.SmallestTWithin1pp)
		}
		fmt.Fprintln(w)
	}
	for _, l := range res.SpikeRates {
		fmt.Fprintf(w, "  %-22s spike rate %.4f  input rate %.4f\n", l.Layer, l.Rate, l.InputRate)
	}
}

func parseReadouts(s string, T int) ([]int, error) {
	if s == "auto" {
		step := max(1, T/20)
		var rs []int
		for t := step; t <= T; t += step {
			rs = append(rs, t)
		}
		return rs, nil
	}
	var rs []int
	for _, f := range strings.Split(s, ",") {
		t, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || t < 1 || t > T {
			return nil, fmt.Errorf("%w: --readouts entry %q is not a step in [1, %d]", errUsage, f, T)
		}
		rs = append(rs, t)
	}
	return rs, nil
}

// setTensor returns the whole set as a normalised NCHW tensor.
func setTensor(s *data.Set) *tensor.Tensor {
	x := tensor.New(s.Len(), s.Channels, s.Height, s.Width)
	idx := make([]int, s.Len())
	for i := range idx {
		idx[i] = i
	}
	s.FillBatch(x.Data, nil, idx, data.Augment{}, nil)
	return x
}

// simulate runs the SNN on the whole set and counts correct predictions at
// every readout.
func simulate(ctx context.Context, net *snn.Network, s *data.Set, readouts []int, seed uint64, pr *progress) (*snn.Result, []int, error) {
	x := setTensor(s)
	start := time.Now()
	r, err := net.Run(ctx, x, rand.New(rand.NewPCG(seed, 0x5e1)), snn.Options{Readouts: readouts,
		Progress: func(done, total int) {
			pr.update(fmt.Sprintf("simulating T=%d", net.Config.Timesteps), done, total, time.Since(start), "images")
		}})
	if err != nil {
		return nil, nil, err
	}
	correct := make([]int, len(r.Readouts))
	for i, p := range r.Potentials {
		correct[i] = loss.Correct(p, s.Labels)
	}
	return r, correct, nil
}
