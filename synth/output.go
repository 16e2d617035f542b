package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
)

// File names inside an output directory.
const (
	BinaryFile   = "synth.bin"
	GridFile     = "grid.png"
	ManifestFile = "manifest.json"
	// ManifestFormat identifies the manifest written by this version.
	ManifestFormat = "privatesnn.synth/v1"
)

// GridColumns is how many images of each class the preview grid shows.
const GridColumns = 10

// Manifest is the JSON record written beside a generated set. It holds no
// timings, so the same seed and thread count give the same bytes.
type Manifest struct {
	Format               string            `json:"format"`
	Software             string            `json:"software"`
	Model                string            `json:"model"`
	ModelName            string            `json:"model_name,omitempty"`
	ClassNames           []string          `json:"class_names,omitempty"`
	TrainingDataAccessed bool              `json:"training_data_accessed"`
	Seed                 uint64            `json:"seed"`
	Iterations           int               `json:"iterations"`
	LR                   float64           `json:"lr"`
	Temperature          float64           `json:"temperature"`
	Bounded              bool              `json:"bounded"` // x = tanh(w) parametrisation
	Batch                int               `json:"batch"`
	PerClass             int               `json:"per_class"`
	Images               int               `json:"images"`
	Classes              int               `json:"classes"`
	Channels             int               `json:"channels"`
	Height               int               `json:"height"`
	Width                int               `json:"width"`
	Normalization        Normalization     `json:"normalization"`
	ZeroConcentration    string            `json:"zero_concentration"`
	Files                map[string]string `json:"files"`
	Stats                Stats             `json:"stats"`
	Similarity           [][]float64       `json:"class_similarity"`
	Concentration        [][]float64       `json:"dirichlet_concentration"`
}

// Manifest returns the manifest for r; model names the model directory the
// set was generated from, software the producing program.
func (r *Result) Manifest(model, modelName, software string, classNames []string) Manifest {
	s := r.Set
	return Manifest{
		Format: ManifestFormat, Software: software, Model: model, ModelName: modelName, ClassNames: classNames,
		TrainingDataAccessed: false, Seed: r.Options.Seed,
		Iterations: r.Options.Invert.Iterations, LR: r.Options.Invert.LR, Temperature: r.Options.Invert.Temperature,
		Bounded: r.Options.Invert.Bounded, Batch: r.Options.Invert.Batch, PerClass: r.Options.PerClass, Images: s.Len(), Classes: s.Classes,
		Channels: s.Channels, Height: s.Height, Width: s.Width, Normalization: r.Options.Normalization,
		ZeroConcentration: ZeroConcentration,
		Files: map[string]string{"binary": BinaryFile, "grid": GridFile,
			"images": "cls{class}/img{index}.png (8-bit PNG; index within the class)"},
		Stats: r.Stats, Similarity: r.Similarity, Concentration: r.Concentration,
	}
}

// WriteDir writes a generated set into dir: cls{c}/img{i}.png for every
// image (i counts within the class), the binary file, the preview grid and
// the manifest. Everything is first written into a temporary sibling
// directory which then replaces dir in one rename, so dir never holds a
// partial set. An existing dir is an error unless overwrite is set.
func WriteDir(dir string, s *Set, m Manifest, overwrite bool) (err error) {
	if err := s.Validate(); err != nil {
		return err
	}
	if _, err := os.Lstat(dir); err == nil && !overwrite {
		return fmt.Errorf("synth: %s already exists", dir)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	counts := make([]int, s.Classes)
	for i, c := range s.Labels {
		cd := filepath.Join(tmp, "cls"+strconv.Itoa(c))
		if counts[c] == 0 {
			if err := os.Mkdir(cd, 0o755); err != nil {
				return fmt.Errorf("synth: %w", err)
			}
		}
		if err := writePNG(filepath.Join(cd, "img"+strconv.Itoa(counts[c])+".png"), s.picture(i)); err != nil {
			return err
		}
		counts[c]++
	}
	var bin bytes.Buffer
	if err := s.WriteBinary(&bin); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, BinaryFile), bin.Bytes(), 0o644); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if err := writePNG(filepath.Join(tmp, GridFile), s.Grid(GridColumns)); err != nil {
		return err
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("synth: manifest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ManifestFile), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return replaceDir(tmp, dir)
}

// replaceDir renames tmp to dir, moving an existing dir aside first and
// deleting it afterwards.
func replaceDir(tmp, dir string) error {
	if _, err := os.Lstat(dir); err != nil {
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
		return nil
	}
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil {
		return fmt.Errorf("synth: moving the existing %s aside: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.Rename(old, dir) // best effort: put the old output back
		return fmt.Errorf("synth: %w", err)
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("synth: removing the previous output %s: %w", old, err)
	}
	return nil
}

func writePNG(path string, img image.Image) error {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return fmt.Errorf("synth: encoding %s: %w", path, err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}

// picture returns image i as an 8-bit grey (1 channel) or RGB image; for
// other channel counts it shows the first channel in grey.
func (s *Set) picture(i int) image.Image {
	return s.drawInto(nil, i, 0, 0)
}

// drawInto draws image i into dst at (x0, y0), allocating dst when nil.
func (s *Set) drawInto(dst image.Image, i, x0, y0 int) image.Image {
	h, w := s.Height, s.Width
	px := s.Image(i)
	if s.Channels == 3 {
		d, _ := dst.(*image.NRGBA)
		if d == nil {
			d = image.NewNRGBA(image.Rect(0, 0, w, h))
		}
		for y := range h {
			for x := range w {
				d.SetNRGBA(x0+x, y0+y, color.NRGBA{px[y*w+x], px[h*w+y*w+x], px[2*h*w+y*w+x], 255})
			}
		}
		return d
	}
	d, _ := dst.(*image.Gray)
	if d == nil {
		d = image.NewGray(image.Rect(0, 0, w, h))
	}
	for y := range h {
		for x := range w {
			d.SetGray(x0+x, y0+y, color.Gray{px[y*w+x]})
		}
	}
	return d
}

// gridGap is the spacing in pixels between grid cells (white).
const gridGap = 2

// Grid returns a preview image with one row per class and the first cols
// images of that class (like the paper's Fig. 2). Cells without an image
// stay white.
func (s *Set) Grid(cols int) image.Image {
	cols = max(1, cols)
	W := cols*(s.Width+gridGap) + gridGap
	H := s.Classes*(s.Height+gridGap) + gridGap
	var img image.Image
	if s.Channels == 3 {
		d := image.NewNRGBA(image.Rect(0, 0, W, H))
		for i := range d.Pix {
			d.Pix[i] = 255
		}
		img = d
	} else {
		d := image.NewGray(image.Rect(0, 0, W, H))
		for i := range d.Pix {
			d.Pix[i] = 255
		}
		img = d
	}
	shown := make([]int, s.Classes)
	for i, c := range s.Labels {
		if shown[c] >= cols {
			continue
		}
		s.drawInto(img, i, gridGap+shown[c]*(s.Width+gridGap), gridGap+c*(s.Height+gridGap))
		shown[c]++
	}
	return img
}
