package report

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Sweep summarises a swept configuration: settings given as lists, every
// combination of their values a point run separately.
//
// Values are in the unit their name gives: a metric or y label that ends
// in "(%)" is printed with one decimal and " %" ("90.2 %"), any other with
// four significant digits.
type Sweep struct {
	// Axes names the swept settings ("encrypt.per_class"), in order; the
	// seed axes among them are those whose values are averaged over.
	Axes []SweepAxis
	// Metrics names the measured quantities, each a column of Points and a
	// figure's y (e.g. "DC + CET + OD accuracy (%)").
	Metrics []string
	// Points holds one row per point of the sweep.
	Points []SweepPoint
	// Curves are the figures: a metric against one non-seed axis, one line
	// per combination of the other non-seed axes, each point the mean over
	// the seed axes with a 95 % interval.
	Curves []SweepCurve
}

// SweepAxis is one swept setting and its values, in order.
type SweepAxis struct {
	Name string
	// Seed marks an axis of repeated runs, averaged over in the curves.
	Seed   bool
	Values []string
}

// SweepPoint is one point of a sweep: one run.
type SweepPoint struct {
	Index int
	// Values holds the point's value of each axis, in the order of Axes.
	Values []string
	// Metrics holds one value per metric, in the order of Sweep.Metrics;
	// NaN: not measured.
	Metrics []float64
	// Report is the relative link (slashes) to the point's own
	// report.html; "" if none.
	Report string
}

// SweepCurve is one figure of a sweep.
type SweepCurve struct {
	Title, XLabel, YLabel string
	// LogX makes the x axis logarithmic; every x must then be positive.
	LogX  bool
	Lines []SweepLine
}

// SweepLine is one line of a SweepCurve: one combination of the non-seed
// axes other than the x axis, named by it ("" for none: no legend entry).
type SweepLine struct {
	Name   string
	Points []SweepMean
}

// SweepMean is one point of a SweepLine: the mean over N runs at X and its
// 95 % interval [Lo, Hi]; Lo == Hi == Mean when N == 1.
type SweepMean struct {
	X            float64
	Mean, Lo, Hi float64
	N            int
}

// sweepSection shows the sweep: its points and axes in words, a figure and
// a table per curve, then every point with its metrics and a link to its
// report. A curve's point that cannot be drawn is an error naming the
// curve and line; so is a point whose values or metrics do not match the
// axes and metrics.
func sweepSection(sw *Sweep, used names) (*section, error) {
	for _, p := range sw.Points {
		if len(p.Values) != len(sw.Axes) || len(p.Metrics) != len(sw.Metrics) {
			return nil, fmt.Errorf("sweep point %d: %d values for %d axes, %d metrics for %d", p.Index, len(p.Values), len(sw.Axes), len(p.Metrics), len(sw.Metrics))
		}
	}
	s := &section{ID: "sweep", Title: "Sweep"}
	s.text("%s", sweepSummary(sw))
	for _, c := range sw.Curves {
		if err := sweepCurve(s, c, used); err != nil {
			return nil, err
		}
	}
	if len(sw.Points) > 0 {
		link := ""
		if slices.ContainsFunc(sw.Points, func(p SweepPoint) bool { return p.Report != "" }) {
			link = " and a link to its own report"
		}
		s.text("Every point of the sweep, with its metrics (– where not measured)%s.", link)
		s.table(sweepPointsTable(sw))
	}
	return s, nil
}

// sweepSummary says how many points the sweep has, its axes with their
// values, which are averaged over, and what the intervals are.
func sweepSummary(sw *Sweep) string {
	var axes, seeds []string
	for _, a := range sw.Axes {
		axes = append(axes, fmt.Sprintf("%s (%s)", a.Name, strings.Join(a.Values, ", ")))
		if a.Seed {
			seeds = append(seeds, a.Name)
		}
	}
	n := fmt.Sprintf("%d points", len(sw.Points))
	if len(sw.Points) == 1 {
		n = "1 point"
	}
	var b strings.Builder
	if len(axes) > 0 {
		fmt.Fprintf(&b, "%s, each run separately: the combinations of %s.", n, strings.Join(axes, " × "))
	} else {
		fmt.Fprintf(&b, "%s; no setting is swept.", n)
	}
	if len(seeds) > 0 {
		fmt.Fprintf(&b, " Averaged over the seed axes (%s): each point of a figure is the mean of the runs that differ only in them, "+
			"with the Student-t 95 %% interval of the mean as a vertical bar; n is the number of runs measured (no interval when n is 1).", strings.Join(seeds, ", "))
	} else {
		b.WriteString(" No axis is a seed axis: each point of a figure is one run.")
	}
	return b.String()
}

// sweepCurve adds curve c's figure and table to s.
func sweepCurve(s *section, c SweepCurve, used names) error {
	name := c.Title
	if strings.TrimSpace(name) == "" {
		name = c.YLabel + " against " + c.XLabel
	}
	var ss []series
	type row struct {
		line string
		m    SweepMean
	}
	var rows []row
	for _, l := range c.Lines {
		pts := slices.Clone(l.Points)
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
		sr := series{Name: l.Name}
		for _, m := range pts {
			if !finite(m.X) || !finite(m.Mean) || !finite(m.Lo) || !finite(m.Hi) || (c.LogX && m.X <= 0) {
				return fmt.Errorf("sweep curve %q: line %q: mean %g [%g, %g] at x = %g cannot be drawn", name, l.Name, m.Mean, m.Lo, m.Hi, m.X)
			}
			sr.X = append(sr.X, m.X)
			sr.Y = append(sr.Y, m.Mean)
			sr.Lo = append(sr.Lo, m.Lo)
			sr.Hi = append(sr.Hi, m.Hi)
			rows = append(rows, row{l.Name, m})
		}
		if len(pts) > 0 {
			ss = append(ss, sr)
		}
	}
	if len(ss) == 0 {
		s.text("%s: no point was measured.", name)
		return nil
	}
	img, err := linePlot(name, c.XLabel, c.YLabel, ss, c.LogX)
	if err != nil {
		return err
	}
	caption := fmt.Sprintf("%s against %s, one line per combination of the other swept settings; each marker is a mean over the seed axes, its bar the 95 %% interval.", orMissing(c.YLabel), orMissing(c.XLabel))
	if c.LogX {
		caption += " The x axis is logarithmic."
	}
	s.figure(&figure{File: FiguresDir + "/" + used.get("sweep", name), Caption: caption, PNG: img})
	percent := isPercent(c.YLabel)
	t := newTable([]string{"line", orMissing(c.XLabel), "mean", "95 % interval", "n"}, 1, 2, 3, 4)
	for _, r := range rows {
		ci := missing
		if r.m.N > 1 {
			ci = "[" + number(r.m.Lo, percent, false) + ", " + number(r.m.Hi, percent, false) + "]"
		}
		t.add(orMissing(r.line), strconv.FormatFloat(r.m.X, 'g', -1, 64), number(r.m.Mean, percent, true), ci, fmt.Sprint(r.m.N))
	}
	s.table(t)
	return nil
}

// sweepPointsTable lists every point: its index, its value of each axis,
// its metrics and, when a point has one, a link to its report.
func sweepPointsTable(sw *Sweep) *table {
	header := []string{"point"}
	right := []int{0}
	for i, a := range sw.Axes {
		header = append(header, a.Name)
		if numeric(sw.Points, i) {
			right = append(right, len(header)-1)
		}
	}
	for _, m := range sw.Metrics {
		header = append(header, m)
		right = append(right, len(header)-1)
	}
	links := slices.ContainsFunc(sw.Points, func(p SweepPoint) bool { return p.Report != "" })
	if links {
		header = append(header, "report")
	}
	t := newTable(header, right...)
	for _, p := range sw.Points {
		cells := append([]string{fmt.Sprint(p.Index)}, p.Values...)
		for i, v := range p.Metrics {
			cells = append(cells, number(v, isPercent(sw.Metrics[i]), true))
		}
		if !links {
			t.add(cells...)
			continue
		}
		target := make([]string, len(cells)+1)
		if p.Report != "" {
			cells = append(cells, "report")
			target[len(cells)-1] = p.Report
		} else {
			cells = append(cells, missing)
		}
		t.addLinked(cells, target)
	}
	return t
}

// numeric reports whether every point's value of axis i is a number.
func numeric(pts []SweepPoint, i int) bool {
	for _, p := range pts {
		if _, err := strconv.ParseFloat(strings.TrimSpace(p.Values[i]), 64); err != nil {
			return false
		}
	}
	return len(pts) > 0
}

// isPercent reports whether a metric or label names a value in percent:
// it ends in "(%)".
func isPercent(label string) bool { return strings.HasSuffix(strings.TrimSpace(label), "(%)") }

// number prints a metric's value: in percent with one decimal (and " %"
// when unit is set), else with four significant digits; NaN or an
// infinity as "–".
func number(v float64, percent, unit bool) string {
	switch {
	case !finite(v):
		return missing
	case percent && unit:
		return fixed(v, 1) + " %"
	case percent:
		return fixed(v, 1)
	}
	return noNegZero(strconv.FormatFloat(v, 'g', 4, 64))
}
