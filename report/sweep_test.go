package report

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// sampleSweep is a sweep of encrypt.per_class (10, 20, 50) and a seed axis
// (1, 2): six points, two metrics (one in percent), one not measured, one
// point without a report and one whose link needs escaping. Its two curves
// share a title.
func sampleSweep() *Sweep {
	sw := &Sweep{
		Axes: []SweepAxis{
			{Name: "encrypt.per_class", Values: []string{"10", "20", "50"}},
			{Name: "seed", Seed: true, Values: []string{"1", "2"}},
		},
		Metrics: []string{"DC + CET + OD accuracy (%)", "SNN energy (µJ)"},
		Curves: []SweepCurve{
			{Title: "Accuracy against images per class", XLabel: "encrypt.per_class", YLabel: "DC + CET + OD accuracy (%)", LogX: true,
				Lines: []SweepLine{{Name: "", Points: []SweepMean{
					{X: 50, Mean: 90.25, Lo: 89.5, Hi: 91, N: 2},
					{X: 10, Mean: 88.5, Lo: 87.25, Hi: 89.75, N: 2},
					{X: 20, Mean: 89, Lo: 89, Hi: 89, N: 1},
				}}}},
			{Title: "Accuracy against images per class", XLabel: "encrypt.per_class", YLabel: "SNN energy (µJ)",
				Lines: []SweepLine{{Name: "T = 16", Points: []SweepMean{{X: 10, Mean: 12.5, Lo: 11, Hi: 14, N: 2}, {X: 20, Mean: 13, Lo: 12, Hi: 14, N: 2}}}}},
		},
	}
	for i, pc := range []string{"10", "20", "50"} {
		for j, seed := range []string{"1", "2"} {
			k := 2*i + j
			sw.Points = append(sw.Points, SweepPoint{Index: k, Values: []string{pc, seed},
				Metrics: []float64{88 + float64(k)/2, 12 + float64(k)/4}, Report: "points/00" + string(rune('0'+k)) + "/report.html"})
		}
	}
	sw.Points[3].Metrics[0] = math.NaN()
	sw.Points[4].Report = ""
	sw.Points[5].Report = "points/5 (b)/report.html"
	return sw
}

// TestSweep: a sweep's summary is its Sweep section then the Run section,
// with nothing listed as not run; the points table has every point, its
// metrics and links, each curve a figure (a PNG that is not blank) and a
// table of means with intervals.
func TestSweep(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, &Data{Title: "Sweep demo", Meta: sampleMeta(), Sweep: sampleSweep()}); err != nil {
		t.Fatal(err)
	}
	figs := figureFiles(t, dir)
	if want := []string{"sweep-accuracy-against-images-per-class-2.png", "sweep-accuracy-against-images-per-class.png"}; !slices.Equal(figs, want) {
		t.Fatalf("figures: got %v, want %v", figs, want)
	}
	for _, f := range figs {
		b, err := os.ReadFile(filepath.Join(dir, FiguresDir, f))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if colours, nonWhite := blankness(img); colours <= 2 || nonWhite <= 0.01 {
			t.Errorf("%s looks blank: %d colours, %.2f %% not white", f, colours, 100*nonWhite)
		}
		if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w < 500 || h < 350 {
			t.Errorf("%s is %d×%d, too small to read", f, w, h)
		}
	}

	md := read(t, filepath.Join(dir, MarkdownFile))
	if got := regexp.MustCompile(`(?m)^## .*$`).FindAllString(md, -1); !slices.Equal(got, []string{"## Sweep", "## Run"}) {
		t.Errorf("report.md sections: %q, want the sweep's then the run's", got)
	}
	for _, s := range []string{
		"6 points, each run separately: the combinations of encrypt.per\\_class (10, 20, 50) × seed (1, 2).",
		"Averaged over the seed axes (seed)",
		"Student-t 95 % interval",
		"](figures/sweep-accuracy-against-images-per-class.png)",
		"](figures/sweep-accuracy-against-images-per-class-2.png)",
		"The x axis is logarithmic.",
		// The first curve's table, in order of x; n = 1 has no interval.
		"| line | encrypt.per\\_class | mean | 95 % interval | n |\n|---|---:|---:|---:|---:|\n" +
			brackets.Replace("| – | 10 | 88.5 % | [87.2, 89.8] | 2 |\n| – | 20 | 89.0 % | – | 1 |\n| – | 50 | 90.2 % | [89.5, 91.0] | 2 |\n"),
		brackets.Replace("| T = 16 | 10 | 12.5 | [11, 14] | 2 |"),
		"| point | encrypt.per\\_class | seed | DC + CET + OD accuracy (%) | SNN energy (µJ) | report |\n|---:|---:|---:|---:|---:|---|\n",
		"| 0 | 10 | 1 | 88.0 % | 12 | [report](points/000/report.html) |",
		"| 3 | 20 | 2 | – | 12.75 | [report](points/003/report.html) |",
		"| 4 | 50 | 1 | 90.0 % | 13 | – |",
		"| 5 | 50 | 2 | 90.5 % | 13.25 | [report](points/5%20%28b%29/report.html) |",
		"and a link to its own report.",
		"privatesnn pipeline --config run.toml --out runs/demo",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("report.md lacks %q", s)
		}
	}
	for _, s := range []string{"Not in this run", "No accuracy evaluation", "in this run"} {
		if strings.Contains(md, s) {
			t.Errorf("report.md of a sweep has %q", s)
		}
	}

	h := read(t, filepath.Join(dir, HTMLFile))
	for _, s := range []string{
		`<td><a href="points/000/report.html">report</a></td>`,
		`<td><a href="points/5%20%28b%29/report.html">report</a></td>`,
		`<td class="num">[87.2, 89.8]</td>`,
		`<li><a href="#sweep">Sweep</a></li>`,
	} {
		if !strings.Contains(h, s) {
			t.Errorf("report.html lacks %q", s)
		}
	}
	if strings.Index(h, `<section id="sweep">`) > strings.Index(h, `<section id="run">`) {
		t.Error("report.html: the sweep section does not come first")
	}
	if strings.Contains(h, "not-run") || strings.Contains(h, "ZgotmplZ") {
		t.Error("report.html lists parts as not run or has a rejected URL")
	}
	if got := strings.Count(h, "data:image/png;base64,"); got != len(figs) {
		t.Errorf("report.html has %d data URIs, want %d", got, len(figs))
	}
	for _, tag := range []string{"section", "table", "tr", "td", "a", "figure"} {
		open := len(regexp.MustCompile("<"+tag+"[ >]").FindAllString(h, -1))
		if c := strings.Count(h, "</"+tag+">"); open != c {
			t.Errorf("report.html: %d <%s> but %d </%s>", open, tag, c, tag)
		}
	}
}

// TestSweepNotFinite: a curve's point that cannot be drawn is an error
// naming its curve and line, and nothing is written; so is a point whose
// values do not match the axes.
func TestSweepNotFinite(t *testing.T) {
	for name, spoil := range map[string]func(sw *Sweep){
		"mean":  func(sw *Sweep) { sw.Curves[1].Lines[0].Points[1].Mean = math.NaN() },
		"lo":    func(sw *Sweep) { sw.Curves[1].Lines[0].Points[1].Lo = math.Inf(-1) },
		"hi":    func(sw *Sweep) { sw.Curves[1].Lines[0].Points[0].Hi = math.NaN() },
		"x":     func(sw *Sweep) { sw.Curves[1].Lines[0].Points[0].X = math.Inf(1) },
		"log x": func(sw *Sweep) { sw.Curves[1].LogX = true; sw.Curves[1].Lines[0].Points[0].X = 0 },
	} {
		sw := sampleSweep()
		spoil(sw)
		dir := t.TempDir()
		err := Write(dir, &Data{Meta: sampleMeta(), Sweep: sw})
		if err == nil || !strings.Contains(err.Error(), `line "T = 16"`) || !strings.Contains(err.Error(), `"Accuracy against images per class"`) {
			t.Errorf("%s: got %v, want an error naming the curve and line", name, err)
		}
		if _, err := os.Stat(filepath.Join(dir, MarkdownFile)); !os.IsNotExist(err) {
			t.Errorf("%s: report.md written despite the error (stat: %v)", name, err)
		}
	}
	sw := sampleSweep()
	sw.Points[2].Values = sw.Points[2].Values[:1]
	if err := Write(t.TempDir(), &Data{Sweep: sw}); err == nil || !strings.Contains(err.Error(), "sweep point 2") {
		t.Errorf("short values: got %v, want an error naming the point", err)
	}
}

// TestSweepEmpty: a sweep without points or curves still renders its
// section, and a table without links renders as before.
func TestSweepEmpty(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, &Data{Sweep: &Sweep{}}); err != nil {
		t.Fatal(err)
	}
	md := read(t, filepath.Join(dir, MarkdownFile))
	if !strings.Contains(md, "## Sweep\n\n0 points; no setting is swept.") || strings.Contains(md, "Not in this run") {
		t.Errorf("report.md:\n%s", md)
	}
	if figs := figureFiles(t, dir); len(figs) != 0 {
		t.Errorf("figures for an empty sweep: %v", figs)
	}
}

// TestTableLink: links are relative references, percent-encoded, with a
// colon in the first segment kept from reading as a scheme.
func TestTableLink(t *testing.T) {
	tb := newTable([]string{"a", "b"})
	tb.add("x", "y")
	tb.addLinked([]string{"x", "y"}, []string{"", "p/q r.html"})
	tb.addLinked([]string{"x", "y"}, []string{"javascript:alert(1)", "https://example.org/"})
	for _, c := range []struct {
		r, c int
		want string
	}{
		{-1, 0, ""}, {0, 1, ""}, {1, 0, ""}, {1, 1, "p/q%20r.html"}, {2, 0, "./javascript:alert%281%29"}, {2, 1, "./https://example.org/"}, {3, 0, ""},
	} {
		if got := tb.Link(c.r, c.c); got != c.want {
			t.Errorf("Link(%d, %d) = %q, want %q", c.r, c.c, got, c.want)
		}
	}
}
