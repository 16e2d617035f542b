package stage

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/audit"
	"github.com/privatesnn/privatesnn/encrypt"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/internal/outdir"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/tensor"
)

// AttackFile is the record Attack writes beside the images.
const AttackFile = "attack.json"

// AttackJob runs one attack against one model, reading its weights only:
// the attack command.
type AttackJob struct {
	Model  *Model
	Method audit.Attack
	// Settings hold the attack's settings, PerClass and Seed; their
	// Methods are not used.
	Settings audit.Settings
	// Out is the directory of the images and AttackFile.
	Out string
}

// AttackRecord is AttackFile.
type AttackRecord struct {
	Method audit.Attack `json:"method"`
	About  string       `json:"about"`
	Model  string       `json:"model"`
	// ModelSHA256 is the SHA-256 of the attacked weights file.
	ModelSHA256 string `json:"model_weights_sha256"`
	ModelKind   string `json:"model_kind"`
	Timesteps   int    `json:"timesteps,omitempty"`
	PerClass    int    `json:"per_class"`
	Images      int    `json:"images"`
	Seed        uint64 `json:"seed"`
	Options     any    `json:"options"`
	// SelfHitRate is the attacked model's own top-1 hit rate on the images
	// (for Attack 1: the re-converted ANN's).
	SelfHitRate float64     `json:"self_hit_rate"`
	PerImage    []ImageInfo `json:"per_image"`
	Seconds     float64     `json:"seconds"`
	Out         string      `json:"out"`
	// DataRead is what the attack read besides the model's weights.
	DataRead string `json:"data_read"`
}

// ImageInfo is one attack image: its file, target, the attacked model's
// prediction and the final loss.
type ImageInfo struct {
	File      string  `json:"file"`
	Target    int     `json:"target"`
	Predicted int     `json:"predicted"`
	Loss      float64 `json:"loss"`
}

// AttackStart is the Detail of the event Attack reports before attacking.
type AttackStart struct {
	Model    string
	Method   audit.Attack
	Kind     string // "ANN" or "SNN, T = 8"
	Images   int
	PerClass int
}

// auditModel returns the model as package audit takes it, with its
// trapdoor's triggers as the patterns the aware attack keeps out.
func auditModel(m *Model, name string) (audit.Model, error) {
	am := audit.Model{Name: name, Norm: m.Card.Normalization}
	if !m.IsSNN() {
		am.ANN = m.Net
		return am, nil
	}
	net, err := m.Spiking(0)
	if err != nil {
		return am, err
	}
	am.SNN = net
	am.Avoid, err = triggers(m)
	return am, err
}

// triggers rebuilds the trigger patterns of the trapdoor that an encrypted
// model's training record names (its seed and pixel range); nil for a
// model trained without one.
func triggers(m *Model) (*tensor.Tensor, error) {
	if m.Card.SNN == nil || m.Card.SNN.Encryption == nil || len(m.Card.Training) == 0 {
		return nil, nil
	}
	var rec encryptRecord
	if err := json.Unmarshal(m.Card.Training, &rec); err != nil {
		return nil, fmt.Errorf("read the training record of %s: %w", m.Path, err)
	}
	if rec.Options.TrapdoorRate <= 0 {
		return nil, nil
	}
	c := m.Net.Config
	t, err := encrypt.Triggers(rec.Options, c.InChannels, c.InHeight, c.InWidth, c.Classes)
	if err != nil {
		return nil, fmt.Errorf("the trapdoor of %s: %w", m.Path, err)
	}
	return t, nil
}

// Attack runs the job's attack (seeded by the settings' seed and the
// attack's name, as audit.AttackStream) and writes the images, a grid with one row per class and
// AttackFile into Out. p receives an AttackStart event, then the attack's
// reports.
//
// Before the attack it refuses an Out that is a file, holds another kind
// of artifact, is, holds or lies inside the model or a model its card
// leads to, or holds a file the attack would write that the AttackFile in
// Out does not list (a *DirError). The files that AttackFile lists
// and this attack does not write are removed before the new ones are
// written; anything else in Out stays. An Out that does not exist or is
// empty gets the attack whole, written beside it and renamed into place.
func Attack(ctx context.Context, j AttackJob, p progress.Func) (*AttackRecord, error) {
	start := time.Now()
	if !j.Model.IsSNN() && j.Method.Method != attack.Visualize && j.Method.Method != attack.ANNInversion {
		return nil, inputErr(RoleModel, j.Model.Path, mismatch("is an ANN; method %d attacks a spiking network (methods 1 and 4 apply to an ANN)", int(j.Method.Method)))
	}
	o := j.Settings.Options()
	o.Methods = audit.Attacks{j.Method}
	if err := o.Validate(); err != nil {
		return nil, setting.Check(err)
	}
	am, err := auditModel(j.Model, j.Model.Path)
	if err != nil {
		return nil, err
	}
	digest, err := j.Model.WeightsSHA256()
	if err != nil {
		return nil, err
	}
	k := j.Model.Net.Config.Classes
	targets := attack.Targets(k, o.PerClass)
	labels := make([]int32, len(targets))
	for i, t := range targets {
		labels[i] = int32(t)
	}
	planned, recorded := append(audit.ImageFiles(labels), AttackFile), attackFiles(j.Out)
	if err := checkOutput(j.Out, []outdir.Kind{outdir.Attack}, modelInputs(j.Model)); err != nil {
		return nil, err
	}
	if err := outdir.Foreign(j.Out, outdir.Attack, planned, recorded); err != nil {
		return nil, err
	}
	kind := "ANN"
	if am.SNN != nil {
		kind = fmt.Sprintf("SNN, T = %d", am.SNN.Config.Timesteps)
	}
	if err := p.Report(progress.Report{Label: "attacking", Detail: AttackStart{Model: j.Model.Path, Method: j.Method, Kind: kind, Images: len(targets), PerClass: o.PerClass}}); err != nil {
		return nil, err
	}
	res, err := audit.RunAttack(ctx, &am, j.Method, targets, o, audit.AttackStream(o.Seed, j.Method), p.WithStage(j.Method.Name()))
	if err != nil {
		return nil, err
	}
	opts := map[attack.Method]any{attack.Visualize: o.Visualize, attack.SNNGradient: o.SNNGradient, attack.SNNInversion: o.Inversion,
		attack.ANNInversion: o.ANNInversion, attack.NESAttack: o.NES}[j.Method.Method]
	rec := &AttackRecord{Method: j.Method, About: j.Method.Describe(), Model: j.Model.Path, ModelSHA256: digest, ModelKind: string(j.Model.Card.Kind),
		PerClass: o.PerClass, Images: len(res.Targets), Seed: o.Seed, Options: opts, SelfHitRate: res.Hits(), Seconds: time.Since(start).Seconds(),
		Out: j.Out, DataRead: "none: the attack reads the model's weights only", PerImage: perImage(res, k)}
	if am.SNN != nil {
		rec.Timesteps = am.SNN.Config.Timesteps
	}
	err = outdir.Replace(j.Out, recorded, planned, func(dir string) error {
		if err := audit.WriteImages(dir, audit.ResultImages(res, k), j.Model.Card.ClassNames); err != nil {
			return err
		}
		return audit.WriteJSON(filepath.Join(dir, AttackFile), rec)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// attackFiles lists the files of the attack whose AttackFile is in dir,
// relative to dir: its images, grid and record; nil without a readable
// AttackFile.
func attackFiles(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, AttackFile))
	if err != nil {
		return nil
	}
	var rec struct {
		PerImage []ImageInfo `json:"per_image"`
	}
	if json.Unmarshal(b, &rec) != nil {
		return nil
	}
	files := []string{audit.GridFile, AttackFile}
	for _, im := range rec.PerImage {
		files = append(files, filepath.Clean(im.File))
	}
	return files
}

// perImage lists every attack image's file, target, the attacked model's
// prediction and the final loss.
func perImage(res *attack.Result, k int) []ImageInfo {
	var out []ImageInfo
	for i, c := range res.Targets {
		best := tensor.Argmax(res.Logits.Data[i*k : (i+1)*k])
		out = append(out, ImageInfo{File: filepath.Join(audit.ImagesDir, fmt.Sprintf("%03d-class%d.png", i, c)),
			Target: c, Predicted: best, Loss: res.Loss[i]})
	}
	return out
}

// Audited is a model under audit and the name of its rows.
type Audited struct {
	Name  string
	Model *Model
}

// AuditJob attacks several models and scores the images with an
// independent evaluator: the audit command's and the pipeline's leakage
// audit.
type AuditJob struct {
	Models []Audited
	// Evaluators are the independent scoring networks (at least one;
	// every row is scored by each, and the worst case takes the highest).
	Evaluators []Audited
	// Test is the real test split (scoring only); Synth, when not nil, is
	// scored as a reference row.
	Test     *imageset.Set
	Synth    *Synthetic
	Settings audit.Settings
	// Out is the directory of the images, the table and the record.
	Out string
}

// AuditModel describes an audited model in the record. WeightsSHA256 is
// the SHA-256 of the weights file the audit read, which ties the record to
// those bytes whatever later happens at Path.
type AuditModel struct {
	Name          string `json:"name"`
	Path          string `json:"path"`
	WeightsSHA256 string `json:"weights_sha256"`
	Kind          string `json:"kind"`
	Timesteps     int    `json:"timesteps,omitempty"`
	Recipe        string `json:"recipe,omitempty"`
}

// AuditRecord is the audit's record (audit.ReportFile): the report, the
// models and what each part read.
type AuditRecord struct {
	*audit.Report
	Models []AuditModel `json:"models"`
	// EvaluatorModels are the evaluators' files (the report's Evaluators
	// hold their names and accuracies).
	EvaluatorModels []AuditModel `json:"evaluator_models"`
	Data            string       `json:"data"`
	Synthetic       string       `json:"synthetic,omitempty"`
	Seconds         float64      `json:"seconds"`
	Out             string       `json:"out"`
	// Reads states which stage read what.
	Reads map[string]string `json:"reads"`
}

// AuditResult is a finished audit: its record and the grid of every row,
// relative to Out, keyed "model/set" ("/set" for reference rows).
type AuditResult struct {
	*AuditRecord
	Grids map[string]string `json:"grids"`
}

// Audit runs the attacks against every model, scores the images and the
// reference rows with the evaluator and writes everything into Out. p
// receives the audit's reports.
func Audit(ctx context.Context, j AuditJob, p progress.Func) (*AuditResult, error) {
	start := time.Now()
	if len(j.Models) == 0 {
		return nil, fmt.Errorf("audit: no models")
	}
	if err := j.Settings.Options().Validate(); err != nil {
		return nil, setting.Check(err)
	}
	if len(j.Evaluators) == 0 {
		return nil, fmt.Errorf("audit: no evaluator")
	}
	var evs []*audit.Evaluator
	for _, e := range j.Evaluators {
		if e.Model.Card.Kind != modelfile.KindANN {
			return nil, inputErr(RoleEvaluator, e.Model.Path, &KindError{Have: e.Model.Card.Kind, Want: modelfile.KindANN})
		}
		evs = append(evs, &audit.Evaluator{Model: e.Model.Net, Norm: e.Model.Card.Normalization, Name: e.Name})
	}
	var models []audit.Model
	for _, m := range j.Models {
		for _, e := range j.Evaluators {
			if err := Independent(e.Model, m.Model); err != nil {
				return nil, err
			}
		}
		am, err := auditModel(m.Model, m.Name)
		if err != nil {
			return nil, err
		}
		models = append(models, am)
	}
	first := j.Models[0].Model
	if _, err := checkData(j.Test, RoleData, first, p); err != nil {
		return nil, err
	}
	o := j.Settings.Options()
	if err := checkAudit(j, models, o); err != nil {
		return nil, err
	}
	label := fmt.Sprintf("audit of %d model(s) with attacks %s, %d images per class; evaluators %s; the attacks read the weights only, scoring reads %s",
		len(models), &o.Methods, o.PerClass, evaluatorPaths(j), j.Test.Name)
	if err := p.Report(progress.Report{Label: label}); err != nil {
		return nil, err
	}
	var syn *imageset.Set
	if j.Synth != nil {
		syn = &j.Synth.Set.Set
	}
	// The record's digests come first, so that a weights file that cannot
	// be read stops the audit before its attacks run.
	rec, err := auditRecord(j, nil)
	if err != nil {
		return nil, err
	}
	if rec.Report, err = audit.Run(ctx, models, evs, j.Test, syn, o, p); err != nil {
		return nil, err
	}
	rep := rec.Report
	rec.Seconds = time.Since(start).Seconds()
	grids, err := rep.WriteDir(j.Out, first.Net.Config.Classes, first.Card.ClassNames, rec)
	if err != nil {
		return nil, err
	}
	return &AuditResult{AuditRecord: rec, Grids: grids}, nil
}

// checkAudit refuses, before any work, an audit in which no method
// applies to any model (an *InputError of RoleModel), and an Out that is a
// file, holds another kind of artifact, is, holds or lies inside an input
// (a model, a model its card leads to, the evaluator, the set) or holds a
// file the audit may write that no earlier audit there lists.
func checkAudit(j AuditJob, models []audit.Model, o audit.Options) error {
	applies := false
	var paths, names []string
	var ins [][]input
	for _, e := range j.Evaluators {
		ins = append(ins, modelInputs(e.Model))
	}
	for i, m := range j.Models {
		for _, a := range o.Methods {
			applies = applies || models[i].Applies(a)
		}
		paths, names = append(paths, m.Model.Path), append(names, m.Name)
		ins = append(ins, modelInputs(m.Model))
	}
	if !applies {
		return inputErr(RoleModel, strings.Join(paths, ", "), noMethod(len(paths), o.Methods))
	}
	if j.Synth != nil {
		ins = append(ins, []input{{path: j.Synth.Path}})
	}
	if err := checkOutput(j.Out, []outdir.Kind{outdir.Audit}, ins...); err != nil {
		return err
	}
	return audit.CheckDir(j.Out, names, j.Models[0].Model.Net.Config.Classes, o)
}

// noMethod says that the methods attack SNNs only, where all of the n
// models are ANNs.
func noMethod(n int, methods []audit.Attack) error {
	var nums []string
	for _, m := range methods {
		nums = append(nums, fmt.Sprint(int(m.Method)))
	}
	list := nums[len(nums)-1]
	if len(nums) > 1 {
		list = strings.Join(nums[:len(nums)-1], ", ") + " and " + list
	}
	subject, verb := "is an ANN", "methods "+list+" attack"
	if n > 1 {
		subject = "are ANNs"
	}
	if len(nums) == 1 {
		verb = "method " + list + " attacks"
	}
	return mismatch("%s; %s a spiking network (methods 1 and 4 apply to an ANN)", subject, verb)
}

// auditRecord returns the record of an audit: the report, the models and
// what each part read.
func auditRecord(j AuditJob, rep *audit.Report) (*AuditRecord, error) {
	synth := ""
	if j.Synth != nil {
		synth = j.Synth.Path
	}
	rec := &AuditRecord{Report: rep, Data: j.Test.Name, Synthetic: synth, Out: j.Out,
		Reads: map[string]string{
			"attacks":            "the attacked models' weights only; no data",
			"scoring":            fmt.Sprintf("%s (real test images) and the evaluators %s", j.Test.Name, evaluatorPaths(j)),
			"reference rows":     j.Test.Name + " (real), generated noise" + map[bool]string{true: ", the synthetic set " + synth}[synth != ""],
			"training (earlier)": "the attacked models were converted and encrypted without real data; only their ANN and the evaluator were trained on it",
		}}
	for _, e := range j.Evaluators {
		d, err := e.Model.WeightsSHA256()
		if err != nil {
			return nil, err
		}
		rec.EvaluatorModels = append(rec.EvaluatorModels, AuditModel{Name: e.Name, Path: e.Model.Path, WeightsSHA256: d, Kind: string(e.Model.Card.Kind)})
	}
	for _, m := range j.Models {
		d, err := m.Model.WeightsSHA256()
		if err != nil {
			return nil, err
		}
		am := AuditModel{Name: m.Name, Path: m.Model.Path, WeightsSHA256: d, Kind: string(m.Model.Card.Kind)}
		if s := m.Model.Card.SNN; s != nil {
			am.Timesteps = s.Timesteps
			am.Recipe = "DC (data-free conversion)"
			if e := s.Encryption; e != nil {
				am.Recipe = "DC + " + strings.ToUpper(strings.ReplaceAll(e.Recipe, "+", " + "))
			}
		}
		rec.Models = append(rec.Models, am)
	}
	return rec, nil
}

// Independent refuses, as an *InputError of RoleEvaluator, an evaluator
// that has the weights of the audited model or of the ANN it comes from:
// it must be independent of them.
func Independent(ev, m *Model) error {
	ed, err := modelfile.WeightsDigest(ev.Path)
	if err != nil {
		return inputErr(RoleEvaluator, ev.Path, err)
	}
	md, err := modelfile.WeightsDigest(m.Path)
	if err != nil {
		return inputErr(RoleModel, m.Path, err)
	}
	if ed == md {
		return inputErr(RoleEvaluator, ev.Path, mismatch("has the same weights as the audited model %s; the evaluator must be an independently trained network", m.Path))
	}
	if m.Card.Provenance.Parent != nil {
		if p, err := m.Card.Provenance.Parent.Resolve(m.Path); err == nil {
			if pd, err := modelfile.WeightsDigest(p); err == nil && pd == ed {
				return inputErr(RoleEvaluator, ev.Path, mismatch("is the ANN the audited model %s comes from; the evaluator must be an independently trained network", m.Path))
			}
		}
	}
	return nil
}

// evaluatorPaths lists the job's evaluators' paths.
func evaluatorPaths(j AuditJob) string {
	var paths []string
	for _, e := range j.Evaluators {
		paths = append(paths, e.Model.Path)
	}
	return strings.Join(paths, ", ")
}
