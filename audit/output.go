package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/internal/atomicfile"
	"github.com/privatesnn/privatesnn/synth"
)

// GridFile is the name of the Fig. 6-style grid of an attack's images
// (one row per class) in its output directory; ImagesDir holds one PNG per
// image.
const (
	GridFile  = "grid.png"
	ImagesDir = "images"
)

// Grid returns the images as a grid with one row per class, labelled with
// the class index and name (names may be nil).
func Grid(s *Images, classes int, names []string) image.Image {
	labels := make([]int32, len(s.Labels))
	for i, l := range s.Labels {
		labels[i] = int32(l)
	}
	set := &synth.Set{Set: imageset.Set{Channels: s.C, Height: s.H, Width: s.W, Classes: classes, Labels: labels, Pixels: s.Pixels}}
	cols := 1
	count := make([]int, classes)
	for _, l := range s.Labels {
		count[l]++
		cols = max(cols, count[l])
	}
	return set.Grid(cols, names)
}

// WriteImages writes s to dir: GridFile and, under ImagesDir, one PNG per
// image named <index>-class<k>.png. Files are written atomically; dir is
// created if needed. Other files in dir are left alone.
func WriteImages(dir string, s *Images, classes int, names []string) error {
	if err := os.MkdirAll(filepath.Join(dir, ImagesDir), 0o755); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := writePNG(filepath.Join(dir, GridFile), Grid(s, classes, names)); err != nil {
		return err
	}
	per := s.C * s.H * s.W
	for i, l := range s.Labels {
		img := picture(s.Pixels[i*per:(i+1)*per], s.C, s.H, s.W)
		if err := writePNG(filepath.Join(dir, ImagesDir, fmt.Sprintf("%03d-class%d.png", i, l)), img); err != nil {
			return err
		}
	}
	return nil
}

// ResultImages returns an attack's images as an image set labelled with
// their targets.
func ResultImages(r *attack.Result) *Images {
	return &Images{Pixels: r.Pixels, Labels: r.Targets, C: r.Shape[1], H: r.Shape[2], W: r.Shape[3]}
}

// picture returns one CHW image as grey (1 channel) or RGB (3 channels;
// other counts show the first channel in grey).
func picture(px []uint8, c, h, w int) image.Image {
	if c == 3 {
		d := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				d.SetNRGBA(x, y, color.NRGBA{px[y*w+x], px[h*w+y*w+x], px[2*h*w+y*w+x], 255})
			}
		}
		return d
	}
	d := image.NewGray(image.Rect(0, 0, w, h))
	copy(d.Pix, px[:h*w])
	return d
}

func writePNG(path string, img image.Image) error {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return fmt.Errorf("audit: encode %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, b.Bytes()); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
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
// whatever the caller adds) as ReportFile. It returns each row's grid path
// relative to dir, keyed "model/set" ("/set" for reference rows).
func (r *Report) WriteDir(dir string, classes int, names []string, record any) (map[string]string, error) {
	grids := map[string]string{}
	for i := range r.Rows {
		row := &r.Rows[i]
		sub, imgs := filepath.Join(ReferenceDir, row.Set), row.RefImages
		if row.Result != nil {
			sub, imgs = filepath.Join(DirName(row.Model), row.Set), ResultImages(row.Result)
		}
		if imgs == nil {
			continue
		}
		if err := WriteImages(filepath.Join(dir, sub), imgs, classes, names); err != nil {
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
