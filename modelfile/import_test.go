package modelfile

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/safetensors"
	"github.com/privatesnn/privatesnn/vgg"
)

// narrowSpec is what a user knows of scripts/vgg_interop.py's VGG16
// beyond its weights: the pool positions, the input size and the
// normalisation.
func narrowSpec(t *testing.T) StateDictSpec {
	cfg := torchConfig(t, filepath.Join("../testdata/torch", "vgg16_narrow.json"))
	return StateDictSpec{Features: cfg.Features, Height: cfg.InHeight, Width: cfg.InWidth, FCDropout: 0.5,
		Normalization: imageset.Normalization{Mean: 0.5, Std: 0.5}, Data: "cifar10", Software: "test"}
}

// TestImportStateDict imports the bare state_dict PyTorch wrote (no model
// card) and reproduces PyTorch's eval logits; the card it returns
// round-trips through Save and Load.
func TestImportStateDict(t *testing.T) {
	const dir = "../testdata/torch"
	m, card, err := ImportStateDict(filepath.Join(dir, "vgg16_narrow.safetensors"), narrowSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Config; got.InChannels != 3 || got.Classes != 10 || len(got.Hidden) != 1 || got.Hidden[0] != 256 {
		t.Fatalf("derived config %+v, want 3 input channels, hidden [256], 10 classes", got)
	}
	if card.Kind != KindANN || card.Provenance.Imported == "" || len(card.ClassNames) != 10 {
		t.Fatalf("card %+v: want an ANN card naming its source and 10 classes", card)
	}
	io, err := safetensors.ReadFile(filepath.Join(dir, "vgg16_narrow_io.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := logitsOf(t, m, io)
	want, _ := io.Get("logits")
	assertLogits(t, got, want)

	out := t.TempDir()
	if err := Save(out, m, *card); err != nil {
		t.Fatal(err)
	}
	m2, card2, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if card2.Provenance.Imported != card.Provenance.Imported {
		t.Fatalf("saved card lost the source: %q", card2.Provenance.Imported)
	}
	got2, _ := logitsOf(t, m2, io)
	assertLogits(t, got2, want)
}

// stateDict returns the PyTorch-written file, modified by edit.
func stateDict(t *testing.T, edit func(f *safetensors.File)) *safetensors.File {
	t.Helper()
	f, err := safetensors.ReadFile("../testdata/torch/vgg16_narrow.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(f)
	}
	return f
}

// TestImportStateDictLayout: a DataParallel prefix and other Sequential
// indices (a net without dropout modules) import the same network.
func TestImportStateDictLayout(t *testing.T) {
	io, err := safetensors.ReadFile("../testdata/torch/vgg16_narrow_io.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := io.Get("logits")
	for name, edit := range map[string]func(*safetensors.File){
		"module. prefix": func(f *safetensors.File) {
			for i := range f.Tensors {
				f.Tensors[i].Name = "module." + f.Tensors[i].Name
			}
		},
		"other indices": func(f *safetensors.File) {
			for i := range f.Tensors {
				group, rest, _ := strings.Cut(f.Tensors[i].Name, ".")
				idx, _, _ := strings.Cut(rest, ".")
				f.Tensors[i].Name = group + "." + idx + "0.weight" // 3 → 30: same order, other positions
			}
		},
	} {
		m, _, err := FromStateDict(stateDict(t, edit), narrowSpec(t))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, _ := logitsOf(t, m, io)
		assertLogits(t, got, want)
	}
}

// TestImportStateDictRefuses: files and specs that do not describe the
// same bias-free VGG are refused with ErrStateDict, naming the problem.
func TestImportStateDictRefuses(t *testing.T) {
	wrongPools := narrowSpec(t)
	wrongPools.Features = wrongPools.Features[:len(wrongPools.Features)-1] // one pool fewer
	wrongWidths := narrowSpec(t)
	wrongWidths.Features = append([]vgg.Item{32}, wrongWidths.Features[1:]...)
	fewer := narrowSpec(t)
	fewer.Features = fewer.Features[1:]
	for _, c := range []struct {
		name string
		edit func(*safetensors.File)
		spec StateDictSpec
		want string
	}{
		{"bias", func(f *safetensors.File) {
			f.Tensors = append(f.Tensors, safetensors.Tensor{Name: "features.0.bias", Shape: []int{16}, Data: make([]float32, 16)})
		}, narrowSpec(t), "bias"},
		{"batch norm", func(f *safetensors.File) {
			f.Tensors = append(f.Tensors, safetensors.Tensor{Name: "features.1.running_mean", Shape: []int{16}, Data: make([]float32, 16)})
		}, narrowSpec(t), "unexpected tensor"},
		{"5x5 kernel", func(f *safetensors.File) {
			f.Tensors[0] = safetensors.Tensor{Name: f.Tensors[0].Name, Shape: []int{16, 3, 5, 5}, Data: make([]float32, 16*3*25)}
		}, narrowSpec(t), "shape"},
		{"pool count", nil, wrongPools, "inputs"},
		{"conv width", nil, wrongWidths, "channels"},
		{"conv count", nil, fewer, "convolutions"},
	} {
		_, _, err := FromStateDict(stateDict(t, c.edit), c.spec)
		if !errors.Is(err, ErrStateDict) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want ErrStateDict mentioning %q", c.name, err, c.want)
		}
	}
}

// FuzzFromStateDict: any decodable file either imports or is refused; it
// never panics.
func FuzzFromStateDict(f *testing.F) {
	var buf bytes.Buffer
	small := &safetensors.File{Tensors: []safetensors.Tensor{
		{Name: "features.0.weight", Shape: []int{2, 1, 3, 3}, Data: make([]float32, 18)},
		{Name: "classifier.0.weight", Shape: []int{3, 2 * 4 * 4}, Data: make([]float32, 96)},
	}}
	if err := safetensors.Encode(&buf, small); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	spec := StateDictSpec{Features: []vgg.Item{2, vgg.Pool}, Height: 8, Width: 8, Normalization: imageset.Normalization{Mean: 0.5, Std: 0.5}}
	f.Fuzz(func(t *testing.T, b []byte) {
		sf, err := safetensors.Decode(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		m, card, err := FromStateDict(sf, spec)
		if err == nil && (m == nil || card.Validate() != nil) {
			t.Fatalf("accepted without a valid model and card")
		}
	})
}
