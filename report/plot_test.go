package report

import (
	"fmt"
	"image/color"
	"math"
	"testing"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// across returns the width a text of style takes along the x axis: its
// width, or its height when it is upright.
func across(style text.Style, s string) vg.Length {
	if math.Abs(style.Rotation-math.Pi/2) < 1e-9 {
		return style.Height(s)
	}
	return style.Width(s)
}

// TestBarLabelsFit: the x tick labels of a bar plot (layer names) and the
// values over its bars never run together: each takes less than its bar's
// share of the data area, for a few layers and for a VGG16's sixteen.
func TestBarLabelsFit(t *testing.T) {
	for _, n := range []int{1, 3, 5, 16} {
		var labels, texts []string
		var values []float64
		for i := range n {
			labels = append(labels, fmt.Sprintf("features.%d.weight", 3*i))
			values = append(values, float64(i%4+1))
			texts = append(texts, rate(float64(i%4+1)/100+0.0012))
		}
		labels[n-1] = "classifier.6.weight"
		p, lab, err := newBarPlot("Spike rate per layer — DC + CET + OD", "layer", "spike rate (%)", labels, values, texts)
		if err != nil {
			t.Fatal(err)
		}
		slot := barSlot(p, n)
		for _, l := range labels {
			if w := across(p.X.Tick.Label, l); w >= slot {
				t.Errorf("%d bars: tick label %q takes %.1f pt of a %.1f pt slot", n, l, w, slot)
			}
		}
		for i, s := range lab.Labels {
			if w := across(lab.TextStyle[i], s); w >= slot {
				t.Errorf("%d bars: value %q takes %.1f pt of a %.1f pt slot", n, s, w, slot)
			}
		}
	}
}

// TestSeriesStylesDistinct: no two of the first 30 series share colour and
// line dashes, and the first ten have ten different colours.
func TestSeriesStylesDistinct(t *testing.T) {
	seen := map[string]int{}
	colours := map[color.Color]bool{}
	for i := range 30 {
		r, g, b, a := seriesColor(i).RGBA()
		key := fmt.Sprint(r, g, b, a, seriesDashes(i))
		if j, ok := seen[key]; ok {
			t.Fatalf("series %d and %d share colour and dashes (%s)", j, i, key)
		}
		seen[key] = i
		if i < 10 {
			colours[seriesColor(i)] = true
		}
	}
	if len(colours) != 10 {
		t.Errorf("%d colours among the first ten series; want 10", len(colours))
	}
}
