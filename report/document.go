package report

import (
	"bytes"
	"fmt"
	"image/png"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// document is the report in a form both renderers walk: the Markdown and
// the HTML file show the same sections, blocks and cells.
type document struct {
	Title    string
	Sections []*section
	// NotRun lists, one sentence each, the parts of Data that were empty.
	NotRun []string
}

type section struct {
	ID, Title string
	Blocks    []block
	// Figures lists the figures of Blocks, in order, for writing.
	Figures []*figure
}

// block is one of a paragraph (Text), a table, a figure or a code block.
type block struct {
	Text   string
	Table  *table
	Figure *figure
	Code   *code
}

type table struct {
	Header []string
	// Right marks the columns that are right-aligned (numbers).
	Right []bool
	Rows  [][]string
	// Links holds, row by row, the link targets of the cells: relative
	// paths with slashes, "" for a cell without a link. A row or cell
	// beyond Links has none.
	Links [][]string
}

type figure struct {
	// File is the path relative to the report's directory, with slashes.
	File    string
	Caption string
	PNG     []byte
	// Width, when not 0, is the width in CSS pixels at which HTML shows an
	// image grid: an integer multiple of its own, drawn without smoothing.
	Width int
}

// minGridWidth is the width in CSS pixels below which HTML shows an image
// grid enlarged by an integer factor.
const minGridWidth = 360

type code struct {
	Summary string
	Text    string
	// Collapsed code is shown folded in HTML.
	Collapsed bool
}

func (s *section) text(format string, args ...any) {
	s.Blocks = append(s.Blocks, block{Text: fmt.Sprintf(format, args...)})
}

func (s *section) table(t *table) { s.Blocks = append(s.Blocks, block{Table: t}) }

func (s *section) code(c *code) { s.Blocks = append(s.Blocks, block{Code: c}) }

func (s *section) figure(f *figure) {
	s.Blocks = append(s.Blocks, block{Figure: f})
	s.Figures = append(s.Figures, f)
}

// newTable returns a table whose columns named in right are right-aligned.
func newTable(header []string, right ...int) *table {
	t := &table{Header: header, Right: make([]bool, len(header))}
	for _, i := range right {
		t.Right[i] = true
	}
	return t
}

func (t *table) add(cells ...string) { t.Rows = append(t.Rows, cells) }

// addLinked adds a row whose cells link to links, by column ("" for a
// cell without a link).
func (t *table) addLinked(cells, links []string) {
	for len(t.Links) < len(t.Rows) {
		t.Links = append(t.Links, nil)
	}
	t.Links = append(t.Links, links)
	t.add(cells...)
}

// Link returns the target of the cell in row r and column c as a relative
// URL, escaped for both renderers, or "" when the cell has none.
func (t *table) Link(r, c int) string {
	if r < 0 || r >= len(t.Links) || c >= len(t.Links[r]) || t.Links[r][c] == "" {
		return ""
	}
	// A relative reference: special characters are percent-encoded, and a
	// colon in the first segment is kept from reading as a scheme ("./").
	return (&url.URL{Path: t.Links[r][c]}).String()
}

// build turns d into a document, drawing the plots and reading the grids.
// A sweep's section comes first; with a sweep, the parts of d that are
// empty are not listed as not run.
func build(d *Data) (*document, error) {
	doc := &document{Title: d.Title}
	if strings.TrimSpace(doc.Title) == "" {
		doc.Title = "PrivateSNN report"
	}
	used := names{}
	// A sweep's summary lists no parts as not run: its points' own
	// reports hold them.
	add := func(s *section, notRun string) {
		if s == nil {
			if d.Sweep == nil && notRun != "" {
				doc.NotRun = append(doc.NotRun, notRun)
			}
			return
		}
		doc.Sections = append(doc.Sections, s)
	}
	if d.Sweep != nil {
		s, err := sweepSection(d.Sweep, used)
		if err != nil {
			return nil, err
		}
		add(s, "")
	}
	add(runSection(&d.Meta), "")
	add(accuracySection(d.Accuracy), "No accuracy evaluation in this run (Table 2).")
	add(ablationSection(d.Ablation), "No CET / OD ablation in this run (Table 3).")
	add(conversionSection(d.Conversion), "No conversion in this run: no thresholds to show.")
	add(comparedSection(d.Compared), "")
	s, err := timestepSection(d.AccuracyVsT, used)
	if err != nil {
		return nil, err
	}
	add(s, "No timestep sweep in this run (Fig. 5a).")
	if s, err = samplesSection(d.AccuracyVsSamples, used); err != nil {
		return nil, err
	}
	add(s, "No sample-count sweep in this run (Fig. 5b).")
	add(leakageSection(d), "No class-leakage audit in this run (Table 4).")
	if s, err = frontierSection(d.Frontier, used); err != nil {
		return nil, err
	}
	add(s, "No privacy–accuracy frontier in this run.")
	if s, err = gridSection(d.AttackGrids, used); err != nil {
		return nil, err
	}
	add(s, "No attack image grids in this run (Fig. 6).")
	add(energySection(d.Energy), "No energy estimate in this run (Table 5).")
	if s, err = layerSection(d.Layers, used); err != nil {
		return nil, err
	}
	add(s, "No per-layer spike rates in this run.")
	if s, err = syntheticSection(d.Synthetic, used); err != nil {
		return nil, err
	}
	add(s, "No synthetic image grid in this run (Fig. 2).")
	return doc, nil
}

func runSection(m *Meta) *section {
	s := &section{ID: "run", Title: "Run"}
	if strings.TrimSpace(m.Command) != "" {
		s.text("Command:")
		s.code(&code{Summary: "command", Text: m.Command})
	} else {
		s.text("The command was not recorded.")
	}
	started := "not recorded"
	if !m.Started.IsZero() {
		started = m.Started.UTC().Format(time.RFC3339)
	}
	sw := newTable([]string{"what", "value"})
	sw.add("privatesnn", orMissing(m.Software))
	sw.add("Go", orMissing(m.GoVersion))
	sw.add("GEMM backend", orMissing(m.Backend))
	sw.add("started (UTC)", started)
	s.table(sw)

	if len(m.Stages) > 0 {
		st := newTable([]string{"stage", "directory", "seed", "wall time", "cached", "reads real data", "reads"}, 2, 3)
		for _, g := range m.Stages {
			seed := missing
			if v, ok := m.Seeds[g.Name]; ok {
				seed = fmt.Sprint(v)
			}
			st.add(orMissing(g.Name), orMissing(g.Dir), seed, duration(g.Seconds), yesNo(g.Cached), yesNo(g.ReadsRealData), orMissing(g.Reads))
		}
		s.table(st)
	} else {
		s.text("No stages were recorded.")
	}
	var other []string
	for k := range m.Seeds {
		if !slices.ContainsFunc(m.Stages, func(g StageInfo) bool { return g.Name == k }) {
			other = append(other, k)
		}
	}
	if len(other) > 0 {
		sort.Strings(other)
		t := newTable([]string{"seed of", "seed"}, 1)
		for _, k := range other {
			t.add(k, fmt.Sprint(m.Seeds[k]))
		}
		s.text("Seeds not tied to a recorded stage:")
		s.table(t)
	}
	if strings.TrimSpace(m.Config) != "" {
		s.code(&code{Summary: "config file", Text: m.Config, Collapsed: true})
	} else {
		s.text("No config file was recorded.")
	}
	return s
}

func accuracySection(rows []AccuracyRow) *section {
	if len(rows) == 0 {
		return nil
	}
	s := &section{ID: "table2", Title: "Table 2 — accuracy"}
	if !slices.ContainsFunc(rows, func(r AccuracyRow) bool { return r.VsANN != nil }) {
		t := newTable([]string{"model", "kind", "T", "test accuracy", "note"}, 2, 3)
		for _, r := range rows {
			t.add(r.Model, r.Kind, timesteps(r.Timesteps), pct(r.Accuracy), r.Note)
		}
		s.table(t)
		return s
	}
	t := newTable([]string{"model", "kind", "T", "test accuracy", "Δ vs ANN [95 % CI]", "note"}, 2, 3, 4)
	for _, r := range rows {
		vs := missing
		if r.VsANN != nil {
			vs = points(100*r.VsANN.Delta) + " " + pointsCI(r.VsANN.CI)
		}
		t.add(r.Model, r.Kind, timesteps(r.Timesteps), pct(r.Accuracy), vs, r.Note)
	}
	s.table(t)
	s.text("Δ vs ANN: the difference from the ANN's test accuracy in percentage points, with Newcombe's paired 95 %% interval over the same test images.")
	return s
}

func ablationSection(rows []AblationRow) *section {
	if len(rows) == 0 {
		return nil
	}
	s := &section{ID: "table3", Title: "Table 3 — class-encryption training ablation (CET / OD)"}
	paired := slices.ContainsFunc(rows, func(r AblationRow) bool { return r.DeltaCI != nil })
	head := "Δ vs DC"
	if paired {
		head += " [95 % CI]"
	}
	t := newTable([]string{"model", "T", "test accuracy", head}, 1, 2, 3)
	for _, r := range rows {
		delta := points(r.Delta)
		if r.DeltaCI != nil {
			delta += " " + pointsCI(*r.DeltaCI)
		}
		t.add(r.Model, timesteps(r.Timesteps), pct(r.Accuracy), delta)
	}
	s.table(t)
	note := "DC: the data-free converted network; CET: class-encryption training; OD: on-device distillation. Δ in percentage points."
	if paired {
		note += " Each interval is Newcombe's paired 95 % interval for the difference, over the same test images."
	}
	s.text("%s", note)
	return s
}

// timestepSection shows the curves that have points; it returns nil when
// none has.
func timestepSection(all []Curve, used names) (*section, error) {
	var curves []Curve
	for _, c := range all {
		if len(c.T) != len(c.Accuracy) {
			return nil, fmt.Errorf("accuracy curve %q: %d timesteps but %d accuracies", c.Model, len(c.T), len(c.Accuracy))
		}
		if len(c.T) > 0 {
			curves = append(curves, c)
		}
	}
	if len(curves) == 0 {
		return nil, nil
	}
	var ss []series
	var ts []int
	for _, c := range curves {
		type pt struct {
			t int
			a float64
		}
		pts := make([]pt, len(c.T))
		for i := range c.T {
			pts[i] = pt{c.T[i], c.Accuracy[i]}
		}
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].t < pts[j].t })
		s := series{Name: c.Model}
		for _, p := range pts {
			s.X = append(s.X, float64(p.t))
			s.Y = append(s.Y, 100*p.a)
			ts = append(ts, p.t)
		}
		ss = append(ss, s)
	}
	sort.Ints(ts)
	ts = slices.Compact(ts)
	img, err := linePlot("Accuracy against timestep", "timestep T", "test accuracy (%)", ss, false)
	if err != nil {
		return nil, err
	}
	s := &section{ID: "fig5a", Title: "Figure 5a — accuracy against timestep"}
	s.figure(&figure{File: FiguresDir + "/" + used.get("fig5a-accuracy-vs-timestep"), Caption: "Test accuracy against the timestep T at which the output is read.", PNG: img})
	header := []string{"T"}
	right := []int{0}
	for i, c := range curves {
		header = append(header, c.Model)
		right = append(right, i+1)
	}
	t := newTable(header, right...)
	for _, step := range ts {
		row := []string{fmt.Sprint(step)}
		for _, c := range curves {
			cell := missing
			if i := slices.Index(c.T, step); i >= 0 {
				cell = pct(c.Accuracy[i])
			}
			row = append(row, cell)
		}
		t.add(row...)
	}
	s.table(t)
	return s, nil
}

func samplesSection(pts []SamplesPoint, used names) (*section, error) {
	if len(pts) == 0 {
		return nil, nil
	}
	pts = slices.Clone(pts)
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].PerClass < pts[j].PerClass })
	cet := series{Name: "CET"}
	od := series{Name: "CET+OD"}
	for _, p := range pts {
		cet.X = append(cet.X, float64(p.PerClass))
		cet.Y = append(cet.Y, 100*p.CET)
		od.X = append(od.X, float64(p.PerClass))
		od.Y = append(od.Y, 100*p.CETOD)
	}
	lo, hi := float64(pts[0].PerClass), float64(pts[len(pts)-1].PerClass)
	logX := lo > 0 && hi/lo >= 10
	img, err := linePlot("Accuracy against synthetic images per class", "synthetic images per class", "test accuracy (%)", []series{cet, od}, logX)
	if err != nil {
		return nil, err
	}
	s := &section{ID: "fig5b", Title: "Figure 5b — accuracy against synthetic images per class"}
	caption := "Test accuracy after class-encryption training on the given number of synthetic images per class."
	if logX {
		caption += " The x axis is logarithmic."
	}
	s.figure(&figure{File: FiguresDir + "/" + used.get("fig5b-accuracy-vs-samples"), Caption: caption, PNG: img})
	t := newTable([]string{"images per class", "CET", "CET+OD"}, 0, 1, 2)
	for _, p := range pts {
		t.add(fmt.Sprint(p.PerClass), pct(p.CET), pct(p.CETOD))
	}
	s.table(t)
	return s, nil
}

func gridSection(grids []Grid, used names) (*section, error) {
	if len(grids) == 0 {
		return nil, nil
	}
	s := &section{ID: "fig6", Title: "Figure 6 — attack images"}
	for _, g := range grids {
		b, w, err := readPNG(g.Path)
		if err != nil {
			return nil, fmt.Errorf("attack grid (model %q, attack %q): %w", g.Model, g.Attack, err)
		}
		s.figure(&figure{File: FiguresDir + "/" + used.get("fig6", g.Model, g.Attack), Caption: fmt.Sprintf("%s — %s", g.Attack, g.Model), PNG: b, Width: gridWidth(w)})
	}
	return s, nil
}

func energySection(rows []EnergyRow) *section {
	if len(rows) == 0 {
		return nil
	}
	var joules, counts []float64
	for _, r := range rows {
		joules = append(joules, r.ANNJoules, r.SNNJoules)
		counts = append(counts, r.ANNMACs, r.SNNACs)
	}
	e, n := energyUnit(joules), countUnit(counts)
	s := &section{ID: "table5", Title: "Table 5 — energy"}
	t := newTable([]string{"model", "T", "ANN MACs (" + n.name + ")", "SNN ACs (" + n.name + ")",
		"ANN energy (" + e.name + ")", "SNN energy (" + e.name + ")", "ANN/SNN"}, 1, 2, 3, 4, 5, 6)
	for _, r := range rows {
		ratio := "n/a"
		if finite(r.Ratio) {
			ratio = fixed(r.Ratio, 2) + "×"
		}
		t.add(r.Model, timesteps(r.Timesteps), n.format(r.ANNMACs, 2), n.format(r.SNNACs, 2),
			e.format(r.ANNJoules, 2), e.format(r.SNNJoules, 2), ratio)
	}
	s.table(t)
	s.text("Operations and energy per image.")
	return s
}

func layerSection(rows []LayerRow, used names) (*section, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	var joules []float64
	var models []string
	for _, r := range rows {
		joules = append(joules, r.ANNJoules, r.SNNJoules)
		if !slices.Contains(models, r.Model) {
			models = append(models, r.Model)
		}
	}
	e := energyUnit(joules)
	s := &section{ID: "layers", Title: "Spike rates and energy per layer"}
	t := newTable([]string{"model", "layer", "input spike rate", "spike rate", "ANN energy (" + e.name + ")", "SNN energy (" + e.name + ")"}, 2, 3, 4, 5)
	for _, m := range models {
		for _, r := range rows {
			if r.Model == m {
				t.add(layerCells(r, e)...)
			}
		}
	}
	s.table(t)
	s.text("Each row is one layer. Input spike rate: spikes per neuron per time step reaching the layer, before pooling — " +
		"the rate its SNN energy counts (analog: the image itself, direct input). Spike rate: the layer's own spikes per neuron " +
		"per time step (the output layer accumulates without spiking). Energy per image; – where no energy was estimated.")
	for _, m := range models {
		var labels []string
		var values []float64
		var text []string
		for _, r := range rows {
			if r.Model == m && !r.Output {
				labels = append(labels, r.Layer)
				values = append(values, 100*r.SpikeRate)
				text = append(text, rate(r.SpikeRate))
			}
		}
		if len(labels) == 0 {
			continue
		}
		img, err := barPlot("Spike rate per layer — "+m, "layer", "spike rate (%)", labels, values, text)
		if err != nil {
			return nil, err
		}
		s.figure(&figure{File: FiguresDir + "/" + used.get("spike-rates", m), Caption: "Spike rate per layer of " + m + ".", PNG: img})
	}
	return s, nil
}

// layerCells returns the cells of a layer's row, its energies in unit e.
func layerCells(r LayerRow, e unit) []string {
	in, own, ann, sn := missing, rate(r.SpikeRate), missing, missing
	if r.Output {
		own = "– (output)"
	}
	if r.ANNJoules > 0 || r.SNNJoules > 0 {
		in, ann, sn = rate(r.InputRate), e.format(r.ANNJoules, 3), e.format(r.SNNJoules, 3)
		if r.Analog {
			in = "analog"
		}
	}
	return []string{r.Model, r.Layer, in, own, ann, sn}
}

// conversionSection shows the conversion's settings, its thresholds and,
// for a data-free selection, every candidate with the one chosen.
func conversionSection(c *Conversion) *section {
	if c == nil {
		return nil
	}
	s := &section{ID: "conversion", Title: "Data-free conversion — settings and thresholds"}
	how := "the paper's recipe"
	if len(c.Candidates) > 0 {
		how = fmt.Sprintf("chosen without data among %d candidates", len(c.Candidates))
	}
	s.text("Recipe %s at T = %d: %s (%s); thresholds balanced on %d synthetic images.", orMissing(c.Recipe), c.Timesteps, orMissing(c.Settings), how, c.CalibrationImages)
	t := newTable([]string{"layer", "threshold"}, 1)
	for i, l := range c.Layers {
		th := missing
		if i < len(c.Thresholds) && finite(c.Thresholds[i]) {
			th = fmt.Sprintf("%.4g", c.Thresholds[i])
		}
		t.add(l, th)
	}
	s.table(t)
	if len(c.Candidates) == 0 {
		return s
	}
	s.text("Candidates, scored by the agreement of the SNN's top-1 class with the ANN's on %d held-out synthetic images (rule: %s):", c.HeldOut, orMissing(c.Rule))
	ct := newTable([]string{"candidate", fmt.Sprintf("agreement at T = %d", c.Timesteps), fmt.Sprintf("at T = %d", c.HalfTimesteps), "chosen"}, 1, 2)
	for _, k := range c.Candidates {
		full, half, chosen := pct(k.Agreement), pct(k.AgreementHalf), ""
		if k.Error != "" {
			full, half = "not scored: "+k.Error, missing
		}
		if k.Chosen {
			chosen = "← chosen"
		}
		ct.add(k.Settings, full, half, chosen)
	}
	s.table(ct)
	return s
}

// comparedSection lists the run's further conversions (nil when none).
func comparedSection(cs []ComparedConversion) *section {
	if len(cs) == 0 {
		return nil
	}
	s := &section{ID: "compared", Title: "Conversions compared"}
	s.text("Further conversions of the same ANN on the same synthetic images; their accuracy is in Table 2 and Fig. 5a, their spike rates and energy in Table 5.")
	t := newTable([]string{"model", "recipe", "T", "settings", "potential correction", "QCFS fine-tuning"}, 2)
	for _, c := range cs {
		q := c.Quantisation
		if q == "" {
			q = "none (the ANN itself)"
		}
		t.add(c.Model, orMissing(c.Recipe), fmt.Sprint(c.Timesteps), orMissing(c.Settings), orMissing(c.Correction), q)
	}
	s.table(t)
	return s
}

func syntheticSection(path string, used names) (*section, error) {
	if path == "" {
		return nil, nil
	}
	b, w, err := readPNG(path)
	if err != nil {
		return nil, fmt.Errorf("synthetic image grid: %w", err)
	}
	s := &section{ID: "fig2", Title: "Figure 2 — synthetic images"}
	s.figure(&figure{File: FiguresDir + "/" + used.get("fig2-synthetic"), Caption: "Synthetic images made from the ANN's weights alone.", PNG: b, Width: gridWidth(w)})
	return s, nil
}

// gridWidth is the display width of an image grid w pixels wide: w times
// the largest integer factor that keeps it at most minGridWidth, or w.
func gridWidth(w int) int {
	return w * max(1, minGridWidth/w)
}

// readPNG reads the file at path, checks that it is a PNG and returns it
// with its width.
func readPNG(path string) ([]byte, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: not a PNG image: %w", path, err)
	}
	if cfg.Width == 0 || cfg.Height == 0 {
		return nil, 0, fmt.Errorf("%s: empty image", path)
	}
	return b, cfg.Width, nil
}
