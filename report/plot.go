package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Plot geometry: the plot with its title and axes fills plotWidth ×
// plotHeight at plotDPI; a legend, when there is one, widens the image to
// its right.
const (
	plotWidth  = 6 * vg.Inch
	plotHeight = 4 * vg.Inch
	plotDPI    = 96
	margin     = vg.Length(8)
	legendGap  = vg.Length(10)
)

// series is one line of a line plot.
type series struct {
	Name string
	X, Y []float64
	// Lo and Hi, when not nil, bound each point's interval (Lo[i] ≤ Y[i] ≤
	// Hi[i]), drawn as a vertical error bar.
	Lo, Hi []float64
}

// linePlot draws the series as lines with point markers, a grid, axis
// labels and a legend right of the plot, and returns the PNG. A series
// with Lo and Hi gets vertical error bars in its colour; a series named ""
// gets no legend entry. With logX the x axis is logarithmic (all x must
// then be positive). When the series have at most maxValueTicks distinct x
// values, the x ticks are those values.
func linePlot(title, xLabel, yLabel string, ss []series, logX bool) ([]byte, error) {
	p := newPlot(title, xLabel, yLabel)
	leg := plot.NewLegend()
	leg.Top, leg.Left = true, true
	leg.TextStyle.Font = sans(11)
	leg.Padding = vg.Points(4)
	leg.ThumbnailWidth = vg.Points(24)
	var xs, ys []float64
	for i, s := range ss {
		bars := s.Lo != nil || s.Hi != nil
		if bars && (len(s.Lo) != len(s.X) || len(s.Hi) != len(s.X)) {
			return nil, fmt.Errorf("plot %q: %s: %d points but %d and %d interval bounds", title, s.Name, len(s.X), len(s.Lo), len(s.Hi))
		}
		xy := make(plotter.XYs, len(s.X))
		errs := make(plotter.YErrors, len(s.X))
		for j := range s.X {
			if !finite(s.X[j]) || !finite(s.Y[j]) || (logX && s.X[j] <= 0) {
				return nil, fmt.Errorf("plot %q: %s: point (%g, %g) cannot be drawn", title, s.Name, s.X[j], s.Y[j])
			}
			xy[j] = plotter.XY{X: s.X[j], Y: s.Y[j]}
			if bars {
				if !finite(s.Lo[j]) || !finite(s.Hi[j]) {
					return nil, fmt.Errorf("plot %q: %s: interval [%g, %g] at x = %g cannot be drawn", title, s.Name, s.Lo[j], s.Hi[j], s.X[j])
				}
				errs[j].Low, errs[j].High = math.Max(s.Y[j]-s.Lo[j], 0), math.Max(s.Hi[j]-s.Y[j], 0)
				ys = append(ys, s.Lo[j], s.Hi[j])
			}
		}
		xs = append(xs, s.X...)
		ys = append(ys, s.Y...)
		if bars {
			p.Add(&plotter.YErrorBars{XYs: xy, YErrors: errs, CapWidth: vg.Points(6),
				LineStyle: draw.LineStyle{Color: seriesColor(i), Width: vg.Points(1)}})
		}
		line, points, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, fmt.Errorf("plot %q: %s: %w", title, s.Name, err)
		}
		line.Color = seriesColor(i)
		line.Width = vg.Points(2)
		line.Dashes = seriesDashes(i)
		points.Color = seriesColor(i)
		points.Shape = glyphs[i%len(glyphs)]
		points.Radius = vg.Points(3.5)
		p.Add(line, points)
		if s.Name != "" {
			leg.Add(s.Name, line, points)
		}
	}
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = logTicks{}
	}
	slices.Sort(xs)
	if xs = slices.Compact(xs); len(xs) <= maxValueTicks {
		p.X.Tick.Marker = valueTicks(xs)
	}
	padRange(&p.Y, ys, 0, 100)
	if len(xs) > 0 {
		if lo, hi := xs[0], xs[len(xs)-1]; logX {
			p.X.Min, p.X.Max = lo/1.2, hi*1.2
		} else {
			pad := max(0.04*(hi-lo), 0.5)
			p.X.Min, p.X.Max = lo-pad, hi+pad
		}
	}
	return render(p, &leg)
}

// maxValueTicks is the most distinct x values that linePlot labels one by
// one.
const maxValueTicks = 10

// seriesColors are the series' line colours, in turn: ten categorical
// colours that stay apart in print and for the common colour-vision
// deficiencies (the Tableau 10 palette). Series past the tenth reuse them
// with a dashed line (seriesDashes).
var seriesColors = []color.Color{
	color.RGBA{0x4e, 0x79, 0xa7, 0xff}, // blue
	color.RGBA{0xf2, 0x8e, 0x2b, 0xff}, // orange
	color.RGBA{0xe1, 0x57, 0x59, 0xff}, // red
	color.RGBA{0x76, 0xb7, 0xb2, 0xff}, // teal
	color.RGBA{0x59, 0xa1, 0x4f, 0xff}, // green
	color.RGBA{0xed, 0xc9, 0x48, 0xff}, // yellow
	color.RGBA{0xb0, 0x7a, 0xa1, 0xff}, // purple
	color.RGBA{0xff, 0x9d, 0xa7, 0xff}, // pink
	color.RGBA{0x9c, 0x75, 0x5f, 0xff}, // brown
	color.RGBA{0xba, 0xb0, 0xac, 0xff}, // grey
}

// seriesColor is series i's colour.
func seriesColor(i int) color.Color { return seriesColors[i%len(seriesColors)] }

// seriesDashes is series i's line dashes: solid for the first round of
// colours, then dashed, then dotted, so that no two of the first 30 series
// share colour and line.
func seriesDashes(i int) []vg.Length {
	switch (i / len(seriesColors)) % 3 {
	case 0:
		return nil
	case 1:
		return []vg.Length{vg.Points(6), vg.Points(3)}
	default:
		return []vg.Length{vg.Points(1.5), vg.Points(2)}
	}
}

// glyphs are the filled point markers of the series, in turn.
var glyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}, draw.RingGlyph{}}

// padRange sets a's range to that of vs widened by 8 % of the span on each
// side (at least 1), kept within [lo, hi] when vs lies within it.
func padRange(a *plot.Axis, vs []float64, lo, hi float64) {
	if len(vs) == 0 {
		return
	}
	vmin, vmax := slices.Min(vs), slices.Max(vs)
	pad := max(0.08*(vmax-vmin), 1)
	a.Min, a.Max = vmin-pad, vmax+pad
	if vmin >= lo {
		a.Min = max(a.Min, lo)
	}
	if vmax <= hi {
		a.Max = min(a.Max, hi)
	}
}

// barPlot draws one bar per label, each with its value printed above it
// as text, and returns the PNG.
func barPlot(title, xLabel, yLabel string, labels []string, values []float64, text []string) ([]byte, error) {
	p, _, err := newBarPlot(title, xLabel, yLabel, labels, values, text)
	if err != nil {
		return nil, err
	}
	return render(p, nil)
}

// newBarPlot returns barPlot's plot and its values over the bars. Labels
// and values that would run together side by side are turned upright
// (fitTickLabels).
func newBarPlot(title, xLabel, yLabel string, labels []string, values []float64, text []string) (*plot.Plot, *plotter.Labels, error) {
	p := newPlot(title, xLabel, yLabel)
	for i, v := range values {
		if !finite(v) {
			return nil, nil, fmt.Errorf("plot %q: %s: value %g cannot be drawn", title, labels[i], v)
		}
	}
	n := len(values)
	width := min(vg.Points(48), (plotWidth-vg.Inch)/vg.Length(2*max(n, 1)))
	bars, err := plotter.NewBarChart(plotter.Values(values), width)
	if err != nil {
		return nil, nil, fmt.Errorf("plot %q: %w", title, err)
	}
	bars.Color = seriesColor(0)
	bars.LineStyle.Color = color.Black
	bars.LineStyle.Width = vg.Points(0.5)
	p.Add(bars)
	xy := make(plotter.XYs, n)
	for i, v := range values {
		xy[i] = plotter.XY{X: float64(i), Y: v}
	}
	lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xy, Labels: text})
	if err != nil {
		return nil, nil, fmt.Errorf("plot %q: %w", title, err)
	}
	for i := range lab.TextStyle {
		lab.TextStyle[i].Font = sans(9)
		lab.TextStyle[i].XAlign = draw.XCenter
	}
	lab.Offset = vg.Point{Y: vg.Points(3)}
	p.Add(lab)
	p.NominalX(labels...)
	p.X.Min, p.X.Max = -0.6, float64(n)-0.4
	p.Y.Min = 0
	p.Y.Max = slices.Max(values) * 1.15
	if !(p.Y.Max > 0) {
		p.Y.Max = 1 // all rates zero: an axis from 0 to 1 %
	}
	slot := barSlot(p, n)
	fitTickLabels(&p.X.Tick.Label, labels, slot, draw.XRight)
	for i := range lab.TextStyle {
		fitTickLabels(&lab.TextStyle[i], text, slot, draw.XLeft)
	}
	return p, lab, nil
}

// barSlot returns the width of the data area of p, drawn at the plots'
// size, divided among n bars.
func barSlot(p *plot.Plot, n int) vg.Length {
	c := draw.Crop(draw.New(vgimg.New(plotWidth, plotHeight)), margin, -margin, margin, -margin)
	dc := p.DataCanvas(c)
	return (dc.Max.X - dc.Min.X) / vg.Length(max(n, 1))
}

// fitTickLabels turns the texts of style upright (read bottom to top)
// when the widest of them would not fit in slot, the width each has side
// by side: they then take only their height across the axis and never run
// together. align is where an upright text ends: draw.XRight, below its
// point (tick labels), or draw.XLeft, above it (values over bars).
func fitTickLabels(style *text.Style, texts []string, slot vg.Length, align draw.XAlignment) {
	widest := vg.Length(0)
	for _, t := range texts {
		widest = max(widest, style.Width(t))
	}
	if widest <= slot-labelGap {
		return
	}
	style.Rotation = math.Pi / 2
	style.XAlign, style.YAlign = align, draw.YCenter
}

// labelGap is the least space between two x tick labels.
const labelGap = vg.Length(4)

// sans is the plots' font at the given size in points.
func sans(points float64) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(points)}
}

func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(13)
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.X.Label.TextStyle.Font = sans(11)
	p.Y.Label.TextStyle.Font = sans(11)
	p.X.Tick.Label.Font = sans(10)
	p.Y.Tick.Label.Font = sans(10)
	p.X.Tick.Marker = niceTicks{}
	p.Y.Tick.Marker = niceTicks{}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 200}
	grid.Horizontal.Color = color.Gray{Y: 200}
	grid.Vertical.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
	grid.Horizontal.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
	p.Add(grid)
	return p
}

// render draws p, and leg (if not nil and not empty) to the right of it,
// on a white image and encodes it as PNG.
func render(p *plot.Plot, leg *plot.Legend) ([]byte, error) {
	width := plotWidth
	var legendWidth vg.Length
	if leg != nil {
		r := leg.Rectangle(draw.Canvas{})
		legendWidth = r.Max.X - r.Min.X
		if legendWidth > 0 {
			legendWidth += legendGap
			width += legendWidth
		}
	}
	img := vgimg.NewWith(vgimg.UseWH(width, plotHeight), vgimg.UseDPI(plotDPI),
		vgimg.UseBackgroundColor(color.White))
	c := draw.Crop(draw.New(img), margin, -margin, margin, -margin)
	p.Draw(draw.Crop(c, 0, -legendWidth, 0, 0))
	if legendWidth > 0 {
		// Top-aligned with the data area: below the title.
		top := p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
		leg.Draw(draw.Crop(c, c.Max.X-c.Min.X-legendWidth+legendGap, 0, 0, -top))
	}
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return nil, fmt.Errorf("encode plot %q: %w", p.Title.Text, err)
	}
	return b.Bytes(), nil
}
