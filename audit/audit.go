package audit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
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
}

// Applies reports whether the method attacks the model: every method
// attacks an SNN, only Attack 1 an ANN.
func (m *Model) Applies(method attack.Method) bool { return m.SNN != nil || method == attack.Visualize }

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

// normalize returns s's images as the evaluator's input, normalised in
// float32 (imageset's Float32Table) as the published audits were.
func (e *Evaluator) normalize(s *imageset.Set) *tensor.Tensor {
	return s.Tensor(nil, e.Norm.Float32Table())
}

// Options configures an audit.
type Options struct {
	// Methods lists the attacks to run (default all three).
	Methods []attack.Method `json:"methods"`
	// PerClass is the number of attack images per class.
	PerClass int `json:"per_class"`
	// Seed keys every random stream of the audit.
	Seed        uint64                    `json:"seed"`
	Visualize   attack.VisualizeOptions   `json:"attack1"`
	SNNGradient attack.SNNGradientOptions `json:"attack2"`
	Inversion   attack.InversionOptions   `json:"attack3"`
}

// Defaults returns every method, 10 images per class, each attack's
// defaults.
func Defaults() Options {
	return Options{Methods: []attack.Method{attack.Visualize, attack.SNNGradient, attack.SNNInversion}, PerClass: 10,
		Visualize: attack.DefaultVisualize(), SNNGradient: attack.DefaultSNNGradient(), Inversion: attack.DefaultInversion()}
}

// Validate reports unusable options.
func (o Options) Validate() error {
	if len(o.Methods) == 0 {
		return errors.New("audit: no attack methods")
	}
	for _, m := range o.Methods {
		if _, err := m.MarshalText(); err != nil {
			return err
		}
	}
	if o.PerClass < 1 || o.PerClass > attack.MaxImages {
		return fmt.Errorf("audit: %d images per class outside [1, %d]", o.PerClass, attack.MaxImages)
	}
	for _, err := range []error{o.Visualize.Validate(), o.SNNGradient.Validate(), o.Inversion.Validate()} {
		if err != nil {
			return err
		}
	}
	return nil
}

// Row is one scored set of images.
type Row struct {
	// Model is the attacked model's name; empty for a reference row.
	Model string `json:"model,omitempty"`
	// Set names the images: "attack1" … "attack3", or a reference set
	// ("real", "noise", "synthetic").
	Set string `json:"set"`
	// Self is the attacked model's own top-1 hit rate on the images
	// (attack rows only).
	Self *float64 `json:"self,omitempty"`
	leakage.Score
	// Seconds is the attack's wall time.
	Seconds float64 `json:"seconds,omitempty"`
	// Result holds the attack's images (attack rows).
	Result *attack.Result `json:"-"`
	// RefImages holds a reference row's images, in the models' classes.
	RefImages *imageset.Set `json:"-"`
}

// Report is an audit's result.
type Report struct {
	Options Options `json:"options"`
	// Reference is the number of real test images the distances are
	// measured against.
	Reference int `json:"reference_images"`
	// Chance is the top-1 hit rate of guessing: 1/classes.
	Chance float64 `json:"chance"`
	// EvaluatorAccuracy is the evaluator's top-1 accuracy on the reference
	// images.
	EvaluatorAccuracy float64 `json:"evaluator_accuracy"`
	Rows              []Row   `json:"rows"`
	// Skipped lists (model, method) pairs that do not apply, with why.
	Skipped []string `json:"skipped,omitempty"`
}

// stream returns the random stream of one (model, set) pair.
func stream(seed uint64, model int, set string) *rand.Rand {
	h := uint64(14695981039346656037)
	for _, b := range []byte(set) {
		h = (h ^ uint64(b)) * 1099511628211
	}
	return rand.New(rand.NewPCG(seed, h^uint64(model+1)*0x9e3779b97f4a7c15))
}

// Run audits models; see the package documentation. test are real test
// images: PerClass of every class are drawn (with Seed) as the "real"
// reference row and the rest form the reference distribution. synthetic
// may be nil. Only the shape, pixels and labels of test and synthetic are
// read; every label must be one of the models' classes.
//
// pr, when not nil, receives a report labelled "reference distribution"
// (0 of 1, then 1 of 1) around the description of the reference images,
// and every attack's reports with the attack and model as their Stage
// ("attack1 on DC"). A non-nil error from it stops the audit.
func Run(ctx context.Context, models []Model, ev *Evaluator, test, synthetic *imageset.Set, o Options, pr progress.Func) (*Report, error) {
	cfg, err := checkRun(models, ev, test, synthetic, o)
	if err != nil {
		return nil, err
	}
	report := &Report{Options: o, Chance: 1 / float64(cfg.Classes)}
	report.Options.Methods = slices.Clone(o.Methods)

	// Split the test images: PerClass of every class for the "real" row,
	// the rest for the reference distribution.
	real, rest, err := split(test, cfg.Classes, o.PerClass, stream(o.Seed, -1, "real"))
	if err != nil {
		return nil, fmt.Errorf("audit: test images: %w", err)
	}
	if rest.Len() < 2 {
		return nil, fmt.Errorf("audit: %d test images leave %d for the reference distribution, want at least 2", test.Len(), rest.Len())
	}
	sc := &scorer{ctx: ctx, ev: ev}
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
	report.Rows = append(report.Rows, refs...)
	return report, nil
}

// checkRun checks Run's arguments and returns the models' configuration.
func checkRun(models []Model, ev *Evaluator, test, synthetic *imageset.Set, o Options) (vgg.Config, error) {
	if err := o.Validate(); err != nil {
		return vgg.Config{}, err
	}
	if len(models) == 0 {
		return vgg.Config{}, errors.New("audit: no models")
	}
	if ev == nil || ev.Model == nil {
		return vgg.Config{}, errors.New("audit: no evaluator")
	}
	if err := ev.Norm.Validate(); err != nil {
		return vgg.Config{}, err
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
	ec := ev.Model.Config
	if ec.Classes != cfg.Classes || ec.InChannels != cfg.InChannels || ec.InHeight != cfg.InHeight || ec.InWidth != cfg.InWidth {
		return vgg.Config{}, fmt.Errorf("audit: the evaluator reads %d×%d×%d images into %d classes, the models %d×%d×%d into %d",
			ec.InChannels, ec.InHeight, ec.InWidth, ec.Classes, cfg.InChannels, cfg.InHeight, cfg.InWidth, cfg.Classes)
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

// scorer scores sets of images with the evaluator against the reference
// distribution.
type scorer struct {
	ctx context.Context
	ev  *Evaluator
	ref *leakage.Moments
}

// describe describes the reference distribution rest, reporting progress
// around it, and records its size and the evaluator's accuracy on it.
func (sc *scorer) describe(report *Report, rest *imageset.Set, pr progress.Func) error {
	refReport := progress.Report{Label: "reference distribution", Total: 1}
	if err := pr.Report(refReport); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	refLogits, ref, err := leakage.Describe(sc.ctx, sc.ev, sc.ev.normalize(rest))
	if err != nil {
		return fmt.Errorf("audit: reference: %w", err)
	}
	refReport.Done = 1
	if err := pr.Report(refReport); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	sc.ref = ref
	report.Reference = rest.Len()
	if report.EvaluatorAccuracy, _, _, err = leakage.ClassifyScores(refLogits, labelsOf(rest)); err != nil {
		return fmt.Errorf("audit: reference: %w", err)
	}
	return nil
}

// score scores s as row's images.
func (sc *scorer) score(row *Row, s *imageset.Set) error {
	score, err := leakage.ScoreImages(sc.ctx, sc.ev, sc.ev.normalize(s), labelsOf(s), sc.ref)
	if err != nil {
		return fmt.Errorf("audit: %s: %w", row.Set, err)
	}
	row.Score = score
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
	nr := stream(o.Seed, -1, "noise")
	for i := range noise.Pixels {
		noise.Pixels[i] = uint8(nr.IntN(256))
	}
	refs = append(refs, Row{Set: "noise", RefImages: noise})
	if synthetic != nil {
		syn, _, err := split(synthetic, cfg.Classes, o.PerClass, stream(o.Seed, -1, "synthetic"))
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

// attackRows runs every method on every model it applies to, appends the
// scored rows to report.Rows and the pairs it skips to report.Skipped.
func (sc *scorer) attackRows(report *Report, models []Model, cfg vgg.Config, o Options, pr progress.Func) error {
	targets := attack.Targets(cfg.Classes, o.PerClass)
	for mi := range models {
		m := &models[mi]
		for _, method := range o.Methods {
			if !m.Applies(method) {
				report.Skipped = append(report.Skipped, fmt.Sprintf("%s on %s: the model is an ANN; only Attack 1 applies", method, m.Name))
				continue
			}
			name := fmt.Sprintf("%s on %s", method, m.Name)
			rng := stream(o.Seed, mi, method.String())
			start := time.Now()
			res, err := Attack(sc.ctx, m, method, targets, o, rng, pr.WithStage(name))
			if err != nil {
				return fmt.Errorf("audit: %s: %w", name, err)
			}
			self := res.Hits()
			row := Row{Model: m.Name, Set: method.String(), Self: &self, Seconds: time.Since(start).Seconds(), Result: res}
			if err := sc.score(&row, ResultImages(res, cfg.Classes)); err != nil {
				return err
			}
			report.Rows = append(report.Rows, row)
		}
	}
	return nil
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

// Attack runs one attack against model m with o's settings for it:
// Attack 1 on the model's ANN (re-converted from its SNN), Attacks 2 and 3
// on its SNN (an error for an ANN).
func Attack(ctx context.Context, m *Model, method attack.Method, targets []int, o Options, rng *rand.Rand, p progress.Func) (*attack.Result, error) {
	switch method {
	case attack.Visualize:
		ann := m.ANN
		if m.SNN != nil {
			var err error
			if ann, err = attack.Reconvert(m.SNN); err != nil {
				return nil, err
			}
		}
		return attack.RunVisualize(ctx, ann, m.Norm, targets, o.Visualize, rng, p)
	case attack.SNNGradient, attack.SNNInversion:
		if m.SNN == nil {
			return nil, fmt.Errorf("audit: %s attacks a spiking network; %q is an ANN", method, m.Name)
		}
		if method == attack.SNNGradient {
			return attack.RunSNNGradient(ctx, m.SNN, m.Norm, targets, o.SNNGradient, rng, p)
		}
		return attack.RunInversion(ctx, m.SNN, m.Norm, targets, o.Inversion, rng, p)
	}
	return nil, fmt.Errorf("audit: unknown method %d", int(method))
}
