package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// frontierSection shows the privacy–accuracy frontier as a figure and a
// table; nil when f is nil or has no point. A point that is not finite is
// an error naming its model.
func frontierSection(f *Frontier, used names) (*section, error) {
	if f == nil {
		return nil, nil
	}
	lines := sortedLines(f.Lines)
	all := frontierPoints(f, lines)
	if len(all) == 0 {
		return nil, nil
	}
	for _, p := range all {
		if err := checkFrontierPoint(p); err != nil {
			return nil, err
		}
	}
	if !finite(f.Chance) {
		return nil, fmt.Errorf("frontier: chance level %g cannot be drawn", f.Chance)
	}
	img, err := frontierPlot(f, lines)
	if err != nil {
		return nil, err
	}
	s := &section{ID: "frontier", Title: "Privacy–accuracy frontier"}
	caption := "Test accuracy against the worst-case evaluator top-1 hit rate (the highest over every attack and evaluator, " +
		"with its 95 % interval as a horizontal bar); one line per defence in order of strength"
	if f.Base != nil {
		caption += ", starting from " + f.Base.Model + " (strength 0)"
	}
	if f.Chance > 0 {
		caption += "; the dashed line is chance"
	}
	s.figure(&figure{File: FiguresDir + "/" + used.get("frontier"), Caption: caption + ".", PNG: img})
	s.table(frontierTable(f, lines))
	s.text("Lower worst-case top-1 leaks less; the defences are trained as CET + OD with the encryption settings plus the one defence at the strength given.")
	return s, nil
}

// sortedLines returns copies of the lines, each with its points in order
// of the strength's magnitude.
func sortedLines(lines []FrontierLine) []FrontierLine {
	out := make([]FrontierLine, len(lines))
	for i, l := range lines {
		out[i] = FrontierLine{Defense: l.Defense, Points: slices.Clone(l.Points)}
		sort.SliceStable(out[i].Points, func(a, b int) bool {
			return math.Abs(out[i].Points[a].Strength) < math.Abs(out[i].Points[b].Strength)
		})
	}
	return out
}

// frontierPoints lists every point of f once: the references, the base,
// then the lines' points.
func frontierPoints(f *Frontier, lines []FrontierLine) []FrontierPoint {
	all := slices.Clone(f.References)
	if f.Base != nil {
		all = append(all, *f.Base)
	}
	for _, l := range lines {
		all = append(all, l.Points...)
	}
	return all
}

// checkFrontierPoint reports a point with a value that cannot be drawn.
func checkFrontierPoint(p FrontierPoint) error {
	for _, v := range []float64{p.Strength, p.Accuracy, p.Top1, p.CI.Lo, p.CI.Hi} {
		if !finite(v) {
			return fmt.Errorf("frontier point %q: accuracy %g, worst-case top-1 %g [%g, %g] at strength %g cannot be drawn",
				p.Model, p.Accuracy, p.Top1, p.CI.Lo, p.CI.Hi, p.Strength)
		}
	}
	return nil
}

// frontierTable lists the references, the base and every line's points.
func frontierTable(f *Frontier, lines []FrontierLine) *table {
	t := newTable([]string{"model", "defence", "strength", "test accuracy", "worst-case top-1 [95 % CI]", "attack", "evaluator"}, 2, 3, 4)
	row := func(p FrontierPoint, defense, strength string) {
		t.add(p.Model, defense, strength, pct(p.Accuracy), pctCI(p.Top1, &p.CI), orMissing(p.Attack), orMissing(p.Evaluator))
	}
	for _, p := range f.References {
		row(p, "none", missing)
	}
	if f.Base != nil {
		row(*f.Base, "none", "0")
	}
	for _, l := range lines {
		for _, p := range l.Points {
			row(p, l.Defense, fmt.Sprintf("%g", p.Strength))
		}
	}
	return t
}

// frontierPlot draws one line per defence (from the base), the references
// as labelled markers, every point's interval as a horizontal bar and
// chance as a vertical dashed line, and returns the PNG.
func frontierPlot(f *Frontier, lines []FrontierLine) ([]byte, error) {
	const title = "Privacy–accuracy frontier"
	p := newPlot(title, "worst-case evaluator top-1 (%)", "test accuracy (%)")
	leg := plot.NewLegend()
	leg.Top, leg.Left = true, true
	leg.TextStyle.Font = sans(11)
	leg.Padding = vg.Points(4)
	leg.ThumbnailWidth = vg.Points(24)
	var xs, ys []float64
	for i, l := range lines {
		pts := l.Points
		if f.Base != nil {
			pts = append([]FrontierPoint{*f.Base}, pts...)
		}
		if len(pts) == 0 {
			continue
		}
		xy, bars := frontierXY(pts, seriesColor(i))
		line, marks, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, fmt.Errorf("plot %q: %s: %w", title, l.Defense, err)
		}
		line.Color, line.Width, line.Dashes = seriesColor(i), vg.Points(2), seriesDashes(i)
		marks.Color, marks.Shape, marks.Radius = seriesColor(i), glyphs[i%len(glyphs)], vg.Points(3.5)
		p.Add(bars, line, marks)
		leg.Add(l.Defense, line, marks)
		xs, ys = appendRanges(xs, ys, pts)
	}
	marked := slices.Clone(f.References)
	if f.Base != nil {
		marked = append(marked, *f.Base)
	}
	for j, r := range marked {
		if err := addMarker(p, &leg, r, j); err != nil {
			return nil, fmt.Errorf("plot %q: %w", title, err)
		}
		xs, ys = appendRanges(xs, ys, []FrontierPoint{r})
	}
	if f.Chance > 0 {
		xs = append(xs, 100*f.Chance)
	}
	padRange(&p.X, xs, 0, 100)
	padRange(&p.Y, ys, 0, 100)
	if f.Chance > 0 {
		if err := addChance(p, &leg, 100*f.Chance); err != nil {
			return nil, fmt.Errorf("plot %q: %w", title, err)
		}
	}
	return render(p, &leg)
}

// frontierXY returns the points in percent and their intervals as
// horizontal error bars of colour c.
func frontierXY(pts []FrontierPoint, c color.Color) (plotter.XYs, *plotter.XErrorBars) {
	xy := make(plotter.XYs, len(pts))
	errs := make(plotter.XErrors, len(pts))
	for i, pt := range pts {
		xy[i] = plotter.XY{X: 100 * pt.Top1, Y: 100 * pt.Accuracy}
		errs[i].Low, errs[i].High = 100*math.Max(pt.Top1-pt.CI.Lo, 0), 100*math.Max(pt.CI.Hi-pt.Top1, 0)
	}
	bars := &plotter.XErrorBars{XYs: xy, XErrors: errs, CapWidth: vg.Points(6),
		LineStyle: draw.LineStyle{Color: c, Width: vg.Points(1)}}
	return xy, bars
}

// appendRanges appends the points' x extent (their intervals) and y
// values, in percent.
func appendRanges(xs, ys []float64, pts []FrontierPoint) ([]float64, []float64) {
	for _, pt := range pts {
		xs = append(xs, 100*pt.CI.Lo, 100*pt.CI.Hi, 100*pt.Top1)
		ys = append(ys, 100*pt.Accuracy)
	}
	return xs, ys
}

// markerGlyphs are the shapes of the labelled markers, in turn.
var markerGlyphs = []draw.GlyphDrawer{draw.RingGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{}}

// addMarker draws model r as the j-th labelled marker, in dark grey with
// its interval, and adds it to the legend.
func addMarker(p *plot.Plot, leg *plot.Legend, r FrontierPoint, j int) error {
	grey := color.Gray{Y: 40}
	xy, bars := frontierXY([]FrontierPoint{r}, grey)
	sc, err := plotter.NewScatter(xy)
	if err != nil {
		return fmt.Errorf("%s: %w", r.Model, err)
	}
	sc.Color, sc.Shape, sc.Radius = grey, markerGlyphs[j%len(markerGlyphs)], vg.Points(5)
	lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xy, Labels: []string{r.Model}})
	if err != nil {
		return fmt.Errorf("%s: %w", r.Model, err)
	}
	for i := range lab.TextStyle {
		lab.TextStyle[i].Font = sans(9)
	}
	lab.Offset = vg.Point{X: vg.Points(7), Y: vg.Points(4)}
	p.Add(bars, sc, lab)
	leg.Add(r.Model, sc)
	return nil
}

// addChance draws a vertical dashed line at x across p's y range.
func addChance(p *plot.Plot, leg *plot.Legend, x float64) error {
	l, err := plotter.NewLine(plotter.XYs{{X: x, Y: p.Y.Min}, {X: x, Y: p.Y.Max}})
	if err != nil {
		return fmt.Errorf("chance: %w", err)
	}
	l.Color, l.Width = color.Gray{Y: 90}, vg.Points(1.5)
	l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	p.Add(l)
	leg.Add("chance", l)
	return nil
}
