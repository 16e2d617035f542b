package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/synth"
	"github.com/privatesnn/privatesnn/vgg"
)

// dataFlags selects a data set.
type dataFlags struct {
	name  data.Dataset
	dir   string
	limit int
}

// register adds --data (default def; "" means the model's own data set),
// --data-dir and --limit.
func (d *dataFlags) register(fs *flag.FlagSet, b *bounds, def data.Dataset) {
	usage := "data set: " + data.DatasetNames()
	if def == "" {
		usage += " (default: the one named in the model's card)"
	}
	fs.TextVar(&d.name, "data", def, usage)
	fs.StringVar(&d.dir, "data-dir", "", "directory holding the data set files (default: its standard place)")
	b.Int(fs, &d.limit, "limit", 0, 0, math.MaxInt32, "use only the first N images of each split (0 = all)")
}

// validate checks --data (after flag parsing, before any work): a name
// taken from a model card is checked here, one given on the command line
// was checked by the flag.
func (d *dataFlags) validate() error {
	if d.name != "" && !slices.Contains(data.Datasets, d.name) {
		return fmt.Errorf("%w: --data %q: want one of %s", errUsage, d.name, data.DatasetNames())
	}
	return nil
}

func (d *dataFlags) load(split string) (*data.Set, error) {
	s, err := data.Load(d.name, split, d.dir)
	if err != nil {
		return nil, err
	}
	if d.limit > 0 && d.limit < s.Len() {
		s = s.Subset(firstN(d.limit))
	}
	return s, nil
}

// domain names the data set whose classes a --data value holds: the
// embedded set is a Fashion-MNIST subset.
func domain(name string) string {
	if name == string(data.Embedded) {
		return string(data.FashionMNIST)
	}
	return name
}

// cardData returns the --data name of the set the model was trained on
// (for an SNN: its ANN's), from the card or, for cards of earlier versions,
// from the training set's name.
func cardData(c *modelfile.Card) string {
	if c.Data != "" {
		return c.Data
	}
	if c.Kind == modelfile.KindANN {
		name, _, _ := strings.Cut(c.Provenance.Dataset, "/")
		return name
	}
	return ""
}

// defaultData fills an unset --data from the model's card.
func (d *dataFlags) defaultData(c *modelfile.Card, model string) error {
	if d.name != "" {
		return nil
	}
	d.name = data.Dataset(cardData(c))
	if d.name == "" && c.Provenance.Parent != nil {
		// An SNN card of an earlier version: ask its ANN.
		if p, err := c.Provenance.Parent.Resolve(model); err == nil {
			if pc, err := modelfile.ReadCard(p); err == nil {
				d.name = data.Dataset(cardData(pc))
			}
		}
	}
	if d.name == "" {
		return fmt.Errorf("%w: %s does not name its data set; pass --data", errUsage, model)
	}
	return d.validate()
}

// checkData verifies, before any work, that the data set fits the model:
// image shape, class count and (unless either is an image folder) the data
// set named in the card.
func checkData(s *data.Set, m *vgg.Model, c *modelfile.Card, model string) error {
	mc := m.Config
	if s.Channels != mc.InChannels || s.Height != mc.InHeight || s.Width != mc.InWidth {
		return fmt.Errorf("%w: %s has %d×%d×%d images, %s expects %d×%d×%d", errUsage, s.Name, s.Channels, s.Height, s.Width,
			model, mc.InChannels, mc.InHeight, mc.InWidth)
	}
	if s.Classes != mc.Classes {
		return fmt.Errorf("%w: %s has %d classes, %s predicts %d", errUsage, s.Name, s.Classes, model, mc.Classes)
	}
	name, _, _ := strings.Cut(s.Name, "/")
	have, want := domain(name), domain(cardData(c))
	if folder := string(data.Folder); want != "" && have != want && have != folder && want != folder {
		return fmt.Errorf("%w: %s was trained on %s; --data %s holds other classes", errUsage, model, want, name)
	}
	return nil
}

// setThreads applies --threads to the Go scheduler and the BLAS pool.
func setThreads(n int) error {
	if n < 0 || n > maxThreads {
		return fmt.Errorf("%w: --threads %d out of range [0, %d]", errUsage, n, maxThreads)
	}
	if n == 0 {
		n = runtime.NumCPU()
	}
	runtime.GOMAXPROCS(n)
	gemm.SetThreads(n)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// version returns the module version of this binary.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return "privatesnn " + bi.Main.Version
	}
	return "privatesnn (devel)"
}

// maxThreads bounds --threads.
const maxThreads = 1024

// outputFlags registers the --json, --quiet and --threads flags that the
// long-running commands share.
func outputFlags(fs *flag.FlagSet, jsonOut, quiet *bool, threads *int) {
	fs.BoolVar(jsonOut, "json", false, "print the result as one JSON object")
	fs.BoolVar(quiet, "quiet", false, "no progress on stderr")
	fs.IntVar(threads, "threads", 0, "threads to use (0: all cores)")
}

// bounds registers numeric flags with their allowed ranges and checks them
// after parsing, so every range error names the flag and its range.
type bounds struct{ checks []func() error }

// Int registers an int flag that must lie in [lo, hi].
func (b *bounds) Int(fs *flag.FlagSet, p *int, name string, def, lo, hi int, usage string) {
	fs.IntVar(p, name, def, usage)
	b.checks = append(b.checks, func() error {
		if *p < lo || *p > hi {
			if hi == math.MaxInt32 {
				return fmt.Errorf("%w: --%s %d out of range: want at least %d", errUsage, name, *p, lo)
			}
			return fmt.Errorf("%w: --%s %d out of range [%d, %d]", errUsage, name, *p, lo, hi)
		}
		return nil
	})
}

// Float registers a float flag that must lie in the interval iv.
func (b *bounds) Float(fs *flag.FlagSet, p *float64, name string, def float64, iv interval, usage string) {
	fs.Float64Var(p, name, def, usage)
	b.checks = append(b.checks, func() error {
		if !iv.contains(*p) {
			return fmt.Errorf("%w: --%s %g out of range %s", errUsage, name, *p, iv)
		}
		return nil
	})
}

// check returns the first range error.
func (b *bounds) check() error {
	for _, c := range b.checks {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}

// interval is a real interval; open ends exclude their bound.
type interval struct {
	lo, hi         float64
	loOpen, hiOpen bool
}

func (iv interval) contains(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	return (v > iv.lo || !iv.loOpen && v == iv.lo) && (v < iv.hi || !iv.hiOpen && v == iv.hi)
}

func (iv interval) String() string {
	l, r := "[", "]"
	if iv.loOpen {
		l = "("
	}
	if iv.hiOpen {
		r = ")"
	}
	return fmt.Sprintf("%s%g, %g%s", l, iv.lo, iv.hi, r)
}

// plural returns "n word" or "n words".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// checkOutput refuses an --out that is, or lies inside or contains, one of
// the command's inputs: replacing it could destroy what the command reads.
func checkOutput(out string, inputs ...string) error {
	o, err := canonical(out)
	if err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	for _, in := range inputs {
		if in == "" {
			continue
		}
		i, err := canonical(in)
		if err != nil {
			continue // a missing input fails later with its own error
		}
		if o == i || within(i, o) {
			return fmt.Errorf("%w: --out %s would hold the input %s; choose another --out", errUsage, out, in)
		}
		if within(o, i) {
			return fmt.Errorf("%w: --out %s is inside the input %s; choose another --out", errUsage, out, in)
		}
	}
	return nil
}

// canonical returns p as an absolute path with symbolic links resolved as
// far as p exists.
func canonical(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rest := ""
	for dir := abs; ; dir = filepath.Dir(dir) {
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(r, rest), nil
		}
		if filepath.Dir(dir) == dir {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}

// within reports whether path p lies strictly inside dir.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// loadModel reads the model at path for the flag named by role and checks
// its kind (modelfile.KindANN or KindSNN), with errors that say what the
// path holds instead.
func loadModel(path, role string, kind modelfile.Kind) (*vgg.Model, *modelfile.Card, error) {
	if _, err := os.Stat(filepath.Join(path, synth.ManifestFile)); err == nil {
		return nil, nil, fmt.Errorf("%w: --%s %s holds a synthetic image set, not a model", errUsage, role, path)
	}
	c, err := modelfile.ReadCard(path)
	if errors.Is(err, modelfile.ErrInterrupted) {
		return nil, nil, fmt.Errorf("--%s: %w; continue it with 'privatesnn %s --resume --out %s' and its other flags", role, err, interruptedCommand(path), path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--%s: %w", role, err)
	}
	if kind != "" && c.Kind != kind {
		return nil, nil, fmt.Errorf("%w: --%s %s is %s, want %s", errUsage, role, path, kindName(c.Kind), kindName(kind))
	}
	m, c, err := modelfile.Load(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--%s: %w", role, err)
	}
	return m, c, nil
}

func kindName(k modelfile.Kind) string {
	switch k {
	case modelfile.KindANN:
		return "an ANN"
	case modelfile.KindSNN:
		return "a spiking network (SNN)"
	}
	return string(k)
}

// interruptedCommand names the command whose interrupted run the
// checkpoint in dir holds: encrypt trains spiking networks, train ANNs.
func interruptedCommand(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, modelfile.CheckpointState))
	if err != nil {
		return "train"
	}
	var ck struct {
		Card struct {
			Kind modelfile.Kind `json:"kind"`
		} `json:"card"`
	}
	if json.Unmarshal(b, &ck) == nil && ck.Card.Kind == modelfile.KindSNN {
		return "encrypt"
	}
	return "train"
}
