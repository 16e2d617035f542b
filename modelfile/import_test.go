package modelfile

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
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

// renameConvs gives the convolutions of f (in index order) the Sequential
// indices of a torchvision-style layout of features — conv, ReLU, and a
// pool module where features has one — and returns the indices.
func renameConvs(t *testing.T, f *safetensors.File, features []vgg.Item) []int {
	t.Helper()
	var idx []int
	next := 0
	for _, it := range features {
		if it == vgg.Pool {
			next++
			continue
		}
		idx = append(idx, next)
		next += 2
	}
	var convs []int
	for i, tn := range f.Tensors {
		if strings.HasPrefix(tn.Name, "features.") {
			convs = append(convs, i)
		}
	}
	index := func(i int) int {
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(f.Tensors[i].Name, "features."), ".weight"))
		return n
	}
	sort.Slice(convs, func(a, b int) bool { return index(convs[a]) < index(convs[b]) })
	if len(convs) != len(idx) {
		t.Fatalf("%d convolutions, %d in %v", len(convs), len(idx), features)
	}
	for k, i := range convs {
		f.Tensors[i].Name = "features." + strconv.Itoa(idx[k]) + ".weight"
	}
	return idx
}

// movedPool is the narrow VGG16's features with its first pool one
// convolution earlier: the same number of pools, another network.
func movedPool(t *testing.T) []vgg.Item {
	f := narrowSpec(t).Features
	if f[2] != vgg.Pool {
		t.Fatalf("narrow VGG16 features %v: want a pool third", f)
	}
	return append([]vgg.Item{f[0], vgg.Pool, f[1]}, f[3:]...)
}

// TestImportPoolPositions: the reference's layout cannot tell where the
// pools sit, and the card says so; a torchvision-style layout (conv,
// ReLU, pool) can, and a features list with other pool positions is
// refused with the list that fits; the file's features metadata is
// checked as a whole and stands in for a missing list.
func TestImportPoolPositions(t *testing.T) {
	spec := narrowSpec(t)
	moved := spec
	moved.Features = movedPool(t)

	_, card, err := FromStateDict(stateDict(t, nil), moved)
	if err != nil {
		t.Fatalf("reference layout, pools elsewhere: %v", err)
	}
	if p := card.Provenance.PoolPositions; !strings.HasPrefix(p, "not checked: ") || !strings.Contains(p, "features.0, 3, 6, 9") {
		t.Errorf("reference layout: card says %q, want that the positions are not checked and why", p)
	}

	torchvision := func(f *safetensors.File) { renameConvs(t, f, spec.Features) }
	_, card, err = FromStateDict(stateDict(t, torchvision), spec)
	if err != nil {
		t.Fatalf("torchvision layout, right pools: %v", err)
	}
	if p := card.Provenance.PoolPositions; !strings.HasPrefix(p, "checked: the convolutions' Sequential indices (features.0, 2, 5, 7, ") {
		t.Errorf("torchvision layout: card says %q, want checked against the indices", p)
	}
	_, _, err = FromStateDict(stateDict(t, torchvision), moved)
	want := "put a pool after convolutions 2, 4, 7 and 10 (one module more there), the features list " + vgg.FormatFeatures(moved.Features) +
		" after convolutions 1, 4, 7 and 10; " + vgg.FormatFeatures(spec.Features) + " would fit them"
	if !errors.Is(err, ErrStateDict) || !strings.Contains(err.Error(), want) {
		t.Errorf("torchvision layout, pools elsewhere: got %v, want ErrStateDict saying %q", err, want)
	}

	meta := func(list string) func(*safetensors.File) {
		return func(f *safetensors.File) { f.Metadata = map[string]string{FeaturesKey: list} }
	}
	_, card, err = FromStateDict(stateDict(t, meta(vgg.FormatFeatures(spec.Features))), spec)
	if err != nil || !strings.Contains(card.Provenance.PoolPositions, "metadata") {
		t.Errorf("metadata agrees: %v, card says %q", err, card.Provenance.PoolPositions)
	}
	_, _, err = FromStateDict(stateDict(t, meta(vgg.FormatFeatures(spec.Features))), moved)
	if !errors.Is(err, ErrStateDict) || !strings.Contains(err.Error(), "metadata records the features "+vgg.FormatFeatures(spec.Features)) {
		t.Errorf("metadata disagrees: got %v, want ErrStateDict naming the recorded list", err)
	}
	noList := spec
	noList.Features = nil
	m, _, err := FromStateDict(stateDict(t, meta(vgg.FormatFeatures(spec.Features))), noList)
	if err != nil || vgg.FormatFeatures(m.Config.Features) != vgg.FormatFeatures(spec.Features) {
		t.Errorf("no list, metadata: %v, features %v", err, m)
	}
	if _, _, err := FromStateDict(stateDict(t, nil), noList); !errors.Is(err, ErrNoFeatures) {
		t.Errorf("no list, no metadata: got %v, want ErrNoFeatures", err)
	}
}

// TestPoolPlacementHelpers covers the pieces of poolCheck's words.
func TestPoolPlacementHelpers(t *testing.T) {
	f, _ := vgg.ParseFeatures("32,A,32,64,64,A")
	inner, pools := innerPools(f)
	if fmt.Sprint(inner) != "[true false false]" || pools != 2 {
		t.Errorf("innerPools(%v) = %v, %d", f, inner, pools)
	}
	if got := vgg.FormatFeatures(withPools(f, []bool{false, true, false})); got != "32,32,A,64,64,A" {
		t.Errorf("withPools = %s", got)
	}
	for _, c := range []struct {
		pools []bool
		want  string
	}{{nil, "no convolution but the last"}, {[]bool{false, true}, "convolution 2"}, {[]bool{true, false, true}, "convolutions 1 and 3"}} {
		if got := afterConvs(c.pools); got != c.want {
			t.Errorf("afterConvs(%v) = %q, want %q", c.pools, got, c.want)
		}
	}
}
