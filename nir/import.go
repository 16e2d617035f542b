package nir

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/privatesnn/privatesnn/hdf5"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/vgg"
)

// ImportOptions give what a file's metadata may not record.
type ImportOptions struct {
	// Spiking holds the spiking settings for an SNN whose metadata lacks
	// them: Timesteps (required then), Encoder, Reset, InitMembrane and
	// Leak. Metadata entries take precedence; Thresholds are ignored.
	// A file without privatesnn's metadata is read with NIR's semantics,
	// so its defaults should be reset zero and initial membrane 0.
	Spiking snn.Config
	// AsANN reads a spiking graph as the ANN of the same weights: every IF
	// becomes a ReLU (after any fold of per-channel thresholds, which
	// scales each layer's rates uniformly and so keeps the ANN's classes),
	// the integrator a plain output. This is the ANN a network converted
	// elsewhere came from, up to a positive scale per layer, which
	// synthesis and distillation need.
	AsANN bool
	// Base, when it has the graph's architecture, gives the model's name
	// and dropout rates (the exported card's); otherwise the model is
	// named "nir" with no dropout.
	Base *vgg.Config
}

// Imported is a network read from a NIR graph.
type Imported struct {
	Network
	// Pooling is how the graph wrote its pools (SumPool when any pool was
	// a SumPool2d).
	Pooling Pooling
	// Notes say what was changed to fit privatesnn's network: a SumPool2d
	// made an average pool, per-neuron thresholds folded into weights.
	Notes []string
}

// ErrNotSupported marks a graph this package cannot turn into a
// privatesnn network; the error says which node and why.
var ErrNotSupported = errors.New("not supported")

// ErrNoTimesteps: a spiking graph whose metadata records no T, imported
// without ImportOptions.Spiking.Timesteps.
var ErrNoTimesteps = errors.New("nir: the file records no T (privatesnn.timesteps) and none was given")

// ReadMeta returns what g's metadata records (zero values where absent).
func ReadMeta(g *Graph) (Meta, error) {
	var m Meta
	var c snn.Config
	_, err := readMeta(g.Metadata, &m, &c)
	return m, err
}

// unsupported returns an ErrNotSupported error about a node.
func unsupported(name string, n *Node, format string, a ...any) error {
	return fmt.Errorf("nir: node %q (%s): %s: %w", name, n.Type, fmt.Sprintf(format, a...), ErrNotSupported)
}

// Import turns a graph of the chain Export writes into a network:
// Input → (Conv2d → IF [→ AvgPool2d | SumPool2d])… → Flatten →
// (Linear | Affine → IF)… → Linear | Affine → [I] → Output, or the same
// without neurons for an ANN (which needs the metadata's kind "ann").
// Convolutions must be 3×3 with stride 1, padding 1 and no bias, pools
// 2×2 with stride 2, IF neurons must reset to 0, and an IF layer's
// r/v_threshold must be uniform within each channel (they are folded
// into the weights otherwise: see foldNeurons).
func Import(g *Graph, o ImportOptions) (*Imported, error) {
	chain, err := g.chain()
	if err != nil {
		return nil, err
	}
	res := &Imported{}
	spk := o.Spiking
	kind, err := readMeta(g.Metadata, &res.Meta, &spk)
	if err != nil {
		return nil, err
	}
	p := &parser{g: g, res: res}
	if err := p.parse(chain); err != nil {
		return nil, err
	}
	switch {
	case o.AsANN:
		if p.neurons > 0 {
			res.Notes = append(res.Notes, "IF neurons read as ReLUs: the ANN of the same weights")
		}
	case p.neurons == 0 && kind != "ann":
		return nil, errors.New("nir: the graph has no IF neurons and its metadata does not say it is an ANN (privatesnn.kind = ann)")
	case p.neurons > 0 && kind == "ann":
		return nil, errors.New("nir: the metadata says ANN but the graph has IF neurons")
	}
	cfg := p.cfg
	if o.Base != nil && sameArchitecture(*o.Base, cfg) {
		cfg = *o.Base
	}
	m, err := p.model(cfg)
	if err != nil {
		return nil, err
	}
	res.Model = m
	if p.neurons > 0 && !o.AsANN {
		if spk.Timesteps == 0 {
			return nil, ErrNoTimesteps
		}
		spk.Thresholds = p.thresholds
		if err := spk.Validate(len(p.thresholds)); err != nil {
			return nil, fmt.Errorf("nir: spiking settings: %w", err)
		}
		// snn.New checks what Validate cannot: one initial membrane
		// (MetaChannelInit) per channel of each layer.
		if _, err := snn.New(m, spk); err != nil {
			return nil, fmt.Errorf("nir: spiking settings: %w", err)
		}
		res.SNN = &spk
	}
	return res, nil
}

// sameArchitecture reports whether a and b build the same layers.
func sameArchitecture(a, b vgg.Config) bool {
	return slices.Equal(a.Features, b.Features) && slices.Equal(a.Hidden, b.Hidden) && a.Classes == b.Classes &&
		a.InChannels == b.InChannels && a.InHeight == b.InHeight && a.InWidth == b.InWidth
}

// chain returns the node names from the one Input node along the edges to
// the one Output node; every node must lie on that path.
func (g *Graph) chain() ([]string, error) {
	next := map[string]string{}
	into := map[string]int{}
	for _, e := range g.Edges {
		if _, dup := next[e[0]]; dup {
			return nil, fmt.Errorf("nir: node %q has several outgoing edges; only chains are supported: %w", e[0], ErrNotSupported)
		}
		next[e[0]] = e[1]
		into[e[1]]++
	}
	var start string
	for name, n := range g.Nodes {
		if n.Type == "Input" {
			if start != "" {
				return nil, fmt.Errorf("nir: several Input nodes (%q, %q): %w", start, name, ErrNotSupported)
			}
			start = name
		}
	}
	if start == "" {
		return nil, errors.New("nir: the graph has no Input node")
	}
	var out []string
	for name := start; ; name = next[name] {
		if into[name] > 1 {
			return nil, fmt.Errorf("nir: node %q has several incoming edges; only chains are supported: %w", name, ErrNotSupported)
		}
		out = append(out, name)
		if len(out) > len(g.Nodes) {
			return nil, errors.New("nir: the edges form a cycle")
		}
		if _, ok := next[name]; !ok {
			break
		}
	}
	if last := g.Nodes[out[len(out)-1]]; last.Type != "Output" {
		return nil, fmt.Errorf("nir: the chain from the Input ends at %q (%s), not at an Output node", out[len(out)-1], last.Type)
	}
	if len(out) != len(g.Nodes) {
		return nil, fmt.Errorf("nir: %d of the %d nodes are not on the path from the Input to the Output: %w", len(g.Nodes)-len(out), len(g.Nodes), ErrNotSupported)
	}
	return out, nil
}

// layer is one weighted layer read from the graph.
type layer struct {
	name   string
	w      []float32 // [out, in(, k, k)]
	out    int
	spikes bool // followed by IF
}

// parser reads a chain into a vgg configuration, weights and thresholds.
type parser struct {
	g          *Graph
	res        *Imported
	cfg        vgg.Config
	convs, fcs []*layer
	thresholds []float32
	neurons    int
	// c, h, w is the current shape; flat is set after the Flatten.
	c, h, w int
	flat    bool
	scale   float32 // pending factor of a SumPool2d for the next weights
	last    string  // type of the previous node
}

func (p *parser) parse(chain []string) error {
	p.scale = 1
	for _, name := range chain {
		n := p.g.Nodes[name]
		var err error
		switch n.Type {
		case "Input":
			err = p.input(name, n)
		case "Conv2d":
			err = p.conv(name, n)
		case "IF":
			err = p.neuron(name, n)
		case "AvgPool2d", "SumPool2d":
			err = p.pool(name, n)
		case "Flatten":
			err = p.flatten(name, n)
		case "Linear", "Affine":
			err = p.linear(name, n)
		case "I":
			err = p.readout(name, n)
		case "Output":
			err = p.output(name, n)
		default:
			err = unsupported(name, n, "privatesnn's networks have no such layer")
		}
		if err != nil {
			return err
		}
		p.last = n.Type
	}
	if len(p.fcs) == 0 {
		return errors.New("nir: the graph has no Linear or Affine layer")
	}
	if err := p.neuronsEverywhere(); err != nil {
		return err
	}
	for _, l := range p.fcs[:len(p.fcs)-1] {
		p.cfg.Hidden = append(p.cfg.Hidden, l.out)
	}
	p.cfg.Classes = p.fcs[len(p.fcs)-1].out
	p.cfg.Name = "nir"
	return p.cfg.Validate()
}

// neuronsEverywhere checks that an SNN has IF neurons after every layer
// but the last, and an ANN none.
func (p *parser) neuronsEverywhere() error {
	layers := append(slices.Clone(p.convs), p.fcs...)
	for i, l := range layers {
		want := p.neurons > 0 && i < len(layers)-1
		if l.spikes != want {
			if want {
				return fmt.Errorf("nir: layer %q has no IF neurons after it, but the network spikes elsewhere: %w", l.name, ErrNotSupported)
			}
			return fmt.Errorf("nir: layer %q is the last and has IF neurons after it: %w", l.name, ErrNotSupported)
		}
	}
	return nil
}

func (p *parser) input(name string, n *Node) error {
	s, err := intParam(name, n, "shape")
	if err != nil {
		return err
	}
	if len(s) != 3 {
		return unsupported(name, n, "input shape %v, want (channels, height, width)", s)
	}
	p.c, p.h, p.w = int(s[0]), int(s[1]), int(s[2])
	p.cfg.InChannels, p.cfg.InHeight, p.cfg.InWidth = p.c, p.h, p.w
	return nil
}

func (p *parser) conv(name string, n *Node) error {
	if p.flat {
		return unsupported(name, n, "a convolution after the Flatten")
	}
	w, err := floatParam(name, n, "weight")
	if err != nil {
		return err
	}
	d := n.Params["weight"]
	if len(d.Shape) != 4 || d.Shape[1] != p.c || d.Shape[2] != 3 || d.Shape[3] != 3 {
		return unsupported(name, n, "weight shape %v, want (out, %d, 3, 3)", d.Shape, p.c)
	}
	for _, f := range []struct {
		key  string
		want []int64
	}{{"stride", []int64{1, 1}}, {"dilation", []int64{1, 1}}, {"groups", []int64{1}}} {
		if err := wantInts(name, n, f.key, f.want, true); err != nil {
			return err
		}
	}
	if err := p.convPadding(name, n); err != nil {
		return err
	}
	if err := zeroBias(name, n); err != nil {
		return err
	}
	if s, ok := n.Params["input_shape"]; ok && (s.Kind != hdf5.Int64 || !slices.Equal(s.I64, []int64{int64(p.h), int64(p.w)})) {
		return unsupported(name, n, "input_shape %v, but the input here is %d×%d", s.I64, p.h, p.w)
	}
	p.convs = append(p.convs, &layer{name: name, w: scaled(w, p.scale), out: d.Shape[0]})
	p.scale = 1
	p.c = d.Shape[0]
	p.cfg.Features = append(p.cfg.Features, vgg.Item(p.c))
	return nil
}

// convPadding accepts padding 1 (or "same", which is 1 for a 3×3 kernel).
func (p *parser) convPadding(name string, n *Node) error {
	if d := n.Params["padding"]; d != nil && d.Kind == hdf5.String {
		if stringOf(d) != "same" {
			return unsupported(name, n, "padding %q, want 1 or \"same\"", stringOf(d))
		}
		return nil
	}
	return wantInts(name, n, "padding", []int64{1, 1}, false)
}

func (p *parser) pool(name string, n *Node) error {
	if p.flat || p.last == "Input" {
		return unsupported(name, n, "a pool must follow a convolution's neurons (or, in an ANN, the convolution)")
	}
	if err := wantInts(name, n, "kernel_size", []int64{poolK, poolK}, false); err != nil {
		return err
	}
	if err := wantInts(name, n, "stride", []int64{poolK, poolK}, true); err != nil {
		return err
	}
	if err := wantInts(name, n, "padding", []int64{0, 0}, true); err != nil {
		return err
	}
	if n.Type == "SumPool2d" {
		p.scale *= poolK * poolK
		p.res.Pooling = SumPool
		p.res.Notes = append(p.res.Notes, fmt.Sprintf("%s: SumPool2d read as an average pool, the next layer's weights multiplied by %d", name, poolK*poolK))
	}
	p.h, p.w = p.h/poolK, p.w/poolK
	p.cfg.Features = append(p.cfg.Features, vgg.Pool)
	return nil
}

func (p *parser) flatten(name string, n *Node) error {
	if p.flat {
		return unsupported(name, n, "a second Flatten")
	}
	if err := wantInts(name, n, "start_dim", []int64{0}, true); err != nil {
		return err
	}
	if d := n.Params["end_dim"]; d != nil && (d.Kind != hdf5.Int64 || len(d.I64) != 1 || d.I64[0] != -1 && d.I64[0] != 2) {
		return unsupported(name, n, "end_dim %v, want -1 (flatten channels, height and width)", d.I64)
	}
	if d := n.Params["input_type"]; d != nil && d.Kind == hdf5.Int64 && !slices.Equal(d.I64, []int64{int64(p.c), int64(p.h), int64(p.w)}) {
		return unsupported(name, n, "input_type %v, but the input here is %d×%d×%d", d.I64, p.c, p.h, p.w)
	}
	p.flat = true
	p.c, p.h, p.w = p.c*p.h*p.w, 1, 1
	return nil
}

func (p *parser) linear(name string, n *Node) error {
	if !p.flat {
		return unsupported(name, n, "a linear layer before the Flatten")
	}
	w, err := floatParam(name, n, "weight")
	if err != nil {
		return err
	}
	d := n.Params["weight"]
	if len(d.Shape) != 2 || d.Shape[1] != p.c {
		return unsupported(name, n, "weight shape %v, want (out, %d)", d.Shape, p.c)
	}
	if n.Type == "Affine" {
		if err := zeroBias(name, n); err != nil {
			return err
		}
	}
	p.fcs = append(p.fcs, &layer{name: name, w: scaled(w, p.scale), out: d.Shape[0]})
	p.scale = 1
	p.c = d.Shape[0]
	return nil
}

func (p *parser) output(name string, n *Node) error {
	if d := n.Params["shape"]; d != nil && d.Kind == hdf5.Int64 && !slices.Equal(d.I64, []int64{int64(p.c)}) {
		return unsupported(name, n, "shape %v, but the input here has %d values", d.I64, p.c)
	}
	switch p.last {
	case "I", "Linear", "Affine":
	case "IF":
		return unsupported(name, n, "a spiking output layer: privatesnn reads the last layer's input summed over the steps (an I node), not spikes")
	default:
		return unsupported(name, n, "the output must follow the last linear layer or its integrator (I), not %s", p.last)
	}
	return nil
}

// readout accepts an integrator after the last linear layer: its input
// summed over the steps is privatesnn's readout. A uniform r ≠ 1 scales
// every class alike and is folded into the weights.
func (p *parser) readout(name string, n *Node) error {
	if p.last != "Linear" && p.last != "Affine" {
		return unsupported(name, n, "an integrator must follow the last linear layer")
	}
	r, err := floatParam(name, n, "r")
	if err != nil {
		return err
	}
	if len(r) != p.c {
		return unsupported(name, n, "r has %d values for %d outputs", len(r), p.c)
	}
	for _, v := range r {
		if v != r[0] || !(v > 0) || math.IsInf(float64(v), 0) {
			return unsupported(name, n, "r must be one positive value for every class")
		}
	}
	if r[0] != 1 {
		l := p.fcs[len(p.fcs)-1]
		l.w = scaled(l.w, r[0])
		p.res.Notes = append(p.res.Notes, fmt.Sprintf("%s: r = %g folded into %s's weights", name, r[0], l.name))
	}
	return nil
}

// neuron reads the IF layer after a weighted layer. Its neurons must reset
// to 0, and r and v_threshold must each be one value per channel (per
// neuron after the Flatten). When they are not all r = 1 with one
// threshold θ, foldNeurons makes them so.
func (p *parser) neuron(name string, n *Node) error {
	var l *layer
	switch {
	case p.last == "Conv2d":
		l = p.convs[len(p.convs)-1]
	case p.last == "Linear" || p.last == "Affine":
		l = p.fcs[len(p.fcs)-1]
	default:
		return unsupported(name, n, "IF neurons must follow a Conv2d or a linear layer")
	}
	size := p.c * p.h * p.w
	r, err := floatParam(name, n, "r")
	if err != nil {
		return err
	}
	th, err := floatParam(name, n, "v_threshold")
	if err != nil {
		return err
	}
	if len(r) != size || len(th) != size {
		return unsupported(name, n, "%d values of r and %d of v_threshold for %d neurons", len(r), len(th), size)
	}
	if d := n.Params["v_reset"]; d != nil {
		vr, err := floatParam(name, n, "v_reset")
		if err != nil {
			return err
		}
		if slices.ContainsFunc(vr, func(v float32) bool { return v != 0 }) {
			return unsupported(name, n, "v_reset ≠ 0: privatesnn's neurons reset to 0 or by subtraction")
		}
	}
	theta, err := p.foldNeurons(name, n, l, r, th, p.h*p.w)
	if err != nil {
		return err
	}
	l.spikes = true
	p.thresholds = append(p.thresholds, theta)
	p.neurons++
	return nil
}

// foldNeurons returns the layer's threshold θ. Neurons of one channel
// (group consecutive values) must share r_j and θ_j. When some r_j ≠ 1 or
// the θ_j differ, θ is the largest θ_j and channel j's incoming weights
// are multiplied by r_j·θ/θ_j: the membrane is then θ/θ_j times the
// original, so the neuron spikes at the same steps under either reset
// (a reset to 0 stays 0), up to the rounding of the scaled weights.
func (p *parser) foldNeurons(name string, n *Node, l *layer, r, th []float32, group int) (float32, error) {
	chans := len(r) / group
	theta := float32(0)
	uniform := true
	for j := range chans {
		rj, tj := r[j*group], th[j*group]
		for k := j * group; k < (j+1)*group; k++ {
			if r[k] != rj || th[k] != tj {
				return 0, unsupported(name, n, "r or v_threshold varies within channel %d", j)
			}
		}
		if !(rj > 0) || !(tj > 0) || math.IsInf(float64(rj), 0) || math.IsInf(float64(tj), 0) {
			return 0, unsupported(name, n, "channel %d has r %g and v_threshold %g; both must be positive and finite", j, rj, tj)
		}
		uniform = uniform && rj == 1 && tj == th[0]
		theta = max(theta, tj)
	}
	if uniform {
		return theta, nil
	}
	per := len(l.w) / chans
	for j := range chans {
		f := r[j*group] * theta / th[j*group]
		if f != 1 {
			for k := j * per; k < (j+1)*per; k++ {
				l.w[k] *= f
			}
		}
	}
	p.res.Notes = append(p.res.Notes, fmt.Sprintf("%s: per-channel r and v_threshold folded into %s's weights (threshold %g)", name, l.name, theta))
	return theta, nil
}

// model builds the network of cfg with the parsed weights.
func (p *parser) model(cfg vgg.Config) (*vgg.Model, error) {
	m, err := vgg.New(cfg, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, err
	}
	if len(m.Convs) != len(p.convs) || len(m.Linears) != len(p.fcs) {
		return nil, fmt.Errorf("nir: internal: %d/%d layers parsed for a network of %d/%d", len(p.convs), len(p.fcs), len(m.Convs), len(m.Linears))
	}
	for i, l := range p.convs {
		copy(m.Convs[i].Weight.W.Data, l.w)
	}
	for i, l := range p.fcs {
		if len(l.w) != len(m.Linears[i].Weight.W.Data) {
			return nil, fmt.Errorf("nir: %s has %d weights, the network's layer %d", l.name, len(l.w), len(m.Linears[i].Weight.W.Data))
		}
		copy(m.Linears[i].Weight.W.Data, l.w)
	}
	return m, nil
}

// floatParam returns a float parameter's values as float32 (float64 values
// are rounded to the nearest float32).
func floatParam(name string, n *Node, key string) ([]float32, error) {
	d := n.Params[key]
	if d == nil {
		return nil, unsupported(name, n, "no parameter %q", key)
	}
	switch d.Kind {
	case hdf5.Float32:
		return slices.Clone(d.F32), nil
	case hdf5.Float64:
		out := make([]float32, len(d.F64))
		for i, v := range d.F64 {
			out[i] = float32(v)
		}
		return out, nil
	case hdf5.Int64:
		out := make([]float32, len(d.I64))
		for i, v := range d.I64 {
			out[i] = float32(v)
		}
		return out, nil
	}
	return nil, unsupported(name, n, "parameter %q is not numeric", key)
}

// intParam returns an integer parameter's values.
func intParam(name string, n *Node, key string) ([]int64, error) {
	d := n.Params[key]
	if d == nil || d.Kind != hdf5.Int64 {
		return nil, unsupported(name, n, "no integer parameter %q", key)
	}
	return d.I64, nil
}

// wantInts checks an integer parameter: its values must equal want, or,
// with broadcast, be one value equal to every value of want (NIR accepts
// "2" for "(2, 2)"). An absent parameter passes when optional.
func wantInts(name string, n *Node, key string, want []int64, optional bool) error {
	d := n.Params[key]
	if d == nil && optional {
		return nil
	}
	v, err := intParam(name, n, key)
	if err != nil {
		return err
	}
	if slices.Equal(v, want) || len(v) == 1 && !slices.ContainsFunc(want, func(w int64) bool { return w != v[0] }) {
		return nil
	}
	return unsupported(name, n, "%s %v, want %v", key, v, want)
}

// zeroBias refuses a non-zero bias: privatesnn's layers have none.
func zeroBias(name string, n *Node) error {
	if n.Params["bias"] == nil {
		return nil
	}
	b, err := floatParam(name, n, "bias")
	if err != nil {
		return err
	}
	if slices.ContainsFunc(b, func(v float32) bool { return v != 0 }) {
		return unsupported(name, n, "a non-zero bias: privatesnn's layers have none")
	}
	return nil
}

// scaled returns w times s (w itself when s = 1).
func scaled(w []float32, s float32) []float32 {
	if s != 1 {
		for i := range w {
			w[i] *= s
		}
	}
	return w
}
