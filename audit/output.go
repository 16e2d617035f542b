package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/internal/atomicfile"
	"github.com/privatesnn/privatesnn/internal/outdir"
	"github.com/privatesnn/privatesnn/leakage"
)

// GridFile is the name of the Fig. 6-style grid of an attack's images
// (one row per class) in its output directory; ImagesDir holds one PNG per
// image.
const (
	GridFile  = "grid.png"
	ImagesDir = "images"
)

// WriteImages writes s to dir: GridFile, a grid with one row per class of
// s showing all its images, labelled with the class index and name (names
// may be nil; the set's own ClassNames are not used), and, under
// ImagesDir, one PNG per image named <index>-class<k>.png. Files are
// written atomically; dir is created if needed. Other files in dir are
// left alone.
func WriteImages(dir string, s *imageset.Set, names []string) error {
	if err := os.MkdirAll(filepath.Join(dir, ImagesDir), 0o755); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := imageset.WritePNG(filepath.Join(dir, GridFile), s.Grid(s.Len(), names)); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	for i, l := range s.Labels {
		if err := imageset.WritePNG(filepath.Join(dir, imageFile(i, int(l))), s.Picture(i)); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return nil
}

// ImageFiles lists, relative to its directory, the files WriteImages
// writes for images with these labels: GridFile first.
func ImageFiles(labels []int32) []string {
	files := []string{GridFile}
	for i, l := range labels {
		files = append(files, imageFile(i, int(l)))
	}
	return files
}

// imageFile is the file of image i, of class l, under ImagesDir.
func imageFile(i, l int) string {
	return filepath.Join(ImagesDir, fmt.Sprintf("%03d-class%d.png", i, l))
}

// ResultImages returns an attack's images as a set in the given number of
// classes (generically named), labelled with their targets. The pixels are
// shared with r.
func ResultImages(r *attack.Result, classes int) *imageset.Set {
	s := &imageset.Set{Channels: r.Shape[1], Height: r.Shape[2], Width: r.Shape[3], Classes: classes,
		ClassNames: imageset.GenericNames(classes), Pixels: r.Pixels, Labels: make([]int32, len(r.Targets))}
	for i, t := range r.Targets {
		s.Labels[i] = int32(t)
	}
	return s
}

// WriteJSON writes v as indented JSON to path, atomically.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n')); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// Label is a row's set as the table prints it: "Attack 1 (…)" or the
// reference set in words.
func (r *Row) Label() string {
	switch r.Set {
	case "real":
		return "real test images (disjoint split)"
	case "noise":
		return "uniform noise"
	case "synthetic":
		return "synthetic set"
	}
	var a Attack
	if err := a.UnmarshalText([]byte(r.Set)); err == nil {
		return fmt.Sprintf("Attack %d (%s)", int(a.Method), a.Describe())
	}
	return r.Set
}

// WriteTable prints the report as Markdown: one row per attack and model,
// then the reference rows, with every evaluator's top-1 hit rate and its
// 95 % Wilson interval; then each model's worst case and the paired
// differences between models.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	evs := r.evaluatorNames()
	fmt.Fprintf(&b, "| images | model | attacked model's hit rate |")
	for _, e := range evs {
		fmt.Fprintf(&b, " top-1, %s [95 %% CI] |", e)
	}
	fmt.Fprintf(&b, " top-3 | confidence | FD (evaluator features) [95 %% CI] |\n|---|---|---|%s---|---|---|\n", strings.Repeat("---|", len(evs)))
	for i := range r.Rows {
		row := &r.Rows[i]
		self, model := "–", "–"
		if row.Self != nil {
			self = pct(*row.Self)
			model = row.Model
		}
		fmt.Fprintf(&b, "| %s | %s | %s |", row.Label(), model, self)
		for _, s := range row.Scores() {
			fmt.Fprintf(&b, " %s %s |", pct(s.Top1), pctCI(s.Top1CI))
		}
		fd := fmt.Sprintf("%.1f", row.FD)
		if row.FDCI != nil {
			fd += fmt.Sprintf(" [%.1f, %.1f]", row.FDCI.Lo, row.FDCI.Hi)
		}
		fmt.Fprintf(&b, " %s | %.2f | %s |\n", pct(row.Top3), row.Confidence, fd)
	}
	fmt.Fprintf(&b, "\nChance: top-1 %s, top-3 %s. Top-3, confidence and FD are %s's. FD is measured against %d real test images; lower is closer to real images.",
		pct(r.Chance), pct(min(1, 3*r.Chance)), evs[0], r.Reference)
	for _, e := range r.Evaluators {
		fmt.Fprintf(&b, " %s scores %s on them.", e.Name, pct(e.Accuracy))
	}
	b.WriteString("\n")
	r.writeWorst(&b)
	r.writePairs(&b)
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "Skipped: %s.\n", s)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// evaluatorNames returns the evaluators' names; a report without them (an
// old record) has one unnamed evaluator.
func (r *Report) evaluatorNames() []string {
	if len(r.Evaluators) == 0 {
		return []string{"evaluator"}
	}
	out := make([]string, len(r.Evaluators))
	for i, e := range r.Evaluators {
		out[i] = e.Name
	}
	return out
}

// writeWorst prints each model's worst case.
func (r *Report) writeWorst(b *strings.Builder) {
	if len(r.WorstCase) == 0 {
		return
	}
	fmt.Fprintf(b, "\nWorst case: the highest evaluator top-1 over every attack and evaluator.\n\n| model | worst-case top-1 [95 %% CI] | attack | evaluator |\n|---|---|---|---|\n")
	for _, w := range r.WorstCase {
		fmt.Fprintf(b, "| %s | %s %s | %s | %s |\n", w.Model, pct(w.Top1), pctCI(w.Top1CI), w.Attack, w.Evaluator)
	}
}

// writePairs prints the paired differences between models.
func (r *Report) writePairs(b *strings.Builder) {
	if len(r.Pairs) == 0 {
		return
	}
	fmt.Fprintf(b, "\nPaired differences of evaluator top-1 (same starting images and random draws; Newcombe's 95 %% interval).\n\n| attack | models | evaluator | difference [95 %% CI] |\n|---|---|---|---|\n")
	for _, p := range r.Pairs {
		fmt.Fprintf(b, "| %s | %s − %s | %s | %+.1f pp [%+.1f, %+.1f] |\n", p.Attack, p.Model, p.Against, p.Evaluator, 100*p.Diff, 100*p.CI.Lo, 100*p.CI.Hi)
	}
}

// pctCI prints an interval of rates in percent.
func pctCI(ci leakage.Interval) string { return fmt.Sprintf("[%.1f, %.1f]", 100*ci.Lo, 100*ci.Hi) }

func pct(v float64) string { return fmt.Sprintf("%.1f %%", 100*v) }

// TableFile and ReportFile are the table and the JSON record WriteDir
// writes; ReferenceDir holds the reference rows' images.
const (
	TableFile    = "table.md"
	ReportFile   = "audit.json"
	ReferenceDir = "reference"
)

// DirName turns a model name into a directory name: letters, digits, '.',
// '_' and '-' stay, runs of anything else become one '-'.
func DirName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" || out == "." || out == ".." {
		return "model"
	}
	return out
}

// WriteDir writes an audit's outputs into dir: every row's images (grid
// and one PNG per image) under <model>/<set>/ (DirName of the model) or
// ReferenceDir/<set>/, the table as TableFile, and record (the report with
// whatever the caller adds) as ReportFile. classes is the number of the
// models' classes, the rows of an attack's grid; a reference row's grid has
// the classes of its set (Run gives them the models'). It returns each
// row's grid path relative to dir, keyed "model/set" ("/set" for
// reference rows).
//
// A dir that is a file or holds another kind of artifact is refused, and
// so is a file the audit would write that the ReportFile already in dir
// does not list (an *outdir.Error). The files that ReportFile lists and
// this audit does not write are removed first, and the folders left
// empty; anything else in dir stays. A dir that does not exist or is
// empty gets the audit whole, through a temporary sibling renamed into
// place.
func (r *Report) WriteDir(dir string, classes int, names []string, record any) (map[string]string, error) {
	planned := []string{TableFile, ReportFile}
	for i := range r.Rows {
		if imgs := r.Rows[i].images(classes); imgs != nil {
			for _, f := range ImageFiles(imgs.Labels) {
				planned = append(planned, filepath.Join(r.Rows[i].dir(), f))
			}
		}
	}
	recorded, err := checkDir(dir, planned)
	if err != nil {
		return nil, err
	}
	var grids map[string]string
	err = outdir.Replace(dir, recorded, planned, func(d string) (err error) {
		grids, err = r.write(d, classes, names, record)
		return err
	})
	if err != nil {
		return nil, err
	}
	return grids, nil
}

// write writes the audit's files into dir (see WriteDir).
func (r *Report) write(dir string, classes int, names []string, record any) (map[string]string, error) {
	grids := map[string]string{}
	for i := range r.Rows {
		row := &r.Rows[i]
		imgs := row.images(classes)
		if imgs == nil {
			continue
		}
		if err := WriteImages(filepath.Join(dir, row.dir()), imgs, names); err != nil {
			return nil, err
		}
		grids[row.Model+"/"+row.Set] = filepath.Join(row.dir(), GridFile)
	}
	var tb strings.Builder
	if err := r.WriteTable(&tb); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, TableFile), []byte(tb.String())); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if record == nil {
		record = r
	}
	return grids, WriteJSON(filepath.Join(dir, ReportFile), record)
}

// dir is the row's folder relative to the audit's: <model>/<set> for an
// attack row, ReferenceDir/<set> for a reference row.
func (r *Row) dir() string {
	if r.Self != nil {
		return filepath.Join(DirName(r.Model), r.Set)
	}
	return filepath.Join(ReferenceDir, r.Set)
}

// images returns the row's images, nil when it has none.
func (r *Row) images(classes int) *imageset.Set {
	if r.Result != nil {
		return ResultImages(r.Result, classes)
	}
	return r.RefImages
}

// CheckDir refuses, before an audit of the named models with o, a dir the
// audit could not write into (see WriteDir): one that is a file or holds
// another kind of artifact, and one holding a file the audit may write
// (the table, the record, a row's grid or one of its first perClass ×
// classes images) that no ReportFile in dir lists.
func CheckDir(dir string, models []string, classes int, o Options) error {
	rows := []string{filepath.Join(ReferenceDir, "real"), filepath.Join(ReferenceDir, "noise"), filepath.Join(ReferenceDir, "synthetic")}
	for _, m := range models {
		for _, a := range o.Methods {
			rows = append(rows, filepath.Join(DirName(m), a.Name()))
		}
	}
	possible := []string{TableFile, ReportFile}
	for _, row := range rows {
		possible = append(possible, filepath.Join(row, GridFile))
		possible = append(possible, imageFiles(dir, row, o.PerClass*classes)...)
	}
	_, err := checkDir(dir, possible)
	return err
}

// checkDir refuses a dir that is a file, holds another kind of artifact,
// or holds a planned file that the ReportFile in dir does not list, and
// returns the files that ReportFile lists.
func checkDir(dir string, planned []string) ([]string, error) {
	if err := outdir.Check(dir, outdir.Audit); err != nil {
		return nil, err
	}
	recorded := recordedFiles(dir)
	return recorded, outdir.Foreign(dir, outdir.Audit, planned, recorded)
}

// recordedFiles lists the files of the audit whose ReportFile is in dir,
// relative to dir: the table, the record and every row's grid and images;
// nil when dir holds no readable ReportFile.
func recordedFiles(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		return nil
	}
	var rec struct{ Rows []Row }
	if json.Unmarshal(b, &rec) != nil {
		return nil
	}
	files := []string{TableFile, ReportFile}
	for i := range rec.Rows {
		row := &rec.Rows[i]
		if sub := row.dir(); filepath.IsLocal(sub) {
			files = append(files, filepath.Join(sub, GridFile))
			files = append(files, imageFiles(dir, sub, row.Images)...)
		}
	}
	return files
}

// imageFiles lists the files in dir's row folder sub, relative to dir,
// that WriteImages names for one of the row's first n images.
func imageFiles(dir, sub string, n int) []string {
	entries, err := os.ReadDir(filepath.Join(dir, sub, ImagesDir))
	if err != nil {
		return nil
	}
	var files []string
	for _, e := range entries {
		var i, l int
		if _, err := fmt.Sscanf(e.Name(), "%d-class%d.png", &i, &l); err == nil && i >= 0 && i < n && filepath.Join(ImagesDir, e.Name()) == imageFile(i, l) {
			files = append(files, filepath.Join(sub, imageFile(i, l)))
		}
	}
	return files
}
