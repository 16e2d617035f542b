package stage

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/encrypt"
	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/train"
)

// Start is the Detail of the event a stage reports before its work: its
// String says in words what it is about to do.
type Start interface {
	fmt.Stringer
	start()
}

func (TrainStart) start()   {}
func (SynthStart) start()   {}
func (ConvertStart) start() {}
func (EncryptStart) start() {}
func (AttackStart) start()  {}

func (s TrainStart) String() string {
	var b strings.Builder
	if s.Resumed {
		fmt.Fprintf(&b, "resuming at epoch %d, step %d\n", s.Epoch+1, s.Step+1)
		if s.Options.Epochs != s.FromEpochs {
			fmt.Fprintf(&b, "extending the run from %d to %s; the LR schedule is laid out again over %d epochs\n", s.FromEpochs, plural(s.Options.Epochs, "epoch"), s.Options.Epochs)
		}
	}
	info := gemm.CurrentInfo()
	fmt.Fprintf(&b, "training %s (%d weights) on %s: %d images, %s, batch %d; %s %s\n%s", s.Model.Config.Name, s.Model.NumParams(), s.Train.Name,
		s.Train.Len(), plural(s.Options.Epochs, "epoch"), s.Options.BatchSize, info.Backend, info.Core, Schedule(s.Options.Epochs, s.Options.LRAt))
	return b.String()
}

func (s SynthStart) String() string {
	o := s.Options
	return fmt.Sprintf("synthesising %d images per class × %d classes (%s): %d Adam steps at lr %g (bounded %v), τ %g, batch %d, seed %d",
		o.PerClass, s.Model.Config.Classes, s.Model.Config.Name, o.Invert.Iterations, o.Invert.LR, o.Invert.Bounded, o.Invert.Temperature, o.Invert.Batch, o.Seed)
}

func (s ConvertStart) String() string {
	p, m := s.Plan, s.Model
	if p.Recipe == convert.RecipePaper {
		return fmt.Sprintf("balancing %d thresholds of %s on %d synthetic images at T=%d (the paper's recipe)", snn.SpikingLayers(m), m.Config.Name, p.Sampling.Images, p.Options.Timesteps)
	}
	return fmt.Sprintf("choosing settings for T=%d among %d candidates: thresholds on %d synthetic images, scored on %d held out", p.Options.Timesteps, len(p.Candidates), p.Sampling.Images, p.HeldOut)
}

func (s EncryptStart) String() string {
	o := s.Options
	resumed := ""
	if s.Resumed {
		resumed = fmt.Sprintf("resuming at epoch %d, step %d\n", s.Epoch+1, s.Step+1)
	}
	return fmt.Sprintf("%sclass-encryption training (%s) of %s at T=%d on %d synthetic images (%d per class), %s, batch %d; κ = %.4g (%s)\n%s",
		resumed, s.Recipe, s.SNN, s.Timesteps, s.Images, s.PerClass, plural(o.Epochs, "epoch"), o.BatchSize, s.Kappa, o.Scale, Schedule(o.Epochs, o.LRAt))
}

func (s AttackStart) String() string {
	return fmt.Sprintf("%s (%s) on %s (%s): %d images (%d per class); reads the weights only, no data", s.Method, s.Method.Describe(), s.Model, s.Kind, s.Images, s.PerClass)
}

// Schedule describes the learning rate lrAt(e) of epochs 0..epochs−1,
// e.g. "lr 0.05 for epochs 1–5, 0.005 for 6–7, 0.0005 for 8–10".
func Schedule(epochs int, lrAt func(int) float64) string {
	var parts []string
	start := 0
	for e := 1; e <= epochs; e++ {
		if e == epochs || lrAt(e) != lrAt(start) {
			r := strconv.Itoa(start + 1)
			if e > start+1 {
				r += "–" + strconv.Itoa(e)
			}
			if start == 0 {
				parts = append(parts, fmt.Sprintf("lr %.4g for %s %s", lrAt(start), map[bool]string{true: "epoch", false: "epochs"}[e == 1], r))
			} else {
				parts = append(parts, fmt.Sprintf("%.4g for %s", lrAt(start), r))
			}
			start = e
		}
	}
	return strings.Join(parts, ", ")
}

// plural returns "n word" or "n words".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// ThresholdName is the short table name of a threshold rule: "max" or
// "p99.9".
func ThresholdName(percentile float64) string {
	if percentile > 0 && percentile < 100 {
		return fmt.Sprintf("p%g", percentile)
	}
	return "max"
}

// CandidateThreshold is the short table name of a candidate's threshold
// rule: ThresholdName, prefixed by "ann " for thresholds from the ANN's
// activations (convert.Candidate.Activations), or "qcfs clips" for
// thresholds from a QCFS ANN's clips (convert.Candidate.Clips).
func CandidateThreshold(c convert.Candidate) string {
	if c.Clips {
		return "qcfs clips"
	}
	if c.Activations {
		return "ann " + ThresholdName(c.Percentile)
	}
	return ThresholdName(c.Percentile)
}

// WriteText writes the evaluation as the eval command prints it.
func (r *EvalResult) WriteText(w io.Writer) {
	fmt.Fprintf(w, "accuracy %.2f%% on %s (%d images)\n", 100*r.Accuracy, r.Data, r.Images)
	if r.DataNote != "" {
		fmt.Fprintf(w, "note: %s\n", r.DataNote)
	}
	if r.Kind == modelfile.KindSNN {
		fmt.Fprintf(w, "accuracy by time step:")
		for _, ta := range r.AccuracyByTimestep {
			fmt.Fprintf(w, " T=%d %.2f%%", ta.T, 100*ta.Accuracy)
		}
		fmt.Fprintln(w)
		if r.ANNAccuracy != nil {
			fmt.Fprintf(w, "ANN accuracy %.2f%% (%s)", 100**r.ANNAccuracy, r.ANN)
			if r.SmallestTWithin1pp != nil {
				fmt.Fprintf(w, "; smallest T within 1 pp: %d", *r.SmallestTWithin1pp)
			}
			fmt.Fprintln(w)
			if r.AgainstANN != nil {
				fmt.Fprintf(w, "against the ANN at T=%d: %s\n", r.Timesteps, r.AgainstANN.text("the ANN"))
			}
		} else if r.ANNNote != "" {
			fmt.Fprintf(w, "no ANN comparison: %s\n", r.ANNNote)
		}
		fmt.Fprintln(w, "spike rates (spikes per neuron per time step; input: non-zero inputs per input value per step):")
		for _, l := range r.SpikeRates {
			fmt.Fprintf(w, "  %-22s spike rate %.4f  input rate %.4f\n", l.Layer, l.Rate, l.InputRate)
		}
	}
	if b := r.AgainstBaseline; b != nil {
		fmt.Fprintf(w, "against the baseline %s (%.2f%%): %s\n", b.Model, 100*b.Accuracy, b.text("the baseline"))
	}
	if len(r.Candidates) == 0 {
		return
	}
	fmt.Fprintf(w, "candidates of the data-free selection on %s (agreement: on held-out synthetic images at the target T):\n", r.Data)
	fmt.Fprintf(w, "  %-10s %-6s %-8s %10s", "threshold", "init", "encoder", "agreement")
	for _, ta := range r.Candidates[0].AccuracyByTimestep {
		fmt.Fprintf(w, " %8s", fmt.Sprintf("T=%d", ta.T))
	}
	fmt.Fprintln(w)
	for _, c := range r.Candidates {
		fmt.Fprintf(w, "  %-10s %-6g %-8s %9.2f%%", CandidateThreshold(c.Candidate), c.InitMembrane, c.Encoder, 100*c.Agreement)
		for _, ta := range c.AccuracyByTimestep {
			fmt.Fprintf(w, " %7.2f%%", 100*ta.Accuracy)
		}
		if c.Chosen {
			fmt.Fprint(w, "  ← chosen")
		}
		fmt.Fprintln(w)
	}
}

// WriteSelection writes a data-free selection's scored candidates,
// marking the chosen one.
func WriteSelection(w io.Writer, s *convert.Selection) {
	fmt.Fprintf(w, "data-free selection at T=%d: agreement of the SNN's top-1 with the ANN's on %d held-out synthetic images\n(rule: %s)\n", s.Timesteps, s.HeldOutImages, s.Rule)
	fmt.Fprintf(w, "  %-10s %-6s %-8s %9s %9s\n", "threshold", "init", "encoder", fmt.Sprintf("T=%d", s.Timesteps), fmt.Sprintf("T=%d", s.HalfTimesteps))
	for i, c := range s.Candidates {
		th := CandidateThreshold(c.Candidate)
		mark := ""
		if i == s.Chosen {
			mark = "  ← chosen"
		}
		if c.Error != "" {
			fmt.Fprintf(w, "  %-10s %-6g %-8s %s\n", th, c.InitMembrane, c.Encoder, c.Error)
			continue
		}
		fmt.Fprintf(w, "  %-10s %-6g %-8s %8.2f%% %8.2f%%%s\n", th, c.InitMembrane, c.Encoder, 100*c.Agreement, 100*c.AgreementHalf, mark)
	}
}

// WriteText writes the audit as the audit command prints it: the models,
// the table, and what was read.
func (r *AuditRecord) WriteText(w io.Writer) error {
	for _, m := range r.Models {
		fmt.Fprintf(w, "model %s: %s (%s", m.Name, m.Path, m.Kind)
		if m.Timesteps > 0 {
			fmt.Fprintf(w, ", T = %d, %s", m.Timesteps, m.Recipe)
		}
		fmt.Fprintln(w, ")")
	}
	fmt.Fprintln(w)
	if err := r.Report.WriteTable(w); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nAttacks read the weights only; scoring read %s. Images, table.md and audit.json in %s (%.0fs).\n", r.Data, r.Out, r.Seconds)
	return err
}

// WriteText writes the comparison as the calibrate-compare command prints
// it.
func (r *CompareResult) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "T=%d, %d calibration images each; ANN %.2f%% on %s\n  synthetic calibration: %.2f%%\n  real calibration:      %.2f%%\n  difference (real − synthetic): %+.2f pp [%+.2f, %+.2f] (paired 95 %% interval)\n",
		r.Timesteps, r.Images, 100*r.ANNAccuracy, r.TestData, 100*r.Synthetic.TestAccuracy, 100*r.Real.TestAccuracy, r.DifferencePP,
		r.DifferenceCI95PP.Lo, r.DifferenceCI95PP.Hi)
	return err
}

// UnitLine words a report whose Detail is a finished unit — a training or
// encryption epoch, a layer's threshold, a scored candidate — or a stage's
// Start, as a permanent progress line; false for any other report.
func UnitLine(r progress.Report) (string, bool) {
	switch d := r.Detail.(type) {
	case *train.EpochResult:
		return fmt.Sprintf("%s  loss %.4f  train %.2f%%  test %.2f%%  lr %.3g  %.1fs (%.0f img/s)",
			r.Label, d.TrainLoss, 100*d.TrainAcc, 100*d.TestAcc, d.LR, d.Seconds, d.ImagesPerSec), true
	case *encrypt.EpochResult:
		return fmt.Sprintf("%s  loss %.4f (ce %.4f, kd %.4f)  train %.2f%%  lr %.3g  %.1fs (%.1f img/s)",
			r.Label, d.Loss, d.CE, d.KD, 100*d.TrainAcc, d.LR, d.Seconds, d.ImagesPerSec), true
	case convert.Layer:
		return fmt.Sprintf("layer %d/%d %-22s threshold %.4f", r.Done, r.Total, d.Name, d.Threshold), true
	case convert.Scored:
		return fmt.Sprintf("candidate %2d/%d %s: agreement with the ANN %.2f%% at T=%d, %.2f%% at T/2",
			r.Done, r.Total, d.Candidate.String(), 100*d.Agreement, d.Timesteps, 100*d.AgreementHalf), true
	case CandidateEval:
		return fmt.Sprintf("candidate %d/%d %s: %.2f%%", r.Done, r.Total, d.Candidate.String(), 100*d.AccuracyByTimestep[len(d.AccuracyByTimestep)-1].Accuracy), true
	case Start:
		return d.String(), true
	}
	return "", false
}

// ValuesText words a report's measurements for a progress bar: accuracies
// and agreements as percentages, others with 4 decimals (or 4 significant
// digits when very large or small).
func ValuesText(vs []progress.Value) string {
	var parts []string
	for _, v := range vs {
		name := strings.ReplaceAll(v.Name, "_", " ")
		if strings.Contains(v.Name, "accuracy") || strings.Contains(v.Name, "agreement") {
			parts = append(parts, fmt.Sprintf("%s %.2f%%", name, 100*v.Value))
		} else if a := math.Abs(v.Value); a != 0 && (a < 1e-3 || a >= 1e5) {
			parts = append(parts, fmt.Sprintf("%s %.4g", name, v.Value))
		} else {
			parts = append(parts, fmt.Sprintf("%s %.4f", name, v.Value))
		}
	}
	return strings.Join(parts, " ")
}

// text words the comparison: the difference in percentage points with its
// paired 95 % interval, and the images that decide it.
func (p *PairedAccuracy) text(other string) string {
	return fmt.Sprintf("%+.2f pp [%+.2f, %+.2f] (paired 95 %% interval; %d images right only here, %d only in %s)",
		100*p.Difference, 100*p.CI95.Lo, 100*p.CI95.Hi, p.OnlyModel, p.OnlyOther, other)
}
