package privatesnn

import (
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/privatesnn/privatesnn"

// allowed lists, for every package of the module, the module packages it may
// import directly. A package missing from the table fails the test, so new
// packages must state their place in the layering. Packages that must stay
// data-free (no path to package data) are checked separately.
var allowed = map[string][]string{
	"":                          nil,
	"tensor":                    nil,
	"imageset":                  {"internal/atomicfile", "tensor"},
	"internal/gemm":             nil,
	"internal/dnnl":             nil,
	"internal/parallel":         nil,
	"internal/atomicfile":       nil,
	"internal/stagelock":        nil,
	"internal/outdir":           nil,
	"internal/race":             nil,
	"progress":                  nil,
	"setting":                   nil,
	"progress/progresstest":     {"progress"},
	"fit":                       {"progress"},
	"safetensors":               {"internal/atomicfile"},
	"hdf5":                      {"internal/atomicfile"},
	"nir":                       {"hdf5", "imageset", "snn", "vgg"},
	"data":                      {"imageset", "internal/atomicfile"},
	"nn":                        {"tensor", "internal/gemm", "internal/dnnl", "internal/parallel"},
	"loss":                      {"tensor"},
	"optim":                     {"nn", "tensor"},
	"vgg":                       {"nn", "tensor"},
	"modelfile":                 {"convert", "imageset", "internal/atomicfile", "internal/outdir", "safetensors", "snn", "tensor", "vgg"},
	"train":                     {"fit", "imageset", "loss", "nn", "optim", "progress", "tensor", "vgg"},
	"internal/workload":         {"internal/gemm", "loss", "nn", "optim", "progress", "snn", "tensor", "vgg"},
	"snn":                       {"internal/gemm", "internal/parallel", "nn", "progress", "tensor", "vgg"},
	"energy":                    {"snn", "vgg"},
	"convert":                   {"imageset", "nn", "progress", "setting", "snn", "tensor", "vgg"},
	"qcfs":                      {"convert", "fit", "imageset", "loss", "nn", "optim", "progress", "setting", "tensor", "vgg"},
	"encrypt":                   {"fit", "imageset", "loss", "nn", "optim", "progress", "setting", "snn", "tensor", "vgg"},
	"invert":                    {"loss", "nn", "optim", "progress", "tensor"},
	"synth":                     {"imageset", "internal/atomicfile", "internal/outdir", "invert", "loss", "nn", "progress", "tensor", "vgg"},
	"attack":                    {"imageset", "invert", "loss", "nn", "optim", "progress", "snn", "tensor", "vgg"},
	"leakage":                   {"tensor"},
	"audit":                     {"attack", "imageset", "internal/atomicfile", "internal/outdir", "leakage", "nn", "progress", "snn", "tensor", "vgg"},
	"stage":                     {"attack", "audit", "convert", "encrypt", "energy", "fit", "imageset", "internal/gemm", "internal/outdir", "leakage", "modelfile", "nir", "progress", "qcfs", "setting", "snn", "synth", "tensor", "train", "vgg"},
	"pipeline":                  {"audit", "convert", "data", "energy", "imageset", "internal/atomicfile", "internal/gemm", "internal/stagelock", "leakage", "modelfile", "progress", "qcfs", "report", "snn", "stage", "synth", "vgg"},
	"report":                    {"internal/atomicfile"},
	"cmd/privatesnn":            {"*"},
	"data/internal/genembedded": {"data"},
}

// dataFree lists packages that must not reach package data through any
// import path: the model side of the pipeline never reads a real data set.
var dataFree = []string{"progress", "progress/progresstest", "fit", "setting", "tensor", "imageset", "nn", "loss", "optim", "vgg", "safetensors", "hdf5", "nir", "modelfile", "snn", "invert", "synth", "convert", "qcfs", "energy", "encrypt", "train", "attack", "leakage", "audit", "report", "stage"}

func packages(t *testing.T) map[string][]string {
	t.Helper()
	imports := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "scratch") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			return err
		}
		rel := filepath.ToSlash(path)
		if rel == "." {
			rel = ""
		}
		var deps []string
		for _, imp := range pkg.Imports {
			if imp == module {
				deps = append(deps, "")
			} else if p, ok := strings.CutPrefix(imp, module+"/"); ok {
				deps = append(deps, p)
			}
		}
		imports[rel] = deps
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return imports
}

func TestImportLayering(t *testing.T) {
	for pkg, deps := range packages(t) {
		ok, known := allowed[pkg]
		if !known {
			t.Errorf("package %q is not in the layering table of layering_test.go", pkg)
			continue
		}
		if len(ok) == 1 && ok[0] == "*" {
			continue
		}
		for _, d := range deps {
			if !contains(ok, d) {
				t.Errorf("package %q imports %q, which the layering forbids (allowed: %v)", pkg, d, ok)
			}
			if strings.HasPrefix(d, "cmd/") {
				t.Errorf("package %q imports a command", pkg)
			}
		}
	}
}

func TestDataFreePackages(t *testing.T) {
	imports := packages(t)
	for _, root := range dataFree {
		seen := map[string]string{root: ""}
		queue := []string{root}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			for _, d := range imports[p] {
				if _, ok := seen[d]; ok {
					continue
				}
				seen[d] = p
				queue = append(queue, d)
			}
		}
		if via, ok := seen["data"]; ok {
			var path []string
			for p := "data"; p != root; p = seen[p] {
				path = append(path, p)
			}
			path = append(path, root)
			t.Errorf("%s reaches package data (via %s): %v", root, via, path)
		}
	}
}

// algorithms are the packages that implement the paper's steps on values
// in memory. They read and write no artifacts: loading models and
// synthetic sets, and writing model directories, is the stage layer's.
var algorithms = []string{"train", "fit", "synth", "invert", "convert", "encrypt", "attack", "audit", "leakage", "energy", "snn"}

func TestAlgorithmsHoldNoArtifacts(t *testing.T) {
	imports := packages(t)
	for _, p := range algorithms {
		for _, d := range imports[p] {
			if d == "modelfile" || d == "synth" && p != "synth" || d == "stage" || d == "pipeline" {
				t.Errorf("algorithm package %q imports %q", p, d)
			}
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
