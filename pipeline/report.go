package pipeline

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/privatesnn/privatesnn/audit"
	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/leakage"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/report"
	"github.com/privatesnn/privatesnn/stage"
)

// WriteReport renders the report of a finished run into dir from the
// stages' recorded results: every number comes from them. started is when
// the run started.
func WriteReport(dir string, c Config, configText, command string, started time.Time, done []Executed) error {
	by := map[string]Executed{}
	for _, e := range done {
		by[e.Name] = e
	}
	decode := func(name string, v any) (bool, error) {
		e, ok := by[name]
		if !ok {
			return false, nil
		}
		if err := json.Unmarshal(e.Result, v); err != nil {
			return false, fmt.Errorf("pipeline: report: stage %s: %w", name, err)
		}
		return true, nil
	}
	d := &report.Data{Title: "PrivateSNN report: " + c.Name}
	d.Meta = report.Meta{Command: command, Config: configText, Software: c.software(), GoVersion: runtime.Version(),
		Backend: backend(), Seeds: map[string]uint64{}, Started: started.UTC()}
	for _, e := range done {
		d.Meta.Seeds[e.Name] = e.Seed
	}
	for _, e := range done {
		d.Meta.Stages = append(d.Meta.Stages, report.StageInfo{Name: e.Name, Dir: e.Dir, Seconds: e.Seconds, Cached: e.Cached,
			ReadsRealData: e.RealData, Reads: e.Reads})
	}

	var ev EvalResult
	if ok, err := decode("eval", &ev); err != nil {
		return err
	} else if ok {
		if err := addAccuracy(d, ev, c.Synth.PerClass); err != nil {
			return err
		}
	}

	var cv stage.ConvertResult
	if ok, err := decode("convert", &cv); err != nil {
		return err
	} else if ok {
		d.Conversion = conversion(&cv)
	}

	for _, cc := range c.Compare {
		var r stage.ConvertResult
		if ok, err := decode(compareStageName(cc.Name), &r); err != nil {
			return err
		} else if ok {
			row := compared(cc.Name, &r)
			if cc.Quantise != nil {
				var q stage.QuantiseResult
				if ok, err := decode(quantiseStageName(cc.Name), &q); err != nil {
					return err
				} else if ok {
					row.Quantisation = quantised(&q)
				}
			}
			d.Compared = append(d.Compared, row)
		}
	}

	var en EnergyResult
	if ok, err := decode("energy", &en); err != nil {
		return err
	} else if ok {
		addEnergy(d, en.Models)
	}

	var au AuditResult
	if ok, err := decode("audit", &au); err != nil {
		return err
	} else if ok && au.AuditRecord != nil && au.Report != nil {
		addLeakage(d, &au, by["audit"].Dir)
	}
	var fa AuditResult
	if ok, err := decode("frontier-audit", &fa); err != nil {
		return err
	} else if ok && fa.AuditRecord != nil && fa.Report != nil {
		addFrontier(d, c, ev.Models, &fa)
	}
	if e, ok := by["synth"]; ok {
		d.Synthetic = filepath.Join(e.Dir, "grid.png")
	}
	return report.Write(dir, d)
}

// pairedDelta compares the evaluated model m with another model's hits on
// the same n test images.
func pairedDelta(m Evaluated, n int, other []bool) (*report.PairedDelta, error) {
	hits, err := unpackHits(m.Hits, n)
	if err != nil {
		return nil, err
	}
	d, ci, err := leakage.PairedDifference(hits, other, leakage.Z95)
	if err != nil {
		return nil, err
	}
	return &report.PairedDelta{Delta: d, CI: report.Interval{Lo: ci.Lo, Hi: ci.Hi}}, nil
}

// backend names the GEMM backend the run used.
func backend() string {
	i := gemm.CurrentInfo()
	return i.Backend + " " + i.Core
}

// addAccuracy fills the accuracy tables and figures from the evaluated
// models, placed by their roles: Table 2 and the ablation (the main rows,
// each with its paired interval against DC where both carry their hits),
// accuracy against T, the spike rates, and Fig. 5b (the encryptions by
// images per class).
func addAccuracy(d *report.Data, ev EvalResult, maxPerClass int) error {
	models := ev.Models
	var dc float64
	var dcHits, annHits []bool
	for _, m := range models {
		if m.Role != RoleDC && m.Role != RoleANN || m.Sweep {
			continue
		}
		var hits []bool
		if m.Hits != "" {
			var err error
			if hits, err = unpackHits(m.Hits, ev.Images); err != nil {
				return fmt.Errorf("eval %s: %w", m.Name, err)
			}
		}
		if m.Role == RoleDC {
			dc, dcHits = m.Accuracy, hits
		} else {
			annHits = hits
		}
	}
	points := map[int]*report.SamplesPoint{}
	for _, m := range models {
		spiking := m.Kind == string(modelfile.KindSNN)
		if (m.Role == RoleCET || m.Role == RoleCETOD) && m.PerClass > 0 {
			pt := points[m.PerClass]
			if pt == nil {
				pt = &report.SamplesPoint{PerClass: m.PerClass}
				points[m.PerClass] = pt
			}
			if m.Role == RoleCETOD {
				pt.CETOD = m.Accuracy
			} else {
				pt.CET = m.Accuracy
			}
		}
		if m.Sweep {
			continue
		}
		kind, note := "ANN", ""
		if spiking {
			kind = "SNN"
		}
		if m.PerClass > 0 {
			note = fmt.Sprintf("%d synthetic images per class", m.PerClass)
		}
		row := report.AccuracyRow{Model: m.Name, Kind: kind, Timesteps: m.Timesteps, Accuracy: m.Accuracy, Note: note}
		if m.Role != RoleANN && annHits != nil && m.Hits != "" {
			delta, err := pairedDelta(m, ev.Images, annHits)
			if err != nil {
				return fmt.Errorf("eval %s against the ANN: %w", m.Name, err)
			}
			row.VsANN = delta
		}
		d.Accuracy = append(d.Accuracy, row)
		if !spiking {
			continue
		}
		if m.Role != RoleCompare {
			row := report.AblationRow{Model: m.Name, Timesteps: m.Timesteps, Accuracy: m.Accuracy, Delta: 100 * (m.Accuracy - dc)}
			if m.Role != RoleDC && dcHits != nil && m.Hits != "" {
				delta, err := pairedDelta(m, ev.Images, dcHits)
				if err != nil {
					return fmt.Errorf("eval %s against DC: %w", m.Name, err)
				}
				row.DeltaCI = &delta.CI
			}
			d.Ablation = append(d.Ablation, row)
		}
		cv := report.Curve{Model: m.Name}
		for _, p := range m.Curve {
			cv.T = append(cv.T, p.T)
			cv.Accuracy = append(cv.Accuracy, p.Accuracy)
		}
		d.AccuracyVsT = append(d.AccuracyVsT, cv)
		for l, name := range m.Layers {
			d.Layers = append(d.Layers, report.LayerRow{Model: m.Name, Layer: name, SpikeRate: m.SpikeRates[l]})
		}
	}
	if len(points) > 1 {
		for k := 1; k <= maxPerClass; k++ {
			if pt := points[k]; pt != nil {
				d.AccuracyVsSamples = append(d.AccuracyVsSamples, *pt)
			}
		}
	}
	return nil
}

// addEnergy fills Table 5 and joins every model's per-layer energies to
// its spike-rate rows by layer name, each row's values the same layer's:
// the rate that reaches the layer (which its energy counts) and its energy.
// The output layer, which does not spike, gets a row of its own.
func addEnergy(d *report.Data, models []EnergyModel) {
	for _, m := range models {
		r := m.Report
		var macs, acs float64
		for _, l := range r.Layers {
			macs += float64(l.MACs)
			acs += l.ACsWindow
		}
		d.Energy = append(d.Energy, report.EnergyRow{Model: m.Name, Timesteps: r.Timesteps, ANNMACs: macs, SNNACs: acs,
			ANNJoules: r.ANNpJ * 1e-12, SNNJoules: r.SNNWinPJ * 1e-12, Ratio: r.RatioWin})
		if !slices.ContainsFunc(d.Layers, func(row report.LayerRow) bool { return row.Model == m.Name }) {
			continue // no spike rates of this model (a sweep's): Table 5 only
		}
		for k, l := range r.Layers {
			i := slices.IndexFunc(d.Layers, func(row report.LayerRow) bool { return row.Model == m.Name && row.Layer == l.Name })
			if i < 0 && k == len(r.Layers)-1 {
				d.Layers = append(d.Layers, report.LayerRow{Model: m.Name, Layer: l.Name, Output: true})
				i = len(d.Layers) - 1
			}
			if i >= 0 {
				row := &d.Layers[i]
				row.InputRate, row.Analog, row.ANNJoules, row.SNNJoules = l.InputRate, l.Analog, l.ANNpJ*1e-12, l.SNNWinPJ*1e-12
			}
		}
	}
}

// conversion returns the report's record of the convert stage's result:
// the settings it used, its thresholds and a selection's candidates.
func conversion(r *stage.ConvertResult) *report.Conversion {
	c := &report.Conversion{Recipe: string(r.Recipe), Settings: usedSettings(r), Timesteps: r.Timesteps,
		CalibrationImages: r.CalibrationImages, Layers: r.Layers}
	for _, t := range r.Thresholds {
		c.Thresholds = append(c.Thresholds, float64(t))
	}
	if s := r.Selection; s != nil {
		c.HeldOut, c.HalfTimesteps, c.Rule = s.HeldOutImages, s.HalfTimesteps, s.Rule
		for i, k := range s.Candidates {
			c.Candidates = append(c.Candidates, report.ConversionCandidate{Settings: k.Candidate.String(), Agreement: k.Agreement,
				AgreementHalf: k.AgreementHalf, Error: k.Error, Chosen: i == s.Chosen})
		}
	}
	return c
}

// usedSettings returns the settings a conversion used, in words: a
// selection's chosen candidate as its record names it (with its threshold
// source, which the result's fields lack), else the result's fields; and
// signed neurons where it made them.
func usedSettings(r *stage.ConvertResult) string {
	s := convert.Candidate{Percentile: r.Percentile, InitMembrane: r.InitMembrane, Encoder: r.Encoder}.String()
	if sel := r.Selection; sel != nil && sel.Chosen >= 0 && sel.Chosen < len(sel.Candidates) {
		s = sel.Candidates[sel.Chosen].Candidate.String()
	}
	if r.Signed {
		s += ", signed neurons"
	}
	if r.Burst > 1 {
		s += fmt.Sprintf(", burst spikes (up to %d per step)", r.Burst)
	}
	return s
}

// compared returns the report's row of a compare entry's conversion: the
// settings used (usedSettings) and the potential correction's outcome.
func compared(name string, r *stage.ConvertResult) report.ComparedConversion {
	c := report.ComparedConversion{Model: name, Recipe: string(r.Recipe), Timesteps: r.Timesteps, Settings: usedSettings(r)}
	if k := r.Correction; k != nil {
		verdict := "not kept"
		if k.Kept {
			verdict = "kept"
		}
		c.Correction = fmt.Sprintf("%s, %s (held-out agreement %.1f → %.1f %%)", k.Mode, verdict, 100*k.AgreementBefore, 100*k.AgreementAfter)
	}
	return c
}

// quantised words a QCFS fine-tuning for the report: levels, epochs and
// which was kept, with the held-out agreement.
func quantised(q *stage.QuantiseResult) string {
	if len(q.History) == 0 {
		return fmt.Sprintf("L = %d, clips only, no distillation (held-out agreement with the ANN %.1f %%)", q.Levels, 100*q.Agreement)
	}
	after, kept := q.Agreement, "the weights before kept"
	if q.Kept > 0 && q.Kept <= len(q.History) {
		after, kept = q.History[q.Kept-1].Agreement, fmt.Sprintf("epoch %d kept", q.Kept)
	}
	epochs := fmt.Sprintf("%d epochs", len(q.History))
	if len(q.History) == 1 {
		epochs = "1 epoch"
	}
	return fmt.Sprintf("L = %d, %s on %d images, %s (held-out agreement %.1f → %.1f %%)", q.Levels, epochs, q.Images, kept,
		100*q.Agreement, 100*after)
}

// addLeakage fills Table 4, its note, the attack grids of the audit in
// dir, the worst cases and the paired differences from the audit's result.
func addLeakage(d *report.Data, au *AuditResult, dir string) {
	for i := range au.Evaluators {
		d.LeakageEvaluators = append(d.LeakageEvaluators, au.Evaluators[i].Name)
	}
	for _, r := range au.Rows {
		row := report.LeakageRow{Set: r.Label(), Model: r.Model, Self: r.Self, Top1: r.Top1, Top3: r.Top3,
			Confidence: r.Confidence, FD: r.FD, Images: r.Score.Images, Top1CI: reportInterval(r.Top1CI.Lo, r.Top1CI.Hi)}
		if r.FDCI != nil {
			row.FDCI = &report.Interval{Lo: r.FDCI.Lo, Hi: r.FDCI.Hi}
		}
		for e, s := range r.More {
			name := fmt.Sprintf("evaluator %d", e+2)
			if e+1 < len(d.LeakageEvaluators) {
				name = d.LeakageEvaluators[e+1]
			}
			row.More = append(row.More, report.EvaluatorTop1{Evaluator: name, Top1: s.Top1, CI: report.Interval{Lo: s.Top1CI.Lo, Hi: s.Top1CI.Hi}})
		}
		d.Leakage = append(d.Leakage, row)
		if g, ok := au.Grids[r.Model+"/"+r.Set]; ok && r.Model != "" {
			d.AttackGrids = append(d.AttackGrids, report.Grid{Model: r.Model, Attack: r.Label(), Path: filepath.Join(dir, g)})
		}
	}
	d.LeakageNote = fmt.Sprintf("Chance: top-1 %.1f %%, top-3 %.1f %%. FD (evaluator features) is measured against %d real test images "+
		"(lower is closer to real images); the evaluator scores %.1f %% on them. The attacks read the models' weights only.",
		100*au.Chance, 100*min(1, 3*au.Chance), au.Reference, 100*au.EvaluatorAccuracy)
	for _, w := range au.WorstCase {
		d.WorstCase = append(d.WorstCase, report.WorstCase{Model: w.Model, Attack: attackLabel(w.Attack), Evaluator: w.Evaluator,
			Top1: w.Top1, CI: report.Interval{Lo: w.Top1CI.Lo, Hi: w.Top1CI.Hi}})
	}
	for _, p := range au.Pairs {
		d.Pairs = append(d.Pairs, report.PairedDifference{Attack: attackLabel(p.Attack), Model: p.Model, Against: p.Against,
			Evaluator: p.Evaluator, Diff: p.Diff, CI: report.Interval{Lo: p.CI.Lo, Hi: p.CI.Hi}})
	}
}

// reportInterval returns the interval [lo, hi] for the report; nil for
// [0, 0], which a 95 % interval of a hit rate never is: a record made
// before the audit had intervals.
func reportInterval(lo, hi float64) *report.Interval {
	if lo == 0 && hi == 0 {
		return nil
	}
	return &report.Interval{Lo: lo, Hi: hi}
}

// attackLabel is an attack's name as Table 4 prints it ("Attack 2 (…)").
func attackLabel(name string) string { return (&audit.Row{Set: name}).Label() }
