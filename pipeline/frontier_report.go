package pipeline

import (
	"github.com/privatesnn/privatesnn/audit"
	"github.com/privatesnn/privatesnn/report"
)

// addFrontier fills the report's privacy–accuracy frontier from the
// evaluated models and the frontier audit's worst cases: DC and DC + CET
// as references, DC + CET + OD as every line's start, and one line per
// defence of c's frontier. A model without both an accuracy and a worst
// case is left out.
func addFrontier(d *report.Data, c Config, models []Evaluated, fa *AuditResult) {
	worst := map[string]audit.Worst{}
	for _, w := range fa.WorstCase {
		worst[w.Model] = w
	}
	accuracy := map[string]float64{}
	for _, m := range models {
		accuracy[m.Name] = m.Accuracy
	}
	point := func(name string, strength float64) (report.FrontierPoint, bool) {
		w, ok := worst[name]
		a, known := accuracy[name]
		if !ok || !known {
			return report.FrontierPoint{}, false
		}
		return report.FrontierPoint{Model: name, Strength: strength, Accuracy: a, Top1: w.Top1,
			CI: report.Interval{Lo: w.Top1CI.Lo, Hi: w.Top1CI.Hi}, Attack: attackLabel(w.Attack), Evaluator: w.Evaluator}, true
	}
	f := &report.Frontier{Chance: fa.Chance}
	for _, m := range models {
		if m.Sweep {
			continue
		}
		p, ok := point(m.Name, 0)
		switch {
		case !ok:
		case m.Role == RoleCETOD:
			f.Base = &p
		case m.Role == RoleDC || m.Role == RoleCET:
			f.References = append(f.References, p)
		}
	}
	points := frontierPoints(c)
	for i := range frontierDefenses {
		line := report.FrontierLine{Defense: frontierDefenses[i].line}
		for _, fp := range points {
			if fp.defense == &frontierDefenses[i] {
				if p, ok := point(fp.target.name, fp.strength); ok {
					line.Points = append(line.Points, p)
				}
			}
		}
		if len(line.Points) > 0 {
			f.Lines = append(f.Lines, line)
		}
	}
	d.Frontier = f
}
