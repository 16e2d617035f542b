package modelfile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/safetensors"
	"github.com/privatesnn/privatesnn/vgg"
)

// StateDictSpec says what a bare PyTorch state_dict cannot: where the pools
// sit, the input size, the dropout rates, the input normalisation and the
// class names. The convolution widths, the input channels, the hidden
// widths and the class count are read from the weights' shapes and checked
// against it.
type StateDictSpec struct {
	// Features is the reference's cfg list: conv widths and vgg.Pool, e.g.
	// 32, 32, A, 64, 64, A. Weights record the conv widths but not the
	// pools, whose positions the caller must give (nil: the list the
	// file's metadata records under FeaturesKey); their number is checked
	// against the first classifier layer's input size, their positions
	// where the file allows it (the card's Provenance.PoolPositions says
	// how).
	Features []vgg.Item
	// Height and Width are the input images' size.
	Height, Width int
	// ConvDropout and FCDropout are the training-time dropout rates the
	// card records; they do not change inference.
	ConvDropout, FCDropout float64
	// Normalization is the input normalisation the network was trained on.
	Normalization imageset.Normalization
	// ClassNames names the classes; nil gives "0", "1", ….
	ClassNames []string
	// Data names the data set the network was trained on, if known.
	Data string
	// Software is the importing program and version, for the card.
	Software string
}

// ErrStateDict reports a state_dict that is not a VGG of the reference's
// family, or that does not agree with the StateDictSpec.
var ErrStateDict = errors.New("not a reference VGG state_dict")

// ErrNoFeatures reports a state_dict imported without a features list
// when its file's metadata holds none either.
var ErrNoFeatures = errors.New("the weights do not record where the pools sit")

// FeaturesKey is the metadata key of a safetensors file under which an
// exporter may record the network's cfg list ("32,32,A,64,64,A"), which
// ImportStateDict then checks the features list against or takes as it.
const FeaturesKey = "features"

// ImportStateDict reads a PyTorch state_dict saved with safetensors
// (safetensors.torch.save_file(model.state_dict(), path)) from a VGG of
// the reference's family: bias-free 3×3 convolutions named
// features.<i>.weight and linear layers named classifier.<i>.weight. A
// "module." prefix, as nn.DataParallel writes it, is removed. Biases and
// any other tensors are refused, since the networks privatesnn converts
// have none. It returns the model and a card of kind KindANN that records
// the file as its source; Save writes both.
func ImportStateDict(path string, spec StateDictSpec) (*vgg.Model, *Card, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("import %s: %w", path, err)
	}
	m, card, err := FromStateDict(f, spec)
	if err != nil {
		return nil, nil, fmt.Errorf("import %s: %w", path, err)
	}
	card.Provenance.Imported = path
	return m, card, nil
}

// FromStateDict is ImportStateDict on a decoded file. It renames f's
// tensors to the names the model gives them.
func FromStateDict(f *safetensors.File, spec StateDictSpec) (*vgg.Model, *Card, error) {
	if spec.Features == nil {
		var err error
		if spec.Features, err = metadataFeatures(f); err != nil {
			return nil, nil, err
		}
	}
	cfg, convs, fcs, err := stateDictConfig(f, spec)
	if err != nil {
		return nil, nil, err
	}
	pools, err := poolCheck(f, convs, spec.Features)
	if err != nil {
		return nil, nil, err
	}
	names := spec.ClassNames
	if names == nil {
		for i := range cfg.Classes {
			names = append(names, strconv.Itoa(i))
		}
	}
	card := &Card{Format: Format, Kind: KindANN, Model: cfg, Normalization: spec.Normalization, ClassNames: names, Data: spec.Data,
		Provenance: Provenance{Dataset: spec.Data, TrainingDataAccessed: true, Software: spec.Software, PoolPositions: pools}}
	if err := card.Validate(); err != nil {
		return nil, nil, err
	}
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, nil, err
	}
	// The i-th convolution and linear layer in index order take the names
	// vgg.New gives them, whatever other modules the exporter's Sequential
	// held between them.
	for i, c := range convs {
		f.Tensors[c.tensor].Name = m.Convs[i].Weight.Name
	}
	for i, l := range fcs {
		f.Tensors[l.tensor].Name = m.Linears[i].Weight.Name
	}
	if err := LoadWeights(m, f); err != nil {
		return nil, nil, err
	}
	return m, card, nil
}

// sdLayer is one weight of a state_dict: its position in the file, its
// Sequential index and its shape.
type sdLayer struct {
	tensor, index int
	shape         []int
}

// stateDictConfig derives the network's config from the shapes of f's
// tensors and spec, and returns its convolutions and linear layers in
// index order.
func stateDictConfig(f *safetensors.File, spec StateDictSpec) (cfg vgg.Config, convs, fcs []sdLayer, err error) {
	fail := func(format string, args ...any) (vgg.Config, []sdLayer, []sdLayer, error) {
		return cfg, nil, nil, fmt.Errorf("%w: "+format, append([]any{ErrStateDict}, args...)...)
	}
	for i := range f.Tensors {
		t := &f.Tensors[i]
		name := strings.TrimPrefix(t.Name, "module.")
		group, rest, ok := strings.Cut(name, ".")
		idx, suffix, ok2 := strings.Cut(rest, ".")
		n, aerr := strconv.Atoi(idx)
		if !ok || !ok2 || aerr != nil || n < 0 || suffix != "weight" || (group != "features" && group != "classifier") {
			if strings.HasSuffix(name, ".bias") {
				return fail("it has a bias %s; the networks privatesnn converts have none (bias=False)", t.Name)
			}
			return fail("unexpected tensor %s (want features.<i>.weight and classifier.<i>.weight only)", t.Name)
		}
		l := sdLayer{tensor: i, index: n, shape: t.Shape}
		switch {
		case group == "features" && len(t.Shape) == 4 && t.Shape[2] == 3 && t.Shape[3] == 3:
			convs = append(convs, l)
		case group == "classifier" && len(t.Shape) == 2:
			fcs = append(fcs, l)
		default:
			return fail("%s has shape %v (want [out, in, 3, 3] convolutions and [out, in] linear layers)", t.Name, t.Shape)
		}
	}
	byIndex := func(s []sdLayer) { sort.Slice(s, func(i, j int) bool { return s[i].index < s[j].index }) }
	byIndex(convs)
	byIndex(fcs)
	if len(convs) == 0 || len(fcs) == 0 {
		return fail("%d convolutions and %d linear layers (want at least one of each)", len(convs), len(fcs))
	}
	cfg = vgg.Config{Name: "imported", InChannels: convs[0].shape[1], InHeight: spec.Height, InWidth: spec.Width, Features: spec.Features,
		Classes: fcs[len(fcs)-1].shape[0], ConvDropout: spec.ConvDropout, FCDropout: spec.FCDropout}
	var widths []int
	for _, it := range spec.Features {
		if it != vgg.Pool {
			widths = append(widths, int(it))
		}
	}
	if len(widths) != len(convs) {
		return fail("the features list %s has %d convolutions, the weights %d", vgg.FormatFeatures(spec.Features), len(widths), len(convs))
	}
	in := cfg.InChannels
	for i, c := range convs {
		if c.shape[0] != widths[i] || c.shape[1] != in {
			return fail("convolution %d (features.%d) is %d→%d channels, the features list says %d→%d", i+1, c.index, c.shape[1], c.shape[0], in, widths[i])
		}
		in = widths[i]
	}
	for _, l := range fcs[:len(fcs)-1] {
		cfg.Hidden = append(cfg.Hidden, l.shape[0])
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, nil, err
	}
	if got, want := fcs[0].shape[1], cfg.FlatSize(); got != want {
		return fail("classifier.%d takes %d inputs, but %s on %d×%d images gives %d (check the number of pools and the input size)",
			fcs[0].index, got, vgg.FormatFeatures(spec.Features), spec.Height, spec.Width, want)
	}
	for i := 1; i < len(fcs); i++ {
		if fcs[i].shape[1] != fcs[i-1].shape[0] {
			return fail("classifier.%d takes %d inputs, classifier.%d gives %d", fcs[i].index, fcs[i].shape[1], fcs[i-1].index, fcs[i-1].shape[0])
		}
	}
	return cfg, convs, fcs, nil
}
