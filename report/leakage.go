package report

import (
	"fmt"
	"slices"
	"strings"
)

// leakageSection shows Table 4, its note, the worst case of every model
// and the paired differences; nil when d has none of them.
func leakageSection(d *Data) *section {
	if len(d.Leakage) == 0 && len(d.WorstCase) == 0 && len(d.Pairs) == 0 {
		return nil
	}
	s := &section{ID: "table4", Title: "Table 4 — class leakage"}
	if len(d.Leakage) > 0 {
		evs := leakageEvaluators(d)
		s.table(leakageTable(d.Leakage, evs, len(d.LeakageEvaluators) > 0 || len(evs) > 1))
		if len(evs) > 1 {
			s.text("Top-1 is shown for every evaluator, with its 95 %% interval; top-3, confidence and FD are %s's.", evs[0])
		}
	}
	if strings.TrimSpace(d.LeakageNote) != "" {
		s.text("%s", d.LeakageNote)
	}
	if len(d.WorstCase) > 0 {
		s.text("Worst case: each model's highest evaluator top-1 over every attack and evaluator, with its 95 %% interval.")
		t := newTable([]string{"model", "worst-case top-1 [95 % CI]", "attack", "evaluator"}, 1)
		for _, w := range d.WorstCase {
			t.add(w.Model, pctCI(w.Top1, &w.CI), w.Attack, orMissing(w.Evaluator))
		}
		s.table(t)
	}
	if len(d.Pairs) > 0 {
		s.text("Paired differences of evaluator top-1 between models attacked from the same starting images and random draws " +
			"(first model minus second, in percentage points, with the paired 95 %% interval).")
		t := newTable([]string{"attack", "models", "evaluator", "difference [95 % CI]"}, 3)
		for _, p := range d.Pairs {
			t.add(p.Attack, p.Model+" − "+p.Against, orMissing(p.Evaluator), points(100*p.Diff)+" "+pointsCI(p.CI))
		}
		s.table(t)
	}
	return s
}

// leakageEvaluators returns the names of Table 4's top-1 columns:
// d.LeakageEvaluators, or "evaluator" followed by the evaluators of the
// rows' More in order of first appearance.
func leakageEvaluators(d *Data) []string {
	if len(d.LeakageEvaluators) > 0 {
		return d.LeakageEvaluators
	}
	evs := []string{"evaluator"}
	for _, r := range d.Leakage {
		for _, m := range r.More {
			if !slices.Contains(evs, m.Evaluator) {
				evs = append(evs, m.Evaluator)
			}
		}
	}
	return evs
}

// leakageTable returns Table 4 with one top-1 column per evaluator of evs;
// named says whether the columns name their evaluators.
func leakageTable(rows []LeakageRow, evs []string, named bool) *table {
	header := []string{"images", "model", "count", "attacked model's hit rate"}
	for i, e := range evs {
		h := "evaluator top-1"
		if named {
			h = "top-1, " + e
		}
		if i > 0 || slices.ContainsFunc(rows, func(r LeakageRow) bool { return r.Top1CI != nil }) {
			h += " [95 % CI]"
		}
		header = append(header, h)
	}
	fd := "FD (evaluator features)"
	if slices.ContainsFunc(rows, func(r LeakageRow) bool { return r.FDCI != nil }) {
		fd += " [95 % CI]"
	}
	header = append(header, "top-3", "confidence", fd)
	right := []int{2, 3}
	for i := 4; i < len(header); i++ {
		right = append(right, i)
	}
	t := newTable(header, right...)
	for _, r := range rows {
		self := missing
		if r.Self != nil {
			self = pct(*r.Self)
		}
		cells := []string{r.Set, orMissing(r.Model), fmt.Sprint(r.Images), self, pctCI(r.Top1, r.Top1CI)}
		for _, e := range evs[1:] {
			cell := missing
			if i := slices.IndexFunc(r.More, func(m EvaluatorTop1) bool { return m.Evaluator == e }); i >= 0 {
				cell = pctCI(r.More[i].Top1, &r.More[i].CI)
			}
			cells = append(cells, cell)
		}
		fdCell := fixed(r.FD, 1)
		if r.FDCI != nil {
			fdCell += fmt.Sprintf(" [%s, %s]", fixed(r.FDCI.Lo, 1), fixed(r.FDCI.Hi, 1))
		}
		t.add(append(cells, pct(r.Top3), fixed(r.Confidence, 2), fdCell)...)
	}
	return t
}

// pctCI prints a rate and, when ci is not nil, its interval in percent:
// "42.0 % [35.1, 49.3]".
func pctCI(v float64, ci *Interval) string {
	if ci == nil {
		return pct(v)
	}
	return fmt.Sprintf("%s [%s, %s]", pct(v), fixed(100*ci.Lo, 1), fixed(100*ci.Hi, 1))
}

// pointsCI prints an interval of differences of rates (fractions) in
// percentage points with their signs: "[−1.0, +7.5]".
func pointsCI(ci Interval) string {
	return "[" + signed(100*ci.Lo) + ", " + signed(100*ci.Hi) + "]"
}

// signed prints v with one decimal and its sign ("+1.5", "−0.3"); values
// that round to zero print as "0.0".
func signed(v float64) string {
	return strings.TrimSuffix(points(v), " pp")
}
