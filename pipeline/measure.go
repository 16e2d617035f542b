package pipeline

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/privatesnn/privatesnn/audit"
	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/energy"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/stage"
)

// Role is a model's part in the run, by which the report places it.
type Role string

// Roles of the models a run makes.
const (
	RoleANN   Role = "ann"    // the trained or imported ANN
	RoleDC    Role = "dc"     // its data-free conversion
	RoleCETOD Role = "cet+od" // class-encryption training with distillation
	RoleCET   Role = "cet"    // class-encryption training without
	// RoleFrontier is CET + OD with one inversion defence: a point of the
	// privacy–accuracy frontier.
	RoleFrontier Role = "frontier"
	// RoleCompare is a further conversion of the ANN, set beside DC.
	RoleCompare Role = "compare"
)

// evalTarget names a model stage to evaluate.
type evalTarget struct {
	name, stage string
	role        Role
	perClass    int
	// sweep marks a point of the samples-per-class sweep (Fig. 5b), not
	// a row of the run's main tables.
	sweep bool
}

// Evaluated is one model's accuracy on the test split.
type Evaluated struct {
	Name      string  `json:"name"`  // "ANN", "DC", "DC + CET", …
	Stage     string  `json:"stage"` // the stage that made it
	Role      Role    `json:"role"`
	Sweep     bool    `json:"sweep,omitempty"`
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
	// Data and Images name the test split it was scored on (in an
	// eval-* stage's result; EvalResult holds them once).
	Data   string `json:"data,omitempty"`
	Images int    `json:"images,omitempty"`
	// Hits says which test images the model classified right: bit i of
	// the base64-coded bytes (least significant bit first) is image i.
	// Two models' hits give their paired difference.
	Hits string `json:"hits,omitempty"`
}

// packHits codes hits as Evaluated.Hits.
func packHits(hits []bool) string {
	b := make([]byte, (len(hits)+7)/8)
	for i, h := range hits {
		if h {
			b[i/8] |= 1 << (i % 8)
		}
	}
	return base64.StdEncoding.EncodeToString(b)
}

// unpackHits decodes n images' hits from Evaluated.Hits.
func unpackHits(s string, n int) ([]bool, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("hits: %w", err)
	}
	if n < 0 || len(b) != (n+7)/8 {
		return nil, fmt.Errorf("hits: %d bytes for %d images", len(b), n)
	}
	hits := make([]bool, n)
	for i := range hits {
		hits[i] = b[i/8]&(1<<(i%8)) != 0
	}
	return hits, nil
}

// EvalResult is the evaluation stage's result.
type EvalResult struct {
	Data   string      `json:"data"`
	Images int         `json:"images"`
	Models []Evaluated `json:"models"`
}

func evaluateOne(ctx context.Context, d data.Spec, c stage.EvalSettings, in Inputs, t evalTarget, p progress.Func) (*Evaluated, error) {
	test, err := d.Load(data.Test)
	if err != nil {
		return nil, err
	}
	m, err := stage.LoadModel(modelPath(in[t.stage]), stage.RoleModel, "")
	if err != nil {
		return nil, err
	}
	if err := p.Report(progress.Report{Label: t.name}); err != nil {
		return nil, err
	}
	r, err := stage.Eval(ctx, stage.EvalJob{Model: m, Data: test, Settings: c}, p)
	if err != nil {
		return nil, err
	}
	e := &Evaluated{Name: t.name, Stage: t.stage, Role: t.role, Sweep: t.sweep, Kind: string(r.Kind), PerClass: t.perClass,
		Accuracy: r.Accuracy, Timesteps: r.Timesteps, Curve: r.AccuracyByTimestep, Images: test.Len(), Data: test.Name, Hits: packHits(r.Hits)}
	if s := m.Card.SNN; s != nil && s.Encryption != nil {
		e.Recipe = s.Encryption.Recipe
	}
	for _, l := range r.SpikeRates {
		e.Layers, e.SpikeRates = append(e.Layers, l.Layer), append(e.SpikeRates, l.Rate)
	}
	return e, nil
}

// gatherEvals collects the per-model evaluations (stages names) into the
// eval stage's result, in order.
func gatherEvals(in Inputs, names []string) (*EvalResult, error) {
	res := &EvalResult{}
	for _, n := range names {
		var e Evaluated
		if err := in.Decode(n, &e); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		res.Data, res.Images = e.Data, e.Images
		e.Data, e.Images = "", 0
		res.Models = append(res.Models, e)
	}
	return res, nil
}

// EnergyModel is one SNN's energy estimate.
type EnergyModel struct {
	Name   string        `json:"name"`
	Role   Role          `json:"role"`
	Report energy.Report `json:"report"`
}

// EnergyResult is the energy stage's result (45 nm fp32 costs).
type EnergyResult struct {
	Images int           `json:"images"`
	Models []EnergyModel `json:"models"`
}

func measureEnergy(ctx context.Context, d data.Spec, c stage.EnergySettings, in Inputs, targets []evalTarget, p progress.Func) (*EnergyResult, error) {
	test, err := d.Load(data.Test)
	if err != nil {
		return nil, err
	}
	res := &EnergyResult{Images: test.Len()}
	for _, t := range targets {
		m, err := stage.LoadModel(modelPath(in[t.stage]), stage.RoleModel, modelfile.KindSNN)
		if err != nil {
			return nil, err
		}
		if err := p.Report(progress.Report{Label: t.name}); err != nil { // the model whose simulation follows
			return nil, err
		}
		r, err := stage.Energy(ctx, stage.EnergyJob{Model: m, Data: test, Settings: c}, p)
		if err != nil {
			return nil, err
		}
		res.Models = append(res.Models, EnergyModel{Name: t.name, Role: t.role, Report: r.Reports[0]})
	}
	return res, nil
}

// AuditResult is the audit stage's result.
type AuditResult = stage.AuditResult

func auditModels(ctx context.Context, dir string, d data.Spec, s audit.Settings, in Inputs, targets []evalTarget, p progress.Func) (*AuditResult, error) {
	job := stage.AuditJob{Settings: s, Out: dir}
	for i, st := range []string{"evaluator", "evaluator2"} {
		ev, err := stage.LoadModel(modelPath(in[st]), stage.RoleEvaluator, modelfile.KindANN)
		if err != nil {
			return nil, err
		}
		job.Evaluators = append(job.Evaluators, stage.Audited{Name: fmt.Sprintf("E%d", i+1), Model: ev})
	}
	var err error
	if job.Test, err = d.Load(data.Test); err != nil {
		return nil, err
	}
	if job.Synth, err = stage.LoadSynthetic(in["synth"].Dir); err != nil {
		return nil, err
	}
	for _, t := range targets {
		m, err := stage.LoadModel(modelPath(in[t.stage]), stage.RoleModel, modelfile.KindSNN)
		if err != nil {
			return nil, err
		}
		job.Models = append(job.Models, stage.Audited{Name: t.name, Model: m})
	}
	return stage.Audit(ctx, job, p)
}
