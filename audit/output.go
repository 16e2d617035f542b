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
		if err := imageset.WritePNG(filepath.Join(dir, ImagesDir, fmt.Sprintf("%03d-class%d.png", i, l)), s.Picture(i)); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return nil
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
	var m attack.Method
	if err := m.UnmarshalText([]byte(r.Set)); err == nil {
		return fmt.Sprintf("Attack %d (%s)", int(m), m.Describe())
	}
	return r.Set
}

// WriteTable prints the report as a Markdown table: one row per attack and
// model, then the reference rows.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "| images | model | attacked model's hit rate | evaluator top-1 | top-3 | confidence | FD (evaluator features) |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|\n")
	for i := range r.Rows {
		row := &r.Rows[i]
		self, model := "–", "–"
		if row.Self != nil {
			self = pct(*row.Self)
			model = row.Model
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.2f | %.1f |\n", row.Label(), model, self,
			pct(row.Top1), pct(row.Top3), row.Confidence, row.FD)
	}
	fmt.Fprintf(&b, "\nChance: top-1 %s, top-3 %s. FD is measured against %d real test images; lower is closer to real images. The evaluator scores %s on them.\n",
		pct(r.Chance), pct(min(1, 3*r.Chance)), r.Reference, pct(r.EvaluatorAccuracy))
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "Skipped: %s.\n", s)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

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
func (r *Report) WriteDir(dir string, classes int, names []string, record any) (map[string]string, error) {
	grids := map[string]string{}
	for i := range r.Rows {
		row := &r.Rows[i]
		sub, imgs := filepath.Join(ReferenceDir, row.Set), row.RefImages
		if row.Result != nil {
			sub, imgs = filepath.Join(DirName(row.Model), row.Set), ResultImages(row.Result, classes)
		}
		if imgs == nil {
			continue
		}
		if err := WriteImages(filepath.Join(dir, sub), imgs, names); err != nil {
			return nil, err
		}
		grids[row.Model+"/"+row.Set] = filepath.Join(sub, GridFile)
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
