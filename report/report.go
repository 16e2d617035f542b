package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/privatesnn/privatesnn/internal/atomicfile"
)

// Names of the files Write produces in its directory.
const (
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
	FiguresDir   = "figures"
)

// Data is everything a report shows. Slices may be empty: the section they
// feed is then left out and the report says so (except in a sweep's
// summary, which lists nothing as not run).
type Data struct {
	Title string
	Meta  Meta
	// Sweep summarises a swept configuration; nil for a single run. Its
	// section comes first.
	Sweep *Sweep
	// Accuracy is the analogue of the paper's Table 2.
	Accuracy []AccuracyRow
	// Ablation is Table 3: the converted network (DC) with class-encryption
	// training (CET) and on-device distillation (OD).
	Ablation []AblationRow
	// Conversion is the data-free conversion's settings and thresholds;
	// nil when the run converted nothing.
	Conversion *Conversion
	// Compared are further conversions of the same ANN, set beside DC.
	Compared []ComparedConversion
	// Leakage is Table 4: one row per attack and model, then reference rows
	// (Model == ""). Rows are shown in the given order.
	Leakage []LeakageRow
	// LeakageEvaluators names the evaluators of Table 4 in the order of its
	// top-1 columns: the first scored each row's Top1, Top3, Confidence and
	// FD, the others the rows' More. Empty: the first is called
	// "evaluator" and the others are named by the rows' More.
	LeakageEvaluators []string
	// LeakageNote is shown under Table 4 as given, e.g. the chance levels.
	LeakageNote string
	// WorstCase holds each attacked model's worst case of the audit: its
	// highest evaluator top-1 over every attack and evaluator.
	WorstCase []WorstCase
	// Pairs are the audit's paired differences of evaluator top-1 between
	// models attacked from the same starting images.
	Pairs []PairedDifference
	// Frontier is the privacy–accuracy frontier of the inversion
	// defences; nil when the run trained none.
	Frontier *Frontier
	// Energy is Table 5.
	Energy []EnergyRow
	// Layers holds spike rates and energy per layer; rows of one model are
	// grouped by Model, in order of first appearance.
	Layers []LayerRow
	// Synthetic is the path of a PNG grid of synthetic images (Fig. 2), or "".
	Synthetic string
	// AccuracyVsT is Fig. 5a: accuracy against timestep, one curve per model.
	AccuracyVsT []Curve
	// AccuracyVsSamples is Fig. 5b: accuracy against synthetic images per
	// class, with CET and with CET+OD.
	AccuracyVsSamples []SamplesPoint
	// AttackGrids is Fig. 6: PNG grids of attack images.
	AttackGrids []Grid
}

// Meta describes how the run was made.
type Meta struct {
	// Command is the command line that made the report.
	Command string
	// Config is the text of the run's config file.
	Config string
	// Software is the privatesnn version string.
	Software  string
	GoVersion string
	// Backend names the GEMM backend.
	Backend string
	// Seeds holds the seed of every stage, by stage name.
	Seeds  map[string]uint64
	Stages []StageInfo
	// Started is when the run began; the zero time is shown as not recorded.
	Started time.Time
}

// StageInfo describes one stage of the pipeline.
type StageInfo struct {
	Name string
	// Dir is the stage's output directory.
	Dir string
	// Seconds is the stage's wall time.
	Seconds float64
	// Cached reports that the stage's output was reused, not recomputed.
	Cached bool
	// ReadsRealData reports that the stage read a real data set.
	ReadsRealData bool
	// Reads says what the stage read.
	Reads string
}

// AccuracyRow is one model's test accuracy.
type AccuracyRow struct {
	Model string
	// Kind is "ANN" or "SNN".
	Kind string
	// Timesteps is the SNN's T; 0 (an ANN) is shown as "–".
	Timesteps int
	// Accuracy is a fraction.
	Accuracy float64
	// VsANN, when known, is the difference from the ANN's accuracy (a
	// difference of fractions) with its paired 95 % interval over the same
	// test images.
	VsANN *PairedDelta
	Note  string
}

// PairedDelta is a difference of two models' rates (fractions) on the same
// items, with its paired 95 % interval.
type PairedDelta struct {
	Delta float64
	CI    Interval
}

// Conversion is a data-free conversion's outcome: the settings it used
// (with the select recipe, the candidate it chose) and the thresholds it
// set.
type Conversion struct {
	// Recipe is "paper" or "select"; Settings are the settings used, in
	// words ("percentile 99.9, initial membrane 0.5·θ, direct input").
	Recipe, Settings  string
	Timesteps         int
	CalibrationImages int
	// Layers are the spiking layers and Thresholds their thresholds, in
	// order.
	Layers     []string
	Thresholds []float64
	// Candidates are a selection's candidates in the order scored, nil for
	// the paper's recipe; they were scored on HeldOut synthetic images at
	// Timesteps and HalfTimesteps, and chosen by Rule.
	Candidates    []ConversionCandidate
	HeldOut       int
	HalfTimesteps int
	Rule          string
}

// ComparedConversion is one further conversion of the run's ANN: the
// model it made, its recipe and T, the settings used in words, what its
// potential correction did ("" when none ran) and the QCFS fine-tuning
// it converted ("" when it converted the ANN itself).
type ComparedConversion struct {
	Model, Recipe, Settings, Correction, Quantisation string
	Timesteps                                         int
}

// ConversionCandidate is one scored candidate of a data-free selection.
type ConversionCandidate struct {
	Settings string
	// Agreement and AgreementHalf are the fractions of held-out images on
	// which the SNN's top-1 class equals the ANN's at T and at T/2.
	Agreement, AgreementHalf float64
	// Error says why the candidate could not be scored.
	Error  string
	Chosen bool
}

// AblationRow is one model of the CET / OD ablation.
type AblationRow struct {
	Model     string
	Timesteps int
	// Accuracy is a fraction.
	Accuracy float64
	// Delta is the difference from the converted network (DC) in
	// percentage points.
	Delta float64
	// DeltaCI, when known, is Delta's paired 95 % interval over the same
	// test images, as fractions (a difference of rates).
	DeltaCI *Interval
}

// Interval is a 95 % confidence interval [Lo, Hi], in the unit of the
// value it bounds.
type Interval struct {
	Lo, Hi float64
}

// LeakageRow is one row of the class-leakage audit.
type LeakageRow struct {
	// Set names the images scored: an attack, or a reference set.
	Set string
	// Model is the attacked model; "" for reference rows.
	Model string
	// Self is the attacked model's hit rate (a fraction); nil for reference
	// rows.
	Self *float64
	// Top1, Top3 and Confidence are the evaluator's top-1 and top-3 hit
	// rates (fractions) and its mean confidence in the target class.
	Top1, Top3, Confidence float64
	// Top1CI is the 95 % interval of Top1 (fractions); nil: none shown.
	Top1CI *Interval
	// More holds the top-1 hit rates of the further evaluators.
	More []EvaluatorTop1
	// FD is the Fréchet distance of evaluator features to real test images.
	FD float64
	// FDCI is the bootstrap 95 % interval of FD; nil: none shown.
	FDCI *Interval
	// Images is the number of images scored.
	Images int
}

// EvaluatorTop1 is one evaluator's top-1 hit rate on a row's images (a
// fraction) with its 95 % interval.
type EvaluatorTop1 struct {
	Evaluator string
	Top1      float64
	CI        Interval
}

// WorstCase is one model's highest evaluator top-1 hit rate (a fraction)
// over every attack and evaluator of an audit, with its 95 % interval,
// and the attack and evaluator that reached it.
type WorstCase struct {
	Model, Attack, Evaluator string
	Top1                     float64
	CI                       Interval
}

// PairedDifference is the difference of the evaluator top-1 hit rates of
// two models under one attack, Model's minus Against's (fractions), with
// its paired 95 % interval.
type PairedDifference struct {
	Attack, Model, Against, Evaluator string
	Diff                              float64
	CI                                Interval
}

// Frontier is the privacy–accuracy frontier: every defended model's test
// accuracy against its worst-case evaluator top-1 hit rate.
type Frontier struct {
	// Base is the undefended CET + OD model, strength 0 of every
	// defence: the first point of every line. Nil when it is not known.
	Base *FrontierPoint
	// References are further models shown as labelled markers (DC,
	// DC + CET).
	References []FrontierPoint
	// Lines holds one line per defence.
	Lines []FrontierLine
	// Chance is the top-1 hit rate of guessing (a fraction), drawn as a
	// vertical line; 0: not drawn.
	Chance float64
}

// FrontierLine is one defence at several strengths.
type FrontierLine struct {
	// Defense names the defence and its strength's symbol, as in
	// "negative label smoothing (α)".
	Defense string
	// Points are the defended models; they are shown in order of the
	// strength's magnitude.
	Points []FrontierPoint
}

// FrontierPoint is one model of the frontier: its test accuracy and its
// worst case (fractions).
type FrontierPoint struct {
	Model string
	// Strength is the defence's strength; 0 for Base and References.
	Strength float64
	Accuracy float64
	// Top1 is the worst-case evaluator top-1 hit rate, CI its 95 %
	// interval, reached by Attack scored by Evaluator.
	Top1              float64
	CI                Interval
	Attack, Evaluator string
}

// EnergyRow is one model's operation count and energy per image, and the
// ratio ANN/SNN of the energies.
type EnergyRow struct {
	Model     string
	Timesteps int
	ANNMACs   float64
	SNNACs    float64
	// ANNJoules and SNNJoules are joules per image.
	ANNJoules, SNNJoules float64
	Ratio                float64
}

// LayerRow is one weighted layer of one model: its own spike rate and,
// from an energy estimate, the spike rate that reaches it and its energy.
// Every value of a row is the same layer's.
type LayerRow struct {
	Model, Layer string
	// SpikeRate is the layer's own spikes per neuron per time step (a
	// fraction); Output marks the output layer, which accumulates without
	// spiking.
	SpikeRate float64
	Output    bool
	// InputRate is the spike rate of what feeds the layer (spikes per
	// neuron per step, before pooling), the rate its SNN energy counts;
	// Analog marks a first layer fed the analog image (direct input).
	InputRate float64
	Analog    bool
	// ANNJoules and SNNJoules are the layer's energy per image; both 0
	// when no energy was estimated.
	ANNJoules, SNNJoules float64
}

// Curve is one model's accuracy (fractions) at the timesteps T; the two
// slices have the same length.
type Curve struct {
	Model    string
	T        []int
	Accuracy []float64
}

// SamplesPoint is the accuracy (fractions) with CET and with CET+OD after
// training on PerClass synthetic images per class.
type SamplesPoint struct {
	PerClass   int
	CET, CETOD float64
}

// Grid is a PNG grid of one attack's images against one model.
type Grid struct {
	Model, Attack, Path string
}

// Write renders d into dir: MarkdownFile, HTMLFile and, under FiguresDir,
// the plots and copies of the image grids that MarkdownFile links to. dir
// and its figures directory are created if needed. A grid path that cannot
// be read or is not a PNG is an error naming the path.
func Write(dir string, d *Data) error {
	if d == nil {
		return fmt.Errorf("report: nil Data")
	}
	doc, err := build(d)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	figs := filepath.Join(dir, FiguresDir)
	if err := os.MkdirAll(figs, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for _, s := range doc.Sections {
		for _, f := range s.Figures {
			if err := atomicfile.WriteFile(filepath.Join(dir, filepath.FromSlash(f.File)), f.PNG); err != nil {
				return fmt.Errorf("report: figure: %w", err)
			}
		}
	}
	var md bytes.Buffer
	writeMarkdown(&md, doc)
	if err := atomicfile.WriteFile(filepath.Join(dir, MarkdownFile), md.Bytes()); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var h bytes.Buffer
	if err := writeHTML(&h, doc); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, HTMLFile), h.Bytes()); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
