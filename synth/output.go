package synth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/internal/atomicfile"
	"github.com/privatesnn/privatesnn/internal/outdir"
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
	Format   string `json:"format"`
	Software string `json:"software"`
	Model    string `json:"model"`
	// ModelSHA256 is the digest of the model's weights file, so a consumer
	// can check that it pairs the set with the model that made it.
	ModelSHA256          string                 `json:"model_weights_sha256,omitempty"`
	ModelName            string                 `json:"model_name,omitempty"`
	ClassNames           []string               `json:"class_names,omitempty"`
	TrainingDataAccessed bool                   `json:"training_data_accessed"`
	Seed                 uint64                 `json:"seed"`
	Iterations           int                    `json:"iterations"`
	LR                   float64                `json:"lr"`
	Temperature          float64                `json:"temperature"`
	Bounded              bool                   `json:"bounded"` // x = tanh(w) parametrisation
	Batch                int                    `json:"batch"`
	PerClass             int                    `json:"per_class"`
	Images               int                    `json:"images"`
	Classes              int                    `json:"classes"`
	Channels             int                    `json:"channels"`
	Height               int                    `json:"height"`
	Width                int                    `json:"width"`
	Normalization        imageset.Normalization `json:"normalization"`
	ZeroConcentration    string                 `json:"zero_concentration"`
	Files                map[string]string      `json:"files"`
	Stats                Stats                  `json:"stats"`
	Similarity           [][]float64            `json:"class_similarity"`
	Concentration        [][]float64            `json:"dirichlet_concentration"`
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
// the manifest.
//
// The set is written as a temporary sibling and renamed into place when
// dir does not exist or is empty, so dir never holds a partial set. dir
// is refused (CheckDir) when it holds another kind of artifact, and an
// existing dir unless overwrite is set; then only this package's own
// files are replaced: the files of the set that dir's manifest describes,
// and the files of the new set, none of which may exist unless that
// manifest lists it. Anything else in dir stays. The manifest is removed
// first and written last, so an interrupted overwrite leaves a directory
// that Load and ReadManifest reject rather than a mixed set.
func WriteDir(dir string, s *Set, m Manifest, overwrite bool) (err error) {
	if err := s.Validate(); err != nil {
		return err
	}
	files := ownFiles(s.Labels, s.Classes)
	if err := checkDir(dir, files, overwrite); err != nil {
		return err
	}
	tmp, err := outdir.Temp(dir)
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	defer os.RemoveAll(tmp) // empty after a successful move
	if err := writeSet(tmp, s, m); err != nil {
		return err
	}
	if outdir.Empty(dir) {
		if err := outdir.Install(tmp, dir); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
		return nil
	}
	return replaceOwnFiles(tmp, dir, files)
}

// CheckDir refuses, before a set of perClass images in each of classes
// classes is generated for dir, what WriteDir would refuse: a dir that is
// a file or holds another kind of artifact (an *outdir.Error), an existing
// dir unless overwrite, and one holding a file the set would write that
// its manifest does not list (an *outdir.Error).
func CheckDir(dir string, classes, perClass int, overwrite bool) error {
	if classes < 1 || classes > MaxClasses || perClass < 1 || perClass > MaxImages/classes {
		return fmt.Errorf("synth: %d classes × %d images out of range", classes, perClass)
	}
	m := Manifest{Classes: classes, PerClass: perClass}
	return checkDir(dir, ownFiles(m.folderLabels(), classes), overwrite)
}

// checkDir refuses a dir WriteDir must not write the files into.
func checkDir(dir string, files []string, overwrite bool) error {
	if err := outdir.Check(dir, outdir.Synthetic); err != nil {
		return err
	}
	if _, err := os.Lstat(dir); err != nil {
		return nil
	}
	if !overwrite {
		return fmt.Errorf("synth: %s already exists", dir)
	}
	var recorded []string
	if om, err := ReadManifest(dir); err == nil {
		recorded = ownFiles(om.folderLabels(), om.Classes)
	}
	return outdir.Foreign(dir, outdir.Synthetic, files, recorded)
}

// writeSet writes the set's files into dir, the manifest last.
func writeSet(dir string, s *Set, m Manifest) error {
	if err := s.WriteClassFolders(dir, imageset.ClassIndex); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	var bin bytes.Buffer
	if err := s.WriteBinary(&bin); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, BinaryFile), bin.Bytes()); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if err := imageset.WritePNG(filepath.Join(dir, GridFile), s.Grid(GridColumns, m.ClassNames)); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("synth: manifest: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ManifestFile), append(js, '\n')); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}

// ownFiles lists, relative to the set's directory, the files WriteDir
// writes for a set with these labels, the manifest last.
func ownFiles(labels []int32, classes int) []string {
	counts := make([]int, classes)
	var files []string
	for _, c := range labels {
		files = append(files, imageset.ClassFolderFile(int(c), counts[c]))
		counts[c]++
	}
	return append(files, BinaryFile, GridFile, ManifestFile)
}

// replaceOwnFiles moves the new set's files from tmp into the existing dir.
// It first removes dir's manifest and the files of the set that manifest
// described (and then any class folder left empty), never other files.
func replaceOwnFiles(tmp, dir string, files []string) error {
	var old []string
	if om, err := ReadManifest(dir); err == nil {
		old = ownFiles(om.folderLabels(), om.Classes)
	}
	if err := removeIfExists(filepath.Join(dir, ManifestFile)); err != nil {
		return err
	}
	for _, f := range old {
		if err := removeIfExists(filepath.Join(dir, f)); err != nil {
			return err
		}
	}
	for _, f := range files {
		dst := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
		if err := os.Rename(filepath.Join(tmp, f), dst); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
	}
	for _, f := range old {
		if d := filepath.Dir(f); d != "." {
			os.Remove(filepath.Join(dir, d)) // only succeeds when empty
		}
	}
	return nil
}

func removeIfExists(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}

// folderLabels returns the class of every image of the set the manifest
// describes, class-major as Generate orders them.
func (m *Manifest) folderLabels() []int32 {
	var l []int32
	if m.Classes < 1 || m.Classes > MaxClasses || m.PerClass < 1 || m.PerClass > MaxImages/m.Classes {
		return nil
	}
	for c := range int32(m.Classes) {
		for range m.PerClass {
			l = append(l, c)
		}
	}
	return l
}

// maxManifestBytes bounds the manifest read from disk.
const maxManifestBytes = 16 << 20

// ReadManifest reads the manifest of the set in dir (or the manifest file
// itself).
func ReadManifest(path string) (*Manifest, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, ManifestFile)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	m, err := DecodeManifest(b)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return m, nil
}

// DecodeManifest parses and checks manifest JSON.
func DecodeManifest(b []byte) (*Manifest, error) {
	if len(b) > maxManifestBytes {
		return nil, fmt.Errorf("manifest larger than %d bytes", maxManifestBytes)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("manifest format %q, want %q", m.Format, ManifestFormat)
	}
	if m.Classes < 1 || m.Classes > MaxClasses || m.Images < 0 || m.Images > MaxImages {
		return nil, fmt.Errorf("manifest: %d classes, %d images out of range", m.Classes, m.Images)
	}
	return &m, nil
}
