package modelfile

import (
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/safetensors"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

var update = flag.Bool("update", false, "rewrite the Go-written interop files in testdata/torch")

// interopTol: logits of a 15-layer float32 network computed by different
// kernels agree to ~1e-6 relative; the bound is 1e-4 of the largest
// logit magnitude.
const interopTol = 1e-4

// sidecar is the architecture description scripts/vgg_interop.py writes.
type sidecar struct {
	Cfg               []vgg.Item `json:"cfg"`
	InputSize         [3]int     `json:"input_size"`
	Hidden            int        `json:"hidden"`
	Classes           int        `json:"classes"`
	ClassifierDropout float64    `json:"classifier_dropout"`
}

func torchConfig(t *testing.T, path string) vgg.Config {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s sidecar
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return vgg.Config{Name: "vgg16-narrow", Features: s.Cfg, Hidden: []int{s.Hidden}, Classes: s.Classes,
		InChannels: s.InputSize[0], InHeight: s.InputSize[1], InWidth: s.InputSize[2], FCDropout: s.ClassifierDropout}
}

func logitsOf(t *testing.T, m *vgg.Model, io *safetensors.File) (*tensor.Tensor, *tensor.Tensor) {
	t.Helper()
	xs, ok := io.Get("x")
	if !ok {
		t.Fatal("io file lacks x")
	}
	x := tensor.FromData(xs.Data, xs.Shape...)
	return m.Forward(x, nn.Mode{}).Clone(), x
}

func assertLogits(t *testing.T, got *tensor.Tensor, want *safetensors.Tensor) {
	t.Helper()
	w := tensor.FromData(want.Data, want.Shape...)
	scale := float64(w.MaxAbs())
	for i := range w.Data {
		if d := math.Abs(float64(got.Data[i] - w.Data[i])); d > interopTol*scale {
			t.Fatalf("logit %d: %g, PyTorch %g (|diff| %g > %g)", i, got.Data[i], w.Data[i], d, interopTol*scale)
		}
	}
}

// TestImportPyTorchVGG16 loads the VGG16 (channels/4) that PyTorch wrote
// with scripts/vgg_interop.py and reproduces PyTorch's eval logits.
func TestImportPyTorchVGG16(t *testing.T) {
	const dir = "../testdata/torch"
	m, err := vgg.New(torchConfig(t, filepath.Join(dir, "vgg16_narrow.json")), rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.ReadFile(filepath.Join(dir, "vgg16_narrow.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if err := LoadWeights(m, f); err != nil {
		t.Fatal(err)
	}
	io, err := safetensors.ReadFile(filepath.Join(dir, "vgg16_narrow_io.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := logitsOf(t, m, io)
	want, _ := io.Get("logits")
	assertLogits(t, got, want)
}

// TestGoWrittenVGG16 checks the files Go wrote for PyTorch
// (testdata/torch/vgg16_narrow_go*.safetensors; `scripts/vgg_interop.py
// check` loads them in PyTorch, log in vgg16_narrow_go.check.txt): they must
// be exactly what this code writes now, and their logits ours.
func TestGoWrittenVGG16(t *testing.T) {
	const dir = "../testdata/torch"
	cfg := torchConfig(t, filepath.Join(dir, "vgg16_narrow.json"))
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(2026, 11))) // Go's own initialisation
	if err != nil {
		t.Fatal(err)
	}
	ptIO, err := safetensors.ReadFile(filepath.Join(dir, "vgg16_narrow_io.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	logits, x := logitsOf(t, m, ptIO)
	wPath, ioPath := filepath.Join(dir, "vgg16_narrow_go.safetensors"), filepath.Join(dir, "vgg16_narrow_go_io.safetensors")
	weights := weightsFile(m, map[string]string{"format": Format, "writer": "privatesnn modelfile test"})
	io := &safetensors.File{Metadata: map[string]string{"writer": "privatesnn modelfile test"}, Tensors: []safetensors.Tensor{{Name: "x", Shape: x.Shape, Data: x.Data},
		{Name: "logits", Shape: logits.Shape, Data: logits.Data}}}
	if *update {
		if err := safetensors.WriteFile(wPath, weights); err != nil {
			t.Fatal(err)
		}
		if err := safetensors.WriteFile(ioPath, io); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "vgg16_narrow.json"))
		os.WriteFile(filepath.Join(dir, "vgg16_narrow_go.json"), b, 0o644)
	}
	// The weights file must be exactly what this code writes.
	var want strings.Builder
	if err := safetensors.Encode(&want, weights); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(wPath)
	if err != nil {
		t.Fatalf("%v (run go test ./modelfile -run GoWritten -update, then scripts/vgg_interop.py check)", err)
	}
	if string(got) != want.String() {
		t.Fatalf("%s is not what this code writes; regenerate with -update and re-run the PyTorch check", wPath)
	}
	// The stored logits (checked in PyTorch) are ours, to the tolerance:
	// the pure-Go GEMM sums in another order than OpenBLAS.
	stored, err := safetensors.ReadFile(ioPath)
	if err != nil {
		t.Fatal(err)
	}
	sl, ok := stored.Get("logits")
	if !ok {
		t.Fatalf("%s lacks logits", ioPath)
	}
	assertLogits(t, logits, sl)
}
