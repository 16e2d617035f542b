package audit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/leakage"
	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// Model is one model under audit.
type Model struct {
	// Name labels the model's rows ("DC", "DC + CET + OD", a path).
	Name string
	// SNN is the spiking network; nil for an ANN, which only Attack 1
	// applies to.
	SNN *snn.Network
	// ANN is the network Attack 1 visualises when SNN is nil.
	ANN *vgg.Model
	// Norm is the model's input normalisation.
	Norm imageset.Normalization
	// Avoid, when not nil, holds the patterns [classes, c, h, w]
	// (normalised input space, one per class in class order) that the
	// model's defence trained it to respond to — a trapdoor's triggers —
	// of which the aware form of Attack 3 keeps the target class's out of
	// each image; nil for a model without such a defence.
	Avoid *tensor.Tensor
}

// Applies reports whether the attack applies to the model: every method
// attacks an SNN, only Attacks 1 and 4 an ANN, and an aware attack only a
// model with defence patterns.
func (m *Model) Applies(a Attack) bool {
	if a.Aware && (m.SNN == nil || m.Avoid == nil) {
		return false
	}
	return m.SNN != nil || a.Method == attack.Visualize || a.Method == attack.ANNInversion
}

func (m *Model) config() vgg.Config {
	if m.SNN != nil {
		return m.SNN.Model.Config
	}
	return m.ANN.Config
}

// newSet returns an empty set of c×h×w images in the given number of
// classes (generically named "0", "1", …).
func newSet(c, h, w, classes int) *imageset.Set {
	return &imageset.Set{Channels: c, Height: h, Width: w, Classes: classes, ClassNames: imageset.GenericNames(classes)}
}

// checkImages reports images the models cannot read: another shape, a
// pixel count that does not match the labels, or a label outside the
// models' classes. The set's own class count and names are not checked.
func checkImages(s *imageset.Set, what string, c vgg.Config) error {
	if !s.HasShape(c.InChannels, c.InHeight, c.InWidth) {
		return fmt.Errorf("audit: %s are %d×%d×%d, the models read %d×%d×%d", what, s.Channels, s.Height, s.Width, c.InChannels, c.InHeight, c.InWidth)
	}
	if len(s.Pixels) != s.Len()*s.ImageSize() {
		return fmt.Errorf("audit: %s: %d pixels for %d images", what, len(s.Pixels), s.Len())
	}
	for i, l := range s.Labels {
		if l < 0 || int(l) >= c.Classes {
			return fmt.Errorf("audit: %s: label %d of image %d outside [0, %d)", what, l, i, c.Classes)
		}
	}
	return nil
}

// labelsOf returns s's labels as the targets package leakage scores.
func labelsOf(s *imageset.Set) []int {
	out := make([]int, s.Len())
	for i, l := range s.Labels {
		out[i] = int(l)
	}
	return out
}

// Evaluator is the independent scoring network: a trained ANN and the
// normalisation it reads pixels with.
type Evaluator struct {
	Model *vgg.Model
	Norm  imageset.Normalization
	// Name labels the evaluator's scores (default "evaluator N", its
	// position from 1).
	Name string
	// Batch bounds how many images go through the network at once
	// (default 256).
	Batch int
}

// Evaluate implements leakage.Evaluator for normalised images.
func (e *Evaluator) Evaluate(ctx context.Context, x *tensor.Tensor) (logits, features *tensor.Tensor, err error) {
	n := x.Shape[0]
	batch := e.Batch
	if batch <= 0 {
		batch = 256
	}
	per := x.Len() / max(n, 1)
	k := e.Model.Config.Classes
	logits = tensor.New(n, k)
	for b0 := 0; b0 < n; b0 += batch {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		b1 := min(n, b0+batch)
		f, z := e.Model.Features(tensor.FromData(x.Data[b0*per:b1*per], append([]int{b1 - b0}, x.Shape[1:]...)...), nn.Mode{})
		if features == nil {
			features = tensor.New(n, f.Shape[1])
		}
		d := f.Shape[1]
		copy(features.Data[b0*d:b1*d], f.Data)
		copy(logits.Data[b0*k:b1*k], z.Data)
	}
	return logits, features, nil
}

// name returns the evaluator's name; i is its position from 0.
func (e *Evaluator) name(i int) string {
	if e.Name != "" {
		return e.Name
	}
	return fmt.Sprintf("evaluator %d", i+1)
}

// normalize returns s's images as the evaluator's input, normalised in
// float32 (imageset's Float32Table) as the published audits were.
func (e *Evaluator) normalize(s *imageset.Set) *tensor.Tensor {
	return s.Tensor(nil, e.Norm.Float32Table())
}

// Options configures an audit.
type Options struct {
	// Methods lists the attacks to run (default WorstCase).
	Methods Attacks `json:"methods"`
	// PerClass is the number of attack images per class.
	PerClass int `json:"per_class"`
	// Seed keys every random stream of the audit.
	Seed uint64 `json:"seed"`
	// Bootstrap is the number of resamples of the bootstrap interval on
	// every row's FD (0: no interval).
	Bootstrap    int                       `json:"bootstrap"`
	Visualize    attack.VisualizeOptions   `json:"attack1"`
	SNNGradient  attack.SNNGradientOptions `json:"attack2"`
	Inversion    attack.InversionOptions   `json:"attack3"`
	ANNInversion attack.InversionOptions   `json:"attack4"`
	NES          attack.NESOptions         `json:"attack5"`
}

// DefaultPerClass is the default number of attack images per class: with
// 10 classes, 270 images, so that the 95 % Wilson interval of any hit rate
// is at most ±6 percentage points wide (±5.9 at a rate of 50 %, the
// widest).
const DefaultPerClass = 27

// DefaultBootstrap is the default number of bootstrap resamples of FD.
const DefaultBootstrap = 200

// Defaults returns the worst-case suite of attacks, DefaultPerClass
// images per class, DefaultBootstrap resamples and each attack's defaults
// (Attack 4 takes Attack 3's).
func Defaults() Options {
	return Options{Methods: WorstCase(), PerClass: DefaultPerClass, Bootstrap: DefaultBootstrap,
		Visualize: attack.DefaultVisualize(), SNNGradient: attack.DefaultSNNGradient(), Inversion: attack.DefaultInversion(),
		ANNInversion: attack.DefaultInversion(), NES: attack.DefaultNES()}
}

// Validate reports unusable options.
func (o Options) Validate() error {
	if len(o.Methods) == 0 {
		return errors.New("audit: no attack methods")
	}
	seen := map[string]bool{}
	for _, a := range o.Methods {
		if err := a.Validate(); err != nil {
			return err
		}
		if seen[a.Name()] {
			return fmt.Errorf("audit: attack %s listed twice", a.Name())
		}
		seen[a.Name()] = true
	}
	if o.PerClass < 1 || o.PerClass > attack.MaxImages {
		return fmt.Errorf("audit: %d images per class outside [1, %d]", o.PerClass, attack.MaxImages)
	}
	if o.Bootstrap < 0 || o.Bootstrap > leakage.MaxBootstrap {
		return fmt.Errorf("audit: %d bootstrap resamples outside [0, %d]", o.Bootstrap, leakage.MaxBootstrap)
	}
	for _, err := range []error{o.Visualize.Validate(), o.SNNGradient.Validate(), o.Inversion.Validate(), o.NES.Validate()} {
		if err != nil {
			return err
		}
	}
	if slices.ContainsFunc(o.Methods, func(a Attack) bool { return a.Method == attack.ANNInversion }) {
		if err := o.ANNInversion.Validate(); err != nil {
			return err
		}
		if o.ANNInversion.Rule != attack.AdamRule {
			return errors.New("audit: attack4 runs the adam rule only")
		}
	}
	return nil
}

// Row is one scored set of images.
type Row struct {
	// Model is the attacked model's name; empty for a reference row.
	Model string `json:"model,omitempty"`
	// Set names the images: an attack's Name, or a reference set ("real",
	// "noise", "synthetic").
	Set string `json:"set"`
	// Self is the attacked model's own top-1 hit rate on the images
	// (attack rows only), with its Wilson interval.
	Self   *float64          `json:"self,omitempty"`
	SelfCI *leakage.Interval `json:"self_ci,omitempty"`
	// Score is the first evaluator's score; More holds the others', in the
	// report's order of evaluators.
	leakage.Score
	More []leakage.Score `json:"more_evaluators,omitempty"`
	// Seconds is the attack's wall time.
	Seconds float64 `json:"seconds,omitempty"`
	// Result holds the attack's images (attack rows).
	Result *attack.Result `json:"-"`
	// RefImages holds a reference row's images, in the models' classes.
	RefImages *imageset.Set `json:"-"`
}

// Scores returns the row's scores, one per evaluator.
func (r *Row) Scores() []leakage.Score { return append([]leakage.Score{r.Score}, r.More...) }

// Worst is one model's worst case: the highest evaluator top-1 hit rate
// over every attack and evaluator of the audit, and where it was reached.
type Worst struct {
	Model     string           `json:"model"`
	Attack    string           `json:"attack"`
	Evaluator string           `json:"evaluator"`
	Top1      float64          `json:"top1"`
	Top1CI    leakage.Interval `json:"top1_ci"`
}

// Pair compares two models attacked from the same starting images and
// random streams: the difference of their evaluator top-1 hit rates
// (Model's minus Against's) with Newcombe's paired 95 % interval.
type Pair struct {
	Attack    string           `json:"attack"`
	Model     string           `json:"model"`
	Against   string           `json:"against"`
	Evaluator string           `json:"evaluator"`
	Diff      float64          `json:"diff"`
	CI        leakage.Interval `json:"ci"`
}

// EvaluatorInfo names an evaluator of the report and its top-1 accuracy
// on the reference images.
type EvaluatorInfo struct {
	Name     string  `json:"name"`
	Accuracy float64 `json:"accuracy"`
}

// Report is an audit's result.
type Report struct {
	Options Options `json:"options"`
	// Reference is the number of real test images the distances are
	// measured against.
	Reference int `json:"reference_images"`
	// Chance is the top-1 hit rate of guessing: 1/classes.
	Chance float64 `json:"chance"`
	// EvaluatorAccuracy is the first evaluator's top-1 accuracy on the
	// reference images; Evaluators lists every evaluator's.
	EvaluatorAccuracy float64         `json:"evaluator_accuracy"`
	Evaluators        []EvaluatorInfo `json:"evaluators"`
	Rows              []Row           `json:"rows"`
	// WorstCase holds each attacked model's worst case.
	WorstCase []Worst `json:"worst_case,omitempty"`
	// Pairs compares every later model with the first, attack by attack
	// and evaluator by evaluator.
	Pairs []Pair `json:"pairs,omitempty"`
	// Skipped lists (model, method) pairs that do not apply, with why.
	Skipped []string `json:"skipped,omitempty"`
}

// stream returns the random stream keyed by key: an attack's (the same
// for every model, so that models are compared from the same starting
// images and draws), a reference row's, or a bootstrap's.
func stream(seed uint64, key string) *rand.Rand {
	h := uint64(14695981039346656037)
	for _, b := range []byte(key) {
		h = (h ^ uint64(b)) * 1099511628211
	}
	return rand.New(rand.NewPCG(seed, h))
}

// Run audits models; see the package documentation. evs are the
// independent evaluators (at least one; every row is scored by each).
// test are real test images: PerClass of every class are drawn (with Seed)
// as the "real" reference row and the rest form the reference
// distribution. synthetic may be nil. Only the shape, pixels and labels of
// test and synthetic are read; every label must be one of the models'
// classes.
//
// pr, when not nil, receives a report labelled "reference distribution"
// (0 of 1, then 1 of 1) around the description of the reference images,
// and every attack's reports with the attack and model as their Stage
// ("attack1 on DC"). A non-nil error from it stops the audit.
func Run(ctx context.Context, models []Model, evs []*Evaluator, test, synthetic *imageset.Set, o Options, pr progress.Func) (*Report, error) {
	cfg, err := checkRun(models, evs, test, synthetic, o)
	if err != nil {
		return nil, err
	}
	report := &Report{Options: o, Chance: 1 / float64(cfg.Classes)}
	report.Options.Methods = slices.Clone(o.Methods)

	// Split the test images: PerClass of every class for the "real" row,
	// the rest for the reference distribution.
	real, rest, err := split(test, cfg.Classes, o.PerClass, stream(o.Seed, "real"))
	if err != nil {
		return nil, fmt.Errorf("audit: test images: %w", err)
	}
	if rest.Len() < 2 {
		return nil, fmt.Errorf("audit: %d test images leave %d for the reference distribution, want at least 2", test.Len(), rest.Len())
	}
	sc := &scorer{ctx: ctx, evs: evs, seed: o.Seed, bootstrap: o.Bootstrap}
	if err := sc.describe(report, rest, pr); err != nil {
		return nil, err
	}
	refs, err := sc.referenceRows(real, synthetic, cfg, o)
	if err != nil {
		return nil, err
	}
	if err := sc.attackRows(report, models, cfg, o, pr); err != nil {
		return nil, err
	}
	report.WorstCase = worstCase(report, models)
	if report.Pairs, err = pairs(report, models); err != nil {
		return nil, err
	}
	report.Rows = append(report.Rows, refs...)
	return report, nil
}

// checkRun checks Run's arguments and returns the models' configuration.
func checkRun(models []Model, evs []*Evaluator, test, synthetic *imageset.Set, o Options) (vgg.Config, error) {
	if err := o.Validate(); err != nil {
		return vgg.Config{}, err
	}
	if len(models) == 0 {
		return vgg.Config{}, errors.New("audit: no models")
	}
	for i := range models {
		if models[i].SNN == nil && models[i].ANN == nil {
			return vgg.Config{}, fmt.Errorf("audit: model %q has no network", models[i].Name)
		}
	}
	cfg := models[0].config()
	for i := range models {
		m := &models[i]
		c := m.config()
		if c.Classes != cfg.Classes || c.InChannels != cfg.InChannels || c.InHeight != cfg.InHeight || c.InWidth != cfg.InWidth {
			return vgg.Config{}, fmt.Errorf("audit: model %q reads %d×%d×%d images into %d classes, %q %d×%d×%d into %d",
				m.Name, c.InChannels, c.InHeight, c.InWidth, c.Classes, models[0].Name, cfg.InChannels, cfg.InHeight, cfg.InWidth, cfg.Classes)
		}
		if err := m.Norm.Validate(); err != nil {
			return vgg.Config{}, fmt.Errorf("audit: model %q: %w", m.Name, err)
		}
	}
	if err := checkEvaluators(evs, cfg); err != nil {
		return vgg.Config{}, err
	}
	if test == nil {
		return vgg.Config{}, errors.New("audit: no test images")
	}
	if err := checkImages(test, "test images", cfg); err != nil {
		return vgg.Config{}, err
	}
	if synthetic != nil {
		if err := checkImages(synthetic, "synthetic images", cfg); err != nil {
			return vgg.Config{}, err
		}
	}
	return cfg, nil
}

// checkEvaluators reports a missing evaluator, one that cannot read the
// models' images into their classes, and two evaluators of one name.
func checkEvaluators(evs []*Evaluator, cfg vgg.Config) error {
	if len(evs) == 0 {
		return errors.New("audit: no evaluator")
	}
	names := map[string]bool{}
	for i, ev := range evs {
		if ev == nil || ev.Model == nil {
			return fmt.Errorf("audit: evaluator %d has no network", i+1)
		}
		if err := ev.Norm.Validate(); err != nil {
			return err
		}
		ec := ev.Model.Config
		if ec.Classes != cfg.Classes || ec.InChannels != cfg.InChannels || ec.InHeight != cfg.InHeight || ec.InWidth != cfg.InWidth {
			return fmt.Errorf("audit: evaluator %s reads %d×%d×%d images into %d classes, the models %d×%d×%d into %d",
				ev.name(i), ec.InChannels, ec.InHeight, ec.InWidth, ec.Classes, cfg.InChannels, cfg.InHeight, cfg.InWidth, cfg.Classes)
		}
		if names[ev.name(i)] {
			return fmt.Errorf("audit: two evaluators are named %q", ev.name(i))
		}
		names[ev.name(i)] = true
	}
	return nil
}

// scorer scores sets of images with every evaluator against its
// reference distribution.
type scorer struct {
	ctx       context.Context
	evs       []*Evaluator
	refs      []*leakage.Moments
	seed      uint64
	bootstrap int
}

// describe describes the reference distribution rest under every
// evaluator, reporting progress around it, and records its size and the
// evaluators' accuracy on it.
func (sc *scorer) describe(report *Report, rest *imageset.Set, pr progress.Func) error {
	refReport := progress.Report{Label: "reference distribution", Total: 1}
	if err := pr.Report(refReport); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	for i, ev := range sc.evs {
		refLogits, ref, err := leakage.Describe(sc.ctx, ev, ev.normalize(rest))
		if err != nil {
			return fmt.Errorf("audit: reference: %w", err)
		}
		acc, _, _, err := leakage.ClassifyScores(refLogits, labelsOf(rest))
		if err != nil {
			return fmt.Errorf("audit: reference: %w", err)
		}
		sc.refs = append(sc.refs, ref)
		report.Evaluators = append(report.Evaluators, EvaluatorInfo{Name: ev.name(i), Accuracy: acc})
	}
	refReport.Done = 1
	if err := pr.Report(refReport); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	report.Reference = rest.Len()
	report.EvaluatorAccuracy = report.Evaluators[0].Accuracy
	return nil
}

// score scores s as row's images with every evaluator.
func (sc *scorer) score(row *Row, s *imageset.Set) error {
	row.More = nil
	for i, ev := range sc.evs {
		key := fmt.Sprintf("bootstrap/%s/%s/%s", row.Model, row.Set, ev.name(i))
		o := leakage.ScoreOptions{Bootstrap: sc.bootstrap, Rand: stream(sc.seed, key)}
		score, err := leakage.ScoreImagesWith(sc.ctx, ev, ev.normalize(s), labelsOf(s), sc.refs[i], o)
		if err != nil {
			return fmt.Errorf("audit: %s: evaluator %s: %w", row.Set, ev.name(i), err)
		}
		if i == 0 {
			row.Score = score
		} else {
			row.More = append(row.More, score)
		}
	}
	return nil
}

// referenceRows returns the scored reference rows: the real images, uniform
// noise and, when synthetic is not nil, PerClass synthetic images of every
// class.
func (sc *scorer) referenceRows(real, synthetic *imageset.Set, cfg vgg.Config, o Options) ([]Row, error) {
	refs := []Row{{Set: "real", RefImages: real}}
	noise := newSet(cfg.InChannels, cfg.InHeight, cfg.InWidth, cfg.Classes)
	for _, t := range attack.Targets(cfg.Classes, o.PerClass) {
		noise.Labels = append(noise.Labels, int32(t))
	}
	noise.Pixels = make([]uint8, noise.Len()*noise.ImageSize())
	nr := stream(o.Seed, "noise")
	for i := range noise.Pixels {
		noise.Pixels[i] = uint8(nr.IntN(256))
	}
	refs = append(refs, Row{Set: "noise", RefImages: noise})
	if synthetic != nil {
		syn, _, err := split(synthetic, cfg.Classes, o.PerClass, stream(o.Seed, "synthetic"))
		if err != nil {
			return nil, fmt.Errorf("audit: synthetic images: %w", err)
		}
		refs = append(refs, Row{Set: "synthetic", RefImages: syn})
	}
	for i := range refs {
		if err := sc.score(&refs[i], refs[i].RefImages); err != nil {
			return nil, err
		}
	}
	return refs, nil
}

// attackRows runs every attack on every model it applies to, appends the
// scored rows to report.Rows and the pairs it skips to report.Skipped.
// Every model is attacked from the attack's own stream, the same for all
// models: the same starting images and random draws.
func (sc *scorer) attackRows(report *Report, models []Model, cfg vgg.Config, o Options, pr progress.Func) error {
	targets := attack.Targets(cfg.Classes, o.PerClass)
	for mi := range models {
		m := &models[mi]
		var unaware []string // aware attacks skipped on an SNN without patterns: one line
		for _, a := range o.Methods {
			if !m.Applies(a) {
				if a.Aware && m.SNN != nil {
					unaware = append(unaware, a.Name())
					continue
				}
				report.Skipped = append(report.Skipped, fmt.Sprintf("%s on %s: the model is an ANN; only Attacks 1 and 4 apply", a.Name(), m.Name))
				continue
			}
			name := fmt.Sprintf("%s on %s", a.Name(), m.Name)
			start := time.Now()
			res, err := RunAttack(sc.ctx, m, a, targets, o, AttackStream(o.Seed, a), pr.WithStage(name))
			if err != nil {
				return fmt.Errorf("audit: %s: %w", name, err)
			}
			self := res.Hits()
			ci := leakage.Wilson(int(math.Round(self*float64(len(targets)))), len(targets), leakage.Z95)
			row := Row{Model: m.Name, Set: a.Name(), Self: &self, SelfCI: &ci, Seconds: time.Since(start).Seconds(), Result: res}
			if err := sc.score(&row, ResultImages(res, cfg.Classes)); err != nil {
				return err
			}
			report.Rows = append(report.Rows, row)
		}
		if len(unaware) > 0 {
			report.Skipped = append(report.Skipped, fmt.Sprintf("%s on %s: the model has no defence patterns (trapdoor triggers) to keep out", strings.Join(unaware, ", "), m.Name))
		}
	}
	return nil
}

// AttackStream returns the random stream of attack a in an audit seeded
// with seed: the same for every model.
func AttackStream(seed uint64, a Attack) *rand.Rand { return stream(seed, "attack/"+a.Name()) }

// worstCase returns every attacked model's worst case over the report's
// attack rows and evaluators; ties keep the first.
func worstCase(r *Report, models []Model) []Worst {
	var out []Worst
	for _, m := range models {
		var w *Worst
		for i := range r.Rows {
			row := &r.Rows[i]
			if row.Self == nil || row.Model != m.Name {
				continue
			}
			for e, s := range row.Scores() {
				if w == nil || s.Top1 > w.Top1 {
					w = &Worst{Model: m.Name, Attack: row.Set, Evaluator: r.Evaluators[e].Name, Top1: s.Top1, Top1CI: s.Top1CI}
				}
			}
		}
		if w != nil {
			out = append(out, *w)
		}
	}
	return out
}

// pairs compares, attack by attack and evaluator by evaluator, every model
// after the first with the first.
func pairs(r *Report, models []Model) ([]Pair, error) {
	if len(models) < 2 {
		return nil, nil
	}
	byKey := map[string]*Row{}
	for i := range r.Rows {
		if r.Rows[i].Self != nil {
			byKey[r.Rows[i].Model+"\x00"+r.Rows[i].Set] = &r.Rows[i]
		}
	}
	var out []Pair
	for _, a := range r.Options.Methods {
		base := byKey[models[0].Name+"\x00"+a.Name()]
		for _, m := range models[1:] {
			row := byKey[m.Name+"\x00"+a.Name()]
			if base == nil || row == nil {
				continue
			}
			bs, rs := base.Scores(), row.Scores()
			for e := range rs {
				d, ci, err := leakage.PairedDifference(rs[e].Hit, bs[e].Hit, leakage.Z95)
				if err != nil {
					return nil, fmt.Errorf("audit: %s, %s against %s: %w", a.Name(), m.Name, models[0].Name, err)
				}
				out = append(out, Pair{Attack: a.Name(), Model: m.Name, Against: models[0].Name, Evaluator: r.Evaluators[e].Name, Diff: d, CI: ci})
			}
		}
	}
	return out, nil
}

// split draws perClass images of every class from s (in random order
// within a class) and returns them, class-major, and the other images in
// their original order, both as sets of s's shape in the given number of
// classes.
func split(s *imageset.Set, classes, perClass int, rng *rand.Rand) (picked, rest *imageset.Set, err error) {
	byClass := make([][]int, classes)
	for i, l := range s.Labels {
		byClass[l] = append(byClass[l], i)
	}
	picked, rest = newSet(s.Channels, s.Height, s.Width, classes), newSet(s.Channels, s.Height, s.Width, classes)
	taken := make([]bool, s.Len())
	for k, idx := range byClass {
		if len(idx) < perClass {
			return nil, nil, fmt.Errorf("class %d has %d images, want at least %d", k, len(idx), perClass)
		}
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx[:perClass] {
			taken[i] = true
			picked.Labels = append(picked.Labels, int32(k))
			picked.Pixels = append(picked.Pixels, s.Image(i)...)
		}
	}
	for i, t := range taken {
		if !t {
			rest.Labels = append(rest.Labels, s.Labels[i])
			rest.Pixels = append(rest.Pixels, s.Image(i)...)
		}
	}
	return picked, rest, nil
}

// RunAttack runs attack a against model m with o's settings for it:
// Attacks 1 and 4 on the model's ANN (re-converted from its SNN), Attacks
// 2, 3 and 5 on its SNN (an error for an ANN).
func RunAttack(ctx context.Context, m *Model, a Attack, targets []int, o Options, rng *rand.Rand, p progress.Func) (*attack.Result, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	switch a.Method {
	case attack.Visualize, attack.ANNInversion:
		ann := m.ANN
		if m.SNN != nil {
			var err error
			if ann, err = attack.Reconvert(m.SNN); err != nil {
				return nil, err
			}
		}
		if a.Method == attack.ANNInversion {
			return attack.RunANNInversion(ctx, ann, m.Norm, targets, o.ANNInversion, rng, p)
		}
		return attack.RunVisualize(ctx, ann, m.Norm, targets, o.Visualize, rng, p)
	}
	if m.SNN == nil {
		return nil, fmt.Errorf("audit: %s attacks a spiking network; %q is an ANN", a.Name(), m.Name)
	}
	switch a.Method {
	case attack.SNNGradient:
		return attack.RunSNNGradient(ctx, m.SNN, m.Norm, targets, o.SNNGradient, rng, p)
	case attack.SNNInversion:
		inv := o.Inversion
		if a.Surrogate != nil {
			inv.Surrogate = snn.NewSurrogate(*a.Surrogate)
		}
		if a.Encoding != nil {
			inv.Encoding = *a.Encoding
		}
		if a.Aware {
			if m.Avoid == nil {
				return nil, fmt.Errorf("audit: %s needs the model's defence patterns; %q has none", a.Name(), m.Name)
			}
			inv.Avoid, inv.AvoidOwn = m.Avoid, true
		}
		return attack.RunInversion(ctx, m.SNN, m.Norm, targets, inv, rng, p)
	case attack.NESAttack:
		return attack.RunNES(ctx, m.SNN, m.Norm, targets, o.NES, rng, p)
	}
	return nil, fmt.Errorf("audit: unknown method %d", int(a.Method))
}
