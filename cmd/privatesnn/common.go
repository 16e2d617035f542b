package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/privatesnn/privatesnn/convert"
	"github.com/privatesnn/privatesnn/data"
	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/modelfile"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/setting"
	"github.com/privatesnn/privatesnn/stage"
)

// dataFlags registers --data (default def; "" means the model's own data
// set), --data-dir and --limit into spec.
func dataFlags(fs *flag.FlagSet, b *bounds, spec *data.Spec, def data.Dataset) {
	usage := "data set: " + data.DatasetNames()
	if def == "" {
		usage += " (default: the one named in the model's card)"
	}
	fs.TextVar(&spec.Name, "data", def, usage)
	fs.StringVar(&spec.Dir, "data-dir", "", "directory holding the data set files (default: its standard place)")
	b.Int(fs, &spec.Limit, "limit", 0, 0, math.MaxInt32, "use only the first N images of each split (0 = all)")
}

// loadData loads a split of the data set, named by spec or, when spec
// names none, by the model's card; an image folder's directory defaults to
// the one the card records.
func loadData(spec data.Spec, split string, m *stage.Model) (*data.Set, error) {
	if spec.Name == "" && m != nil {
		spec.Name = data.Dataset(m.Dataset())
		if spec.Name == "" {
			return nil, usagef("%s does not name its data set; pass --data", m.Path)
		}
	}
	if spec.Name == data.Folder && spec.Dir == "" {
		if spec.Dir = m.DataFolder(); spec.Dir == "" {
			return nil, usagef("--data folder needs --data-dir, the image folder's directory")
		}
	}
	if err := spec.Validate(); err != nil {
		return nil, usagef("--data %q: want one of %s", spec.Name, data.DatasetNames())
	}
	return spec.Load(split)
}

// setThreads applies --threads to the Go scheduler and the BLAS pool.
func setThreads(n int) error {
	if n < 0 || n > maxThreads {
		return usagef("--threads %d out of range [0, %d]", n, maxThreads)
	}
	if n == 0 {
		n = runtime.NumCPU()
	}
	runtime.GOMAXPROCS(n)
	gemm.SetThreads(n)
	return nil
}

// maxThreads bounds --threads.
const maxThreads = 1024

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

// output holds the --json, --quiet and --threads flags that the
// long-running commands share.
type output struct {
	json, quiet bool
	threads     int
}

func (o *output) register(fs *flag.FlagSet) {
	fs.BoolVar(&o.json, "json", false, "print the result as one JSON object")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress on stderr")
	fs.IntVar(&o.threads, "threads", 0, "threads to use (0: all cores)")
}

// plural returns "n word" or "n words".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// loadModel loads the model at path for the flag --role and checks its
// kind (modelfile.KindANN, KindSNN, or "" for either).
func loadModel(path string, role stage.Role, kind modelfile.Kind) (*stage.Model, error) {
	m, err := stage.LoadModel(path, role, kind)
	return m, userError(err)
}

// loadSynth loads the synthetic set of --synth.
func loadSynth(path string) (*stage.Synthetic, error) {
	s, err := stage.LoadSynthetic(path)
	return s, userError(err)
}

// checkOut refuses an --out that is, holds or lies inside an input, and
// one that already holds what the command writes (the file named by
// marker) unless force.
func checkOut(out, marker, what string, force bool, inputs ...string) error {
	if err := stage.CheckOut(out, inputs...); err != nil {
		return userError(err)
	}
	if !force && exists(out, marker) {
		return fmt.Errorf("%s already holds %s; pass --force to replace it, or choose another --out", out, what)
	}
	return nil
}

// userError words an error of a library in the command's terms: an input
// or a setting the user gave that does not fit is a usage error (exit
// status 2) naming its flag ("--" and the input's role).
func userError(err error) error {
	var in *stage.InputError
	var pin *convert.PinnedError
	var other *stage.OtherDataError
	var out *stage.OutError
	var dir *stage.DirError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &other):
		errors.As(err, &in)
		return usagef("%s was trained on %s; --data %s holds other classes%s", other.Model, other.Trained, in.Path, map[bool]string{true: " (" + other.Have + ")"}[other.Have != ""])
	case errors.As(err, &in):
		flag := "--" + string(in.Role)
		if errors.Is(err, modelfile.ErrInterrupted) {
			return fmt.Errorf("%s: %w; continue it with 'privatesnn %s --resume --out %s' and its other flags", flag, in.Err,
				map[modelfile.Kind]string{modelfile.KindANN: "train", modelfile.KindSNN: "encrypt"}[stage.CheckpointKind(in.Path)], in.Path)
		}
		if errors.Is(err, modelfile.ErrNoCard) {
			return usagef("%s %v; make it a model directory with 'privatesnn import --weights FILE --out DIR'", flag, in.Err)
		}
		if in.Describes() {
			return usagef("%s %s", flag, in.Error())
		}
		return fmt.Errorf("%s: %w", flag, in.Err)
	case errors.As(err, &pin):
		return usagef("--recipe paper fixes its settings (maximum current, zero initial membrane, Poisson input); %s needs --recipe select", flagName(pin.Key))
	case errors.As(err, &out):
		return usagef("--out %s; choose another --out", out.Error())
	case errors.As(err, &dir):
		return usagef("--out %s; choose another --out", dir.Error())
	}
	if s, ok := setting.As(err); ok {
		if s.Value == "" {
			return usagef("%s: %s", flagName(s.Key), s.Reason)
		}
		return usagef("%s %s: %s", flagName(s.Key), s.Value, s.Reason)
	}
	if setting.IsUser(err) {
		return usagef("%v", err)
	}
	return err
}

// flagName returns the flag of a setting's configuration key.
func flagName(key string) string { return "--" + strings.ReplaceAll(key, "_", "-") }

// runStage runs a stage with its progress on stderr and prints its result
// on stdout: one JSON object with --json, else text. words maps the
// stage's errors to the command's (nil: userError).
func runStage[J, R any](ctx context.Context, o output, stdout, stderr io.Writer, f func(context.Context, J, progress.Func) (R, error), job J,
	text func(R, io.Writer) error, words func(error, *display) error) error {
	pr := newProgress(stderr, o.quiet)
	res, err := f(ctx, job, pr.reporter())
	pr.clear()
	if err != nil {
		if words != nil {
			return words(err, pr)
		}
		return userError(err)
	}
	if o.json {
		return writeJSON(stdout, res)
	}
	return text(res, stdout)
}

// ready checks the flags' ranges and the required flags (pairs of a flag
// and its value), and applies --threads.
func ready(b *bounds, threads int, required ...string) error {
	if err := b.check(); err != nil {
		return err
	}
	var names []string
	missing := false
	for i := 0; i+1 < len(required); i += 2 {
		names = append(names, required[i])
		missing = missing || required[i+1] == ""
	}
	switch {
	case !missing:
		return setThreads(threads)
	case len(names) == 1:
		return usagef("%s is required", names[0])
	}
	return usagef("%s and %s are required", strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
}
