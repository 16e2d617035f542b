// Package vgg builds the VGG-family networks of the PrivateSNN reference:
// 3×3 convolutions without bias or batch norm, ReLU, 2×2 average pooling,
// dropout after each ReLU except right before a pool, and a classifier
// FC→ReLU→Dropout→…→FC.
//
// # Overview
//
// A Config lists the feature layers as channel counts and pools, e.g.
// 64, 64, A, 128, …, exactly like the reference's cfg lists; New builds the
// network and names every weight as PyTorch's state_dict would
// ("features.N.weight", "classifier.N.weight"), so reference checkpoints
// import unchanged. Presets gives the named architectures.
//
// # Error handling
//
// Config.Validate returns an error describing an unusable configuration;
// New calls it. Forward panics on an input of the wrong shape.
//
// # Concurrency
//
// A Model caches activations during Forward/Backward and must not be used by
// two goroutines at once.
package vgg

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/tensor"
)

// Pool marks a 2×2 average pool in a feature list (the reference's 'A').
const Pool Item = 0

// Item is one entry of a feature list: a conv's output channels, or Pool.
type Item int

// MarshalJSON writes Pool as "A" and channel counts as numbers.
func (it Item) MarshalJSON() ([]byte, error) {
	if it == Pool {
		return []byte(`"A"`), nil
	}
	return []byte(strconv.Itoa(int(it))), nil
}

// UnmarshalJSON reads "A" or a positive integer.
func (it *Item) UnmarshalJSON(b []byte) error {
	if string(b) == `"A"` {
		*it = Pool
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil || n <= 0 {
		return fmt.Errorf("vgg: feature entry %s is neither \"A\" nor a positive channel count", b)
	}
	*it = Item(n)
	return nil
}

// ParseFeatures parses a comma-separated list such as "64,64,A,128".
func ParseFeatures(s string) ([]Item, error) {
	var items []Item
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "A" || f == "a" {
			items = append(items, Pool)
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 || n > 1<<16 {
			return nil, fmt.Errorf("vgg: feature entry %q is neither A nor a channel count in [1, 65536]", f)
		}
		items = append(items, Item(n))
	}
	return items, nil
}

// FormatFeatures is the inverse of ParseFeatures.
func FormatFeatures(items []Item) string {
	parts := make([]string, len(items))
	for i, it := range items {
		if it == Pool {
			parts[i] = "A"
		} else {
			parts[i] = strconv.Itoa(int(it))
		}
	}
	return strings.Join(parts, ",")
}

// Config fully describes a VGG network.
type Config struct {
	Name        string  `json:"name"`
	Features    []Item  `json:"features"`     // channel counts and pools ("A")
	Hidden      []int   `json:"hidden"`       // hidden FC widths of the classifier
	Classes     int     `json:"classes"`      // output width
	InChannels  int     `json:"in_channels"`  // input image channels
	InHeight    int     `json:"in_height"`    // input image height
	InWidth     int     `json:"in_width"`     // input image width
	ConvDropout float64 `json:"conv_dropout"` // dropout after conv ReLUs (not before a pool)
	FCDropout   float64 `json:"fc_dropout"`   // dropout after classifier ReLUs
	// Levels, when positive, replaces every ReLU by a QCFS activation
	// (nn.QCFS) with Levels quantisation levels and a trainable clip,
	// stored as the weight "features.N.clip" or "classifier.N.clip" (N the
	// activation's index in its list). 0 is a plain ReLU network.
	Levels int `json:"levels,omitempty"`
}

// MaxLevels bounds Config.Levels.
const MaxLevels = 1 << 12

// Validate reports an unusable configuration.
func (c Config) Validate() error {
	if c.InChannels < 1 || c.InHeight < 1 || c.InWidth < 1 || c.InChannels > 64 || c.InHeight > 4096 || c.InWidth > 4096 {
		return fmt.Errorf("vgg %s: input %d×%d×%d out of range", c.Name, c.InChannels, c.InHeight, c.InWidth)
	}
	if c.Classes < 2 || c.Classes > 1<<16 {
		return fmt.Errorf("vgg %s: %d classes out of range [2, 65536]", c.Name, c.Classes)
	}
	if c.Levels < 0 || c.Levels > MaxLevels {
		return fmt.Errorf("vgg %s: %d quantisation levels outside [0, %d]", c.Name, c.Levels, MaxLevels)
	}
	if c.ConvDropout < 0 || c.ConvDropout >= 1 || c.FCDropout < 0 || c.FCDropout >= 1 {
		return fmt.Errorf("vgg %s: dropout %g/%g outside [0, 1)", c.Name, c.ConvDropout, c.FCDropout)
	}
	h, w, convs := c.InHeight, c.InWidth, 0
	for i, it := range c.Features {
		switch {
		case it == Pool:
			if i == 0 || c.Features[i-1] == Pool {
				return fmt.Errorf("vgg %s: pool at position %d must follow a conv", c.Name, i)
			}
			h, w = h/2, w/2
			if h < 1 || w < 1 {
				return fmt.Errorf("vgg %s: pool at position %d shrinks the %d×%d input to nothing", c.Name, i, c.InHeight, c.InWidth)
			}
		case it < 0 || it > 1<<16:
			return fmt.Errorf("vgg %s: feature entry %d has %d channels", c.Name, i, it)
		default:
			convs++
		}
	}
	if convs == 0 {
		return fmt.Errorf("vgg %s: no convolution", c.Name)
	}
	for _, hd := range c.Hidden {
		if hd < 1 || hd > 1<<16 {
			return fmt.Errorf("vgg %s: hidden width %d out of range", c.Name, hd)
		}
	}
	return nil
}

// FlatSize returns the length of the flattened feature vector.
func (c Config) FlatSize() int {
	h, w, ch := c.InHeight, c.InWidth, c.InChannels
	for _, it := range c.Features {
		if it == Pool {
			h, w = h/2, w/2
		} else {
			ch = int(it)
		}
	}
	return ch * h * w
}

// Model is a built VGG network.
type Model struct {
	Config Config
	Net    *nn.Sequential
	// Weighted layers in order: Convs then Linears (the last is the output).
	Convs   []*nn.Conv2D
	Linears []*nn.Linear
	// Dropouts in network order (conv dropouts, then classifier ones).
	Dropouts []*nn.Dropout
	// Acts are the QCFS activations of every hidden weighted layer, in
	// order, when Config.Levels > 0; nil otherwise.
	Acts []*nn.QCFS
}

// activation returns the activation after a hidden weighted layer whose
// activation sits at index idx of its list: a ReLU, or a QCFS with clip 1
// named prefix.idx.clip when cfg.Levels > 0.
func (m *Model) activation(prefix string, idx int) nn.Layer {
	if m.Config.Levels == 0 {
		return &nn.ReLU{}
	}
	q := nn.NewQCFS(m.Config.Levels, 1)
	q.Clip.Name = fmt.Sprintf("%s.%d.clip", prefix, idx)
	m.Acts = append(m.Acts, q)
	return q
}

// New builds the network described by cfg with Kaiming-normal weights drawn
// from rng.
func New(cfg Config, rng *rand.Rand) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, Net: &nn.Sequential{}}
	layers := []nn.Layer{nn.ToCNHW{}}
	idx, in := 0, cfg.InChannels
	var lastDrop bool
	for _, it := range cfg.Features {
		if it == Pool {
			if lastDrop { // the reference pops the dropout that precedes a pool
				layers = layers[:len(layers)-1]
				m.Dropouts = m.Dropouts[:len(m.Dropouts)-1]
				idx--
			}
			layers = append(layers, &nn.AvgPool2{})
			idx++
			lastDrop = false
			continue
		}
		conv := nn.NewConv2D(in, int(it), 3, 1)
		conv.Weight.Name = fmt.Sprintf("features.%d.weight", idx)
		conv.InitKaiming(rng)
		d := nn.NewDropout(cfg.ConvDropout)
		layers = append(layers, conv, m.activation("features", idx+1), d)
		m.Convs = append(m.Convs, conv)
		m.Dropouts = append(m.Dropouts, d)
		idx += 3
		in = int(it)
		lastDrop = true
	}
	layers = append(layers, &nn.Flatten{})
	in, idx = cfg.FlatSize(), 0
	for _, hd := range cfg.Hidden {
		l := nn.NewLinear(in, hd)
		l.Weight.Name = fmt.Sprintf("classifier.%d.weight", idx)
		l.InitKaiming(rng)
		d := nn.NewDropout(cfg.FCDropout)
		layers = append(layers, l, m.activation("classifier", idx+1), d)
		m.Linears = append(m.Linears, l)
		m.Dropouts = append(m.Dropouts, d)
		idx += 3
		in = hd
	}
	out := nn.NewLinear(in, cfg.Classes)
	out.Weight.Name = fmt.Sprintf("classifier.%d.weight", idx)
	out.InitKaiming(rng)
	layers = append(layers, out)
	m.Linears = append(m.Linears, out)
	m.Net.Layers = layers
	return m, nil
}

// Forward returns logits [N, Classes] for an NCHW batch.
func (m *Model) Forward(x *tensor.Tensor, mode nn.Mode) *tensor.Tensor {
	c := m.Config
	if len(x.Shape) != 4 || x.Shape[1] != c.InChannels || x.Shape[2] != c.InHeight || x.Shape[3] != c.InWidth {
		panic(fmt.Sprintf("vgg: input %v, want [N %d %d %d]", x.Shape, c.InChannels, c.InHeight, c.InWidth))
	}
	return m.Net.Forward(x, mode)
}

// Backward propagates dL/dlogits; see nn.Sequential.Backward.
func (m *Model) Backward(dlogits *tensor.Tensor, g nn.Grad) *tensor.Tensor {
	return m.Net.Backward(dlogits, g)
}

// Params returns the weights in network order.
func (m *Model) Params() []*nn.Param { return m.Net.Params() }

// ZeroGrad clears all gradients.
func (m *Model) ZeroGrad() { m.Net.ZeroGrad() }

// NumParams returns the total number of weights.
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.Params() {
		n += p.W.Len()
	}
	return n
}

// NumParamsEstimate returns the number of weights the configuration needs,
// without building the network (used to bound what a file may ask for).
func (c Config) NumParamsEstimate() int64 {
	var n int64
	in := int64(c.InChannels)
	for _, it := range c.Features {
		if it != Pool {
			n += in * int64(it) * 9
			in = int64(it)
		}
	}
	prev := int64(c.FlatSize())
	for _, h := range c.Hidden {
		n += prev * int64(h)
		prev = int64(h)
	}
	if c.Levels > 0 {
		n += int64(c.HiddenLayers()) // one clip each
	}
	return n + prev*int64(c.Classes)
}

// HiddenLayers returns the number of hidden weighted layers: every conv
// and every hidden FC.
func (c Config) HiddenLayers() int {
	n := len(c.Hidden)
	for _, it := range c.Features {
		if it != Pool {
			n++
		}
	}
	return n
}

// Clips returns the QCFS clips λ_l of the hidden weighted layers in order,
// or nil for a ReLU network.
func (m *Model) Clips() []float32 {
	if len(m.Acts) == 0 {
		return nil
	}
	c := make([]float32, len(m.Acts))
	for i, a := range m.Acts {
		c[i] = a.Clip.W.Data[0]
	}
	return c
}

// Plain returns a ReLU network (Config.Levels 0) with copies of m's
// convolution and linear weights: what a QCFS network converts from, its
// clips going into the thresholds.
func (m *Model) Plain() (*Model, error) { return m.WithLevels(0) }

// WithLevels returns a network like m with Config.Levels set to levels
// (0: ReLUs) and copies of m's convolution and linear weights; QCFS clips
// start at 1.
func (m *Model) WithLevels(levels int) (*Model, error) {
	cfg := m.Config
	cfg.Levels = levels
	c, err := New(cfg, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, err
	}
	for i, conv := range m.Convs {
		copy(c.Convs[i].Weight.W.Data, conv.Weight.W.Data)
	}
	for i, l := range m.Linears {
		copy(c.Linears[i].Weight.W.Data, l.Weight.W.Data)
	}
	return c, nil
}

// Features returns, for an NCHW batch, the penultimate activations (the
// output layer's input: the last hidden FC's ReLU output, or the flattened
// features when there is no hidden FC) [N, D] and the logits [N, Classes].
// It does not prepare a Backward.
func (m *Model) Features(x *tensor.Tensor, mode nn.Mode) (features, logits *tensor.Tensor) {
	c := m.Config
	if len(x.Shape) != 4 || x.Shape[1] != c.InChannels || x.Shape[2] != c.InHeight || x.Shape[3] != c.InWidth {
		panic(fmt.Sprintf("vgg: input %v, want [N %d %d %d]", x.Shape, c.InChannels, c.InHeight, c.InWidth))
	}
	layers := m.Net.Layers
	h := x
	for _, l := range layers[:len(layers)-1] {
		h = l.Forward(h, mode)
	}
	features = h.Clone()
	return features, layers[len(layers)-1].Forward(h, mode)
}

// Clone returns a copy of m with weights of its own.
func (m *Model) Clone() (*Model, error) {
	c, err := New(m.Config, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, err
	}
	src, dst := m.Params(), c.Params()
	if len(src) != len(dst) {
		return nil, fmt.Errorf("vgg: clone of %s has %d parameters, want %d", m.Config.Name, len(dst), len(src))
	}
	for i := range dst {
		copy(dst[i].W.Data, src[i].W.Data)
	}
	return c, nil
}
