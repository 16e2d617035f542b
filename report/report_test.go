package report

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"
)

// writeGrid writes a w×h PNG of coloured squares on white to dir/name.
func writeGrid(t *testing.T, dir, name string, w, h int, seed uint8) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{255, 255, 255, 255}
			if (x/8+y/8)%2 == 0 {
				c = color.NRGBA{uint8(x*4) + seed, uint8(y * 4), 128 + seed, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func sampleMeta() Meta {
	return Meta{
		Command:   "privatesnn pipeline --config run.toml --out runs/demo",
		Config:    "[train]\nepochs = 14\n# a <comment> & more\n",
		Software:  "privatesnn v0.9.0",
		GoVersion: "go1.26.8",
		Backend:   "pure-go",
		Seeds:     map[string]uint64{"train": 0, "synth": 7, "audit": 3},
		Stages: []StageInfo{
			{Name: "train", Dir: "runs/demo/ann", Seconds: 904.2, Cached: true, ReadsRealData: true, Reads: "fashion-mnist train split"},
			{Name: "synth", Dir: "runs/demo/synth", Seconds: 12.34, Reads: "ANN weights"},
		},
		Started: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC),
	}
}

func sampleData(t *testing.T) *Data {
	t.Helper()
	in := t.TempDir()
	self := 0.875
	return &Data{
		Title: "Demo run",
		Meta:  sampleMeta(),
		Accuracy: []AccuracyRow{
			{Model: "ANN", Kind: "ANN", Accuracy: 0.9198},
			{Model: "DC", Kind: "SNN", Timesteps: 64, Accuracy: 0.86452, Note: "data-free conversion"},
		},
		Ablation: []AblationRow{
			{Model: "DC", Timesteps: 64, Accuracy: 0.8645, Delta: 0},
			{Model: "DC + CET + OD", Timesteps: 64, Accuracy: 0.9020, Delta: 3.75},
			{Model: "DC + CET (no OD)", Timesteps: 8, Accuracy: 0.8766, Delta: -1.98},
		},
		Leakage: []LeakageRow{
			{Set: "Attack 1 (visualization)", Model: "SNN", Self: &self, Top1: 0.42, Top3: 0.61, Confidence: 0.3456, FD: 123.456, Images: 50},
			{Set: "uniform noise", Top1: 0.1, Top3: 0.3, Confidence: 0.1, FD: 987.65, Images: 50},
		},
		LeakageNote: "Chance: top-1 10.0 %, top-3 30.0 %.",
		Energy: []EnergyRow{
			{Model: "DC", Timesteps: 64, ANNMACs: 2.5e9, SNNACs: 1.25e9, ANNJoules: 87.8e-6, SNNJoules: 20.15e-6, Ratio: 4.357},
		},
		Layers: []LayerRow{
			{Model: "DC", Layer: "conv1", SpikeRate: 0.035, InputRate: 0.5, ANNJoules: 10e-6, SNNJoules: 2e-6},
			{Model: "DC", Layer: "conv2", SpikeRate: 0.004, InputRate: 0.035, ANNJoules: 20e-6, SNNJoules: 1e-6},
			{Model: "DC", Layer: "fc", Output: true, InputRate: 0.004, ANNJoules: 1e-6, SNNJoules: 0.1e-6},
			{Model: "DC + CET + OD", Layer: "conv1", SpikeRate: 0.036, Analog: true, InputRate: 0.9, ANNJoules: 10e-6, SNNJoules: 2.1e-6},
			{Model: "DC + CET + OD", Layer: "conv2", SpikeRate: 0.0002, InputRate: 0.036, ANNJoules: 20e-6, SNNJoules: 0.9e-6},
		},
		Conversion: &Conversion{Recipe: "paper", Settings: "max current, initial membrane 0·θ, poisson input", Timesteps: 64, CalibrationImages: 100,
			Layers: []string{"conv1", "conv2"}, Thresholds: []float64{2.5, 0.125}},
		Synthetic: writeGrid(t, in, "synth.png", 64, 48, 0),
		AccuracyVsT: []Curve{
			{Model: "paper recipe", T: []int{16, 32, 48, 64}, Accuracy: []float64{0.1, 0.143, 0.528, 0.873}},
			{Model: "default", T: []int{64, 8, 16}, Accuracy: []float64{0.93, 0.903, 0.923}},
		},
		AccuracyVsSamples: []SamplesPoint{
			{PerClass: 10, CET: 0.8791, CETOD: 0.8949},
			{PerClass: 20, CET: 0.8771, CETOD: 0.8965},
			{PerClass: 500, CET: 0.8288, CETOD: 0.8949},
		},
		AttackGrids: []Grid{
			{Model: "SNN", Attack: "Attack 1", Path: writeGrid(t, in, "a1.png", 40, 40, 10)},
			{Model: "SNN", Attack: "Attack 2", Path: writeGrid(t, in, "a2.png", 40, 40, 60)},
		},
		Frontier: sampleFrontier(),
	}
}

// blankness returns the number of distinct colours and the fraction of
// pixels that are not white.
func blankness(img image.Image) (colours int, nonWhite float64) {
	seen := map[color.RGBA]bool{}
	b := img.Bounds()
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			seen[c] = true
			if c.R < 250 || c.G < 250 || c.B < 250 {
				n++
			}
		}
	}
	return len(seen), float64(n) / float64(b.Dx()*b.Dy())
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func figureFiles(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(dir, FiguresDir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestWrite(t *testing.T) {
	d := sampleData(t)
	dir := filepath.Join(t.TempDir(), "out")
	if err := Write(dir, d); err != nil {
		t.Fatal(err)
	}
	figs := figureFiles(t, dir)
	want := []string{
		"fig2-synthetic.png",
		"fig5a-accuracy-vs-timestep.png",
		"fig5b-accuracy-vs-samples.png",
		"fig6-snn-attack-1.png",
		"fig6-snn-attack-2.png",
		"frontier.png",
		"spike-rates-dc-cet-od.png",
		"spike-rates-dc.png",
	}
	if !slices.Equal(figs, want) {
		t.Fatalf("figures: got %v, want %v", figs, want)
	}

	checkWrittenMarkdown(t, dir, figs)
	checkWrittenHTML(t, dir, figs)
	checkWrittenFigures(t, dir, figs, d)
}

// checkWrittenMarkdown checks that the report.md Write put in dir has the
// sample data's sections, tables and rows, no list of missing parts, and
// a link to every figure in figs.
func checkWrittenMarkdown(t *testing.T, dir string, figs []string) {
	md := read(t, filepath.Join(dir, MarkdownFile))
	for _, s := range []string{
		"# Demo run",
		"## Run",
		"privatesnn pipeline --config run.toml --out runs/demo",
		"| stage | directory | seed | wall time | cached | reads real data | reads |",
		"| train | runs/demo/ann | 0 | 15 min 4 s | yes | yes | fashion-mnist train split |",
		"| synth | runs/demo/synth | 7 | 12.3 s | no | no | ANN weights |",
		"| audit | 3 |",
		"2025-03-04T05:06:07Z",
		"## Table 2 — accuracy",
		"| model | kind | T | test accuracy | note |",
		"| ANN | ANN | – | 92.0 % |  |",
		"| DC | SNN | 64 | 86.5 % | data-free conversion |",
		"## Table 3 — class-encryption training ablation (CET / OD)",
		"| model | T | test accuracy | Δ vs DC |",
		"| DC | 64 | 86.5 % | 0.0 pp |",
		"| DC + CET + OD | 64 | 90.2 % | +3.8 pp |",
		"| DC + CET (no OD) | 8 | 87.7 % | −2.0 pp |",
		"## Table 4 — class leakage",
		"| images | model | count | attacked model's hit rate | evaluator top-1 | top-3 | confidence | FD (evaluator features) |",
		"| Attack 1 (visualization) | SNN | 50 | 87.5 % | 42.0 % | 61.0 % | 0.35 | 123.5 |",
		"| uniform noise | – | 50 | – | 10.0 % | 30.0 % | 0.10 | 987.6 |",
		"Chance: top-1 10.0 %, top-3 30.0 %.",
		"## Table 5 — energy",
		"| model | T | ANN MACs (G) | SNN ACs (G) | ANN energy (µJ) | SNN energy (µJ) | ANN/SNN |",
		"| DC | 64 | 2.50 | 1.25 | 87.80 | 20.15 | 4.36× |",
		"## Spike rates and energy per layer",
		"| model | layer | input spike rate | spike rate | ANN energy (µJ) | SNN energy (µJ) |",
		"| DC | conv1 | 50.00 % | 3.50 % | 10.000 | 2.000 |",
		"| DC | fc | 0.40 % | – (output) | 1.000 | 0.100 |",
		"| DC + CET + OD | conv1 | analog | 3.60 % | 10.000 | 2.100 |",
		"| DC + CET + OD | conv2 | 3.60 % | 0.02 % | 20.000 | 0.900 |",
		"## Data-free conversion — settings and thresholds",
		"Recipe paper at T = 64: max current, initial membrane 0·θ, poisson input (the paper's recipe); thresholds balanced on 100 synthetic images.",
		"| conv2 | 0.125 |",
		"## Figure 2 — synthetic images",
		"](figures/fig2-synthetic.png)",
		"## Figure 5a — accuracy against timestep",
		"](figures/fig5a-accuracy-vs-timestep.png)",
		"| T | paper recipe | default |",
		"| 8 | – | 90.3 % |",
		"| 64 | 87.3 % | 93.0 % |",
		"## Figure 5b — accuracy against synthetic images per class",
		"](figures/fig5b-accuracy-vs-samples.png)",
		"The x axis is logarithmic.",
		"| 500 | 82.9 % | 89.5 % |",
		"## Figure 6 — attack images",
		"](figures/fig6-snn-attack-1.png)",
		"](figures/spike-rates-dc-cet-od.png)",
		"epochs = 14",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("report.md lacks %q", s)
		}
	}
	if strings.Contains(md, "## Not in this run") {
		t.Error("report.md lists parts as not run although all are present")
	}
	// Every figure file is linked from report.md.
	for _, f := range figs {
		if !strings.Contains(md, "]("+FiguresDir+"/"+f+")") {
			t.Errorf("report.md does not link %s", f)
		}
	}
}

// checkWrittenHTML checks that the report.html Write put in dir embeds
// every figure in figs as a data URI, holds no http(s) address, script,
// escaped-template marker or figure file path, has the sample data's
// headings and cells, and closes as many of each element as it opens.
func checkWrittenHTML(t *testing.T, dir string, figs []string) {
	h := read(t, filepath.Join(dir, HTMLFile))
	if got := strings.Count(h, "data:image/png;base64,"); got != len(figs) {
		t.Errorf("report.html has %d data URIs, want %d (one per figure)", got, len(figs))
	}
	for _, bad := range []string{"http://", "https://", "<script", "ZgotmplZ", "src=\"figures/"} {
		if strings.Contains(h, bad) {
			t.Errorf("report.html contains %q", bad)
		}
	}
	for _, s := range []string{
		"<!DOCTYPE html>",
		"<title>Demo run</title>",
		"<h2>Table 2 — accuracy</h2>",
		"<h2>Table 4 — class leakage</h2>",
		"<th class=\"num\">test accuracy</th>",
		"<td class=\"num\">90.2 %</td>",
		"<td class=\"num\">&#43;3.8 pp</td>",
		"<td class=\"num\">4.36×</td>",
		"<details><summary>config file</summary>",
		"# a &lt;comment&gt; &amp; more",
		"max-width: 100%",
		`class="pixels" width="360">`, // 40 px attack grid shown 9×
		`class="pixels" width="320">`, // 64 px synthetic grid shown 5×
	} {
		if !strings.Contains(h, s) {
			t.Errorf("report.html lacks %q", s)
		}
	}
	// Tags balance for the elements the template opens.
	for _, tag := range []string{"section", "table", "tr", "figure", "details", "pre", "ul", "li"} {
		open := len(regexp.MustCompile("<"+tag+"[ >]").FindAllString(h, -1))
		if c := strings.Count(h, "</"+tag+">"); open != c {
			t.Errorf("report.html: %d <%s> but %d </%s>", open, tag, c, tag)
		}
	}
}

// checkWrittenFigures checks that every figure in figs decodes as a PNG
// that is not blank, that the plots (fig5*, frontier*, spike-rates*) are
// at least 500×350, and that the second attack grid Write copied is d's
// file byte for byte.
func checkWrittenFigures(t *testing.T, dir string, figs []string, d *Data) {
	// The plots decode and are not blank; the copied grids are the inputs.
	for _, f := range figs {
		b, err := os.ReadFile(filepath.Join(dir, FiguresDir, f))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		colours, nonWhite := blankness(img)
		if colours <= 2 || nonWhite <= 0.01 {
			t.Errorf("%s looks blank: %d colours, %.2f %% not white", f, colours, 100*nonWhite)
		}
		if strings.HasPrefix(f, "fig5") || strings.HasPrefix(f, "spike-rates") || strings.HasPrefix(f, "frontier") {
			if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w < 500 || h < 350 {
				t.Errorf("%s is %d×%d, too small to read", f, w, h)
			}
		}
	}
	if got, want := read(t, filepath.Join(dir, FiguresDir, "fig6-snn-attack-2.png")), read(t, d.AttackGrids[1].Path); got != want {
		t.Error("the copied attack grid differs from its source")
	}
}

func TestWriteEmpty(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, &Data{Title: "Nothing", Meta: Meta{Software: "privatesnn dev"}}); err != nil {
		t.Fatal(err)
	}
	if figs := figureFiles(t, dir); len(figs) != 0 {
		t.Errorf("figures written for an empty run: %v", figs)
	}
	md := read(t, filepath.Join(dir, MarkdownFile))
	h := read(t, filepath.Join(dir, HTMLFile))
	for _, s := range []string{
		"The command was not recorded.",
		"No stages were recorded.",
		"No config file was recorded.",
		"Not in this run",
		"No accuracy evaluation in this run (Table 2).",
		"No CET / OD ablation in this run (Table 3).",
		"No class-leakage audit in this run (Table 4).",
		"No energy estimate in this run (Table 5).",
		"No per-layer spike rates in this run.",
		"No conversion in this run: no thresholds to show.",
		"No synthetic image grid in this run (Fig. 2).",
		"No timestep sweep in this run (Fig. 5a).",
		"No sample-count sweep in this run (Fig. 5b).",
		"No attack image grids in this run (Fig. 6).",
		"No privacy–accuracy frontier in this run.",
		"not recorded",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("report.md lacks %q", s)
		}
		if !strings.Contains(h, s) {
			t.Errorf("report.html lacks %q", s)
		}
	}
	for _, s := range []string{"Table 2 —", "Figure 5a —", "Figure 6 —", "Privacy–accuracy frontier\n", "Worst case:"} {
		if strings.Contains(md, s) {
			t.Errorf("report.md has section %q for an empty run", s)
		}
	}
	if strings.Contains(h, "data:image") {
		t.Error("report.html embeds an image for an empty run")
	}
}

func TestWriteMissingGrid(t *testing.T) {
	d := sampleData(t)
	missing := filepath.Join(t.TempDir(), "no-such-grid.png")
	d.AttackGrids[1].Path = missing
	dir := t.TempDir()
	err := Write(dir, d)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("got %v, want an error naming %s", err, missing)
	}
	if _, err := os.Stat(filepath.Join(dir, MarkdownFile)); !os.IsNotExist(err) {
		t.Errorf("report.md written despite the error (stat: %v)", err)
	}

	d = sampleData(t)
	notPNG := filepath.Join(t.TempDir(), "grid.png")
	if err := os.WriteFile(notPNG, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.Synthetic = notPNG
	if err := Write(t.TempDir(), d); err == nil || !strings.Contains(err.Error(), notPNG) {
		t.Fatalf("got %v, want an error naming %s", err, notPNG)
	}
}

func TestWriteBadCurve(t *testing.T) {
	d := &Data{AccuracyVsT: []Curve{{Model: "m", T: []int{1, 2}, Accuracy: []float64{0.5}}}}
	if err := Write(t.TempDir(), d); err == nil || !strings.Contains(err.Error(), `"m"`) {
		t.Fatalf("got %v, want an error naming the curve", err)
	}
	dir := t.TempDir()
	d = &Data{AccuracyVsT: []Curve{{Model: "empty"}}}
	if err := Write(dir, d); err != nil {
		t.Fatal(err)
	}
	if md := read(t, filepath.Join(dir, MarkdownFile)); !strings.Contains(md, "No timestep sweep in this run") {
		t.Error("a curve without points is not reported as no sweep")
	}
	if err := Write(t.TempDir(), nil); err == nil {
		t.Fatal("nil Data accepted")
	}
}

func TestEscaping(t *testing.T) {
	dir := t.TempDir()
	d := &Data{
		Title:    "<b>x</b>",
		Accuracy: []AccuracyRow{{Model: "a|b <script>alert(1)</script>", Kind: "SNN", Timesteps: 4, Accuracy: 0.5, Note: "line1\nline2 *bold*"}},
	}
	if err := Write(dir, d); err != nil {
		t.Fatal(err)
	}
	h := read(t, filepath.Join(dir, HTMLFile))
	if strings.Contains(h, "<script>") || strings.Contains(h, "<b>x</b>") {
		t.Error("report.html does not escape text")
	}
	md := read(t, filepath.Join(dir, MarkdownFile))
	for _, s := range []string{`| a\|b \<script\>alert(1)\</script\> | SNN | 4 | 50.0 % | line1 line2 \*bold\* |`, `# \<b\>x\</b\>`} {
		if !strings.Contains(md, s) {
			t.Errorf("report.md lacks %q", s)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{pct(0.902), "90.2 %"},
		{pct(0.99996), "100.0 %"},
		{pct(-0.0001), "0.0 %"},
		{rate(0.0002), "0.02 %"},
		{points(3.75), "+3.8 pp"},
		{points(-1.98), "−2.0 pp"},
		{points(-0.01), "0.0 pp"},
		{fixed(0.3456, 2), "0.35"},
		{fixed(123.456, 1), "123.5"},
		{energyUnit([]float64{87.8e-6}).format(87.8e-6, 2), "87.80"},
		{energyUnit([]float64{2e-3}).name, "mJ"},
		{energyUnit([]float64{2e-3}).format(2e-3, 2), "2.00"},
		{countUnit([]float64{3e8}).name, "M"},
		{countUnit([]float64{3e8}).format(3e8, 2), "300.00"},
		{countUnit([]float64{3e9}).name, "G"},
		{duration(0.42), "0.4 s"},
		{duration(106), "1 min 46 s"},
		{duration(7500), "2 h 5 min"},
		{timesteps(0), "–"},
		{slug("DC + CET + OD"), "dc-cet-od"},
		{slug("  "), "x"},
		{fence("a ``` b"), "````"},
		{fmt.Sprint(gridWidth(40)), "360"},
		{fmt.Sprint(gridWidth(200)), "200"},
		{fmt.Sprint(gridWidth(500)), "500"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	n := names{}
	if a, b := n.get("fig6", "SNN", "A"), n.get("fig6", "snn", "a"); a != "fig6-snn-a.png" || b != "fig6-snn-a-2.png" {
		t.Errorf("names: %s, %s", a, b)
	}
}

func TestTicks(t *testing.T) {
	labels := func(ts []plot.Tick) []string {
		var out []string
		for _, t := range ts {
			if t.Label != "" {
				out = append(out, t.Label)
			}
		}
		return out
	}
	for _, c := range []struct {
		ticker plot.Ticker
		lo, hi float64
		want   []string
	}{
		{niceTicks{}, 0, 100, []string{"0", "20", "40", "60", "80", "100"}},
		{niceTicks{}, 82.1, 90.6, []string{"84", "86", "88", "90"}},
		{niceTicks{}, 0, 0.023, []string{"0.000", "0.005", "0.010", "0.015", "0.020"}},
		{niceTicks{}, 0, 1.4, []string{"0.00", "0.25", "0.50", "0.75", "1.00", "1.25"}},
		{niceTicks{}, -3, 3, []string{"-3", "-2", "-1", "0", "1", "2", "3"}},
		{logTicks{}, 8, 600, []string{"10", "20", "50", "100", "200", "500"}},
		{valueTicks{10, 20, 500}, 8, 600, []string{"10", "20", "500"}},
	} {
		if got := labels(c.ticker.Ticks(c.lo, c.hi)); !slices.Equal(got, c.want) {
			t.Errorf("%T %g..%g: got %v, want %v", c.ticker, c.lo, c.hi, got, c.want)
		}
	}
}
