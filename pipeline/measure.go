package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/privatesnn/privatesnn/audit"
	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/energy"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/train"
)

// Evaluated is one model's accuracy on the test split.
type Evaluated struct {
	Name      string  `json:"name"`  // "ANN", "DC", "DC + CET", …
	Stage     string  `json:"stage"` // the stage that made it
	Kind      string  `json:"kind"`
	Timesteps int     `json:"timesteps,omitempty"`
	PerClass  int     `json:"per_class,omitempty"` // encryption images per class
	Recipe    string  `json:"recipe,omitempty"`
	Accuracy  float64 `json:"accuracy"`
	// Curve is the accuracy at the readouts (SNNs).
	Curve []snn.TimestepAccuracy `json:"curve,omitempty"`
	// SpikeRates per spiking layer (SNNs).
	Layers     []string  `json:"layers,omitempty"`
	SpikeRates []float64 `json:"spike_rates,omitempty"`
}

// EvalResult is the evaluation stage's result.
type EvalResult struct {
	Data   string      `json:"data"`
	Images int         `json:"images"`
	Models []Evaluated `json:"models"`
}

// evalTarget names a model stage to evaluate.
type evalTarget struct {
	name, stage string
	perClass    int
}

// readouts returns n readout steps spread over 1..T, ending at T.
func readouts(T, n int) []int {
	set := map[int]bool{T: true}
	for i := 1; i <= n; i++ {
		set[max(1, i*T/n)] = true
	}
	var out []int
	for t := range set {
		out = append(out, t)
	}
	sort.Ints(out)
	return out
}

// testTensor returns the whole set normalised as a model's card says (in
// float64, as training normalises).
func testTensor(s *data.Set, norm imageset.Normalization) (*tensor.Tensor, error) {
	if err := norm.Validate(); err != nil {
		return nil, err
	}
	return s.Tensor(nil, norm.Float64Table()), nil
}

func evaluate(ctx context.Context, d DataConfig, c EvalConfig, in Inputs, targets []evalTarget, p progress.Func) (*EvalResult, error) {
	test, err := loadData(d, data.Test)
	if err != nil {
		return nil, err
	}
	res := &EvalResult{Data: test.Name, Images: test.Len()}
	for _, t := range targets {
		dir := modelPath(in[t.stage])
		m, card, err := modelfile.Load(dir)
		if err != nil {
			return nil, err
		}
		e := Evaluated{Name: t.name, Stage: t.stage, Kind: string(card.Kind), PerClass: t.perClass}
		if err := p.Report(progress.Report{Label: t.name}); err != nil {
			return nil, err
		}
		if card.SNN == nil {
			if e.Accuracy, err = train.Evaluate(ctx, m, test, card.Normalization, 256); err != nil {
				return nil, err
			}
			res.Models = append(res.Models, e)
			continue
		}
		if enc := card.SNN.Encryption; enc != nil {
			e.Recipe = enc.Recipe
		}
		net, err := snn.New(m, card.SNN.Config)
		if err != nil {
			return nil, err
		}
		x, err := testTensor(test, card.Normalization)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		e.Timesteps = net.Config.Timesteps
		r, err := net.Run(ctx, x, rand.New(rand.NewPCG(c.Seed, 0x5e1)), snn.Options{Readouts: readouts(e.Timesteps, c.Points), Progress: p})
		if err != nil {
			return nil, err
		}
		e.Curve = snn.AccuracyCurve(r, test.Labels)
		e.Accuracy = e.Curve[len(e.Curve)-1].Accuracy
		e.Layers = net.LayerNames()
		for l := range e.Layers {
			e.SpikeRates = append(e.SpikeRates, r.SpikeRate(l))
		}
		res.Models = append(res.Models, e)
	}
	return res, nil
}

// EnergyModel is one SNN's energy estimate.
type EnergyModel struct {
	Name   string        `json:"name"`
	Report energy.Report `json:"report"`
}

// EnergyResult is the energy stage's result (45 nm fp32 costs).
type EnergyResult struct {
	Images int           `json:"images"`
	Models []EnergyModel `json:"models"`
}

func measureEnergy(ctx context.Context, d DataConfig, c EnergyConfig, in Inputs, targets []evalTarget) (*EnergyResult, error) {
	test, err := loadData(d, data.Test)
	if err != nil {
		return nil, err
	}
	res := &EnergyResult{Images: test.Len()}
	for _, t := range targets {
		net, card, err := modelfile.LoadSNN(modelPath(in[t.stage]))
		if err != nil {
			return nil, err
		}
		x, err := testTensor(test, card.Normalization)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", modelPath(in[t.stage]), err)
		}
		r, err := net.Run(ctx, x, rand.New(rand.NewPCG(c.Seed, 0xe4e)), snn.Options{})
		if err != nil {
			return nil, err
		}
		res.Models = append(res.Models, EnergyModel{Name: t.name, Report: energy.FromRun(net.Model, r, energy.Horowitz45nm())})
	}
	return res, nil
}

// AuditResult is the audit stage's result.
type AuditResult struct {
	*audit.Report
	// Grids maps "model/set" to the PNG grid of its images, relative to
	// the stage directory.
	Grids map[string]string `json:"grids"`
}

func auditModels(ctx context.Context, dir string, d DataConfig, c AuditConfig, in Inputs, targets []evalTarget, p progress.Func) (*AuditResult, error) {
	ev, ecard, err := modelfile.Load(modelPath(in["evaluator"]))
	if err != nil {
		return nil, err
	}
	test, err := loadData(d, data.Test)
	if err != nil {
		return nil, err
	}
	set, err := synth.Load(in["synth"].Dir)
	if err != nil {
		return nil, err
	}
	var models []audit.Model
	var names []string
	for _, t := range targets {
		net, card, err := modelfile.LoadSNN(modelPath(in[t.stage]))
		if err != nil {
			return nil, err
		}
		models = append(models, audit.Model{Name: t.name, SNN: net, Norm: card.Normalization})
		names = card.ClassNames
	}
	o := audit.Options{Methods: c.Methods, PerClass: c.PerClass, Seed: c.Seed, Visualize: c.Attack1, SNNGradient: c.Attack2, Inversion: c.Attack3}
	rep, err := audit.Run(ctx, models, &audit.Evaluator{Model: ev, Norm: ecard.Normalization}, test, &set.Set, o, p)
	if err != nil {
		return nil, err
	}
	res := &AuditResult{Report: rep}
	if res.Grids, err = rep.WriteDir(dir, models[0].SNN.Model.Config.Classes, names, nil); err != nil {
		return nil, err
	}
	return res, nil
}
