package nir

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/privatesnn/privatesnn/hdf5"
	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/vgg"
)

// Pooling says how a 2×2 average pool is written.
type Pooling uint8

const (
	// AvgPool writes an AvgPool2d node.
	AvgPool Pooling = iota
	// SumPool writes a SumPool2d node and multiplies the weights of the
	// layer after it by 1/k² (k = 2), which computes the same currents:
	// the form the Sinabs/Speck, Lava and SpiNNaker2 paths accept.
	SumPool
)

// String implements fmt.Stringer.
func (p Pooling) String() string {
	switch p {
	case AvgPool:
		return "avg"
	case SumPool:
		return "sum"
	}
	return "Pooling(" + strconv.Itoa(int(p)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (p Pooling) MarshalText() ([]byte, error) {
	if p > SumPool {
		return nil, fmt.Errorf("nir: invalid pooling %d", int(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Pooling) UnmarshalText(b []byte) error {
	switch string(b) {
	case "avg":
		*p = AvgPool
	case "sum":
		*p = SumPool
	default:
		return fmt.Errorf("unknown pooling %q (avg or sum)", b)
	}
	return nil
}

// poolK is the side of privatesnn's average pools.
const poolK = 2

// Meta is what a file's metadata records beside the graph: what the
// network's input is, and the model card's provenance.
type Meta struct {
	Normalization imageset.Normalization
	ClassNames    []string
	// Data names the data set the model was trained for ("fashion-mnist").
	Data string
	// Card is the model card (JSON) the file was exported from.
	Card []byte
	// WeightsSHA256 is the digest of the exported model's weights file;
	// ParentSHA256 that of its parent's, when it has one.
	WeightsSHA256        string
	ParentSHA256         string
	TrainingDataAccessed bool
	// Defense words the class-encryption training and defences ("" for
	// none).
	Defense string
}

// Network is what a NIR file carries for privatesnn: a VGG network's
// weights, its spiking configuration (nil for an ANN), and its Meta.
type Network struct {
	Model *vgg.Model
	SNN   *snn.Config
	Meta  Meta
}

// builder appends the nodes of a chain.
type builder struct {
	g    *Graph
	last string
}

func (b *builder) add(name, typ string, params map[string]*hdf5.Dataset) {
	b.g.Nodes[name] = &Node{Type: typ, Params: params}
	if b.last != "" {
		b.g.Edges = append(b.g.Edges, [2]string{b.last, name})
	}
	b.last = name
}

// ErrSigned refuses a network of signed neurons (snn.Config.Signed): NIR's
// IF neuron fires only upwards, and a graph that dropped the negative
// spikes would compute another function.
var ErrSigned = errors.New("nir: the network has signed neurons (negative spikes), which NIR's IF neuron cannot express; convert it without --signed to export it")

// ErrBurst refuses a network of burst neurons (snn.Config.Burst): NIR's
// IF neuron fires at most one spike per step.
var ErrBurst = errors.New("nir: the network fires burst spikes (several spikes per step), which NIR's IF neuron cannot express; convert it without --burst to export it")

// Export returns the NIR graph of n. An SNN becomes Input → (Conv2d → IF,
// with AvgPool2d or SumPool2d after a pool's IF)… → Flatten → (Linear →
// IF)… → Linear → I → Output, its thresholds, T, encoder, initial
// membrane, reset rule and provenance in the metadata (MetaKey…). An ANN
// becomes the same chain without neurons: NIR has no ReLU, so the
// metadata's MetaActivation says where the ReLUs are.
func Export(n Network, pool Pooling) (*Graph, error) {
	cfg := n.Model.Config
	if n.SNN != nil {
		if err := n.SNN.Validate(snn.SpikingLayers(n.Model)); err != nil {
			return nil, err
		}
		if n.SNN.Signed {
			return nil, ErrSigned
		}
		if n.SNN.Burst > 1 {
			return nil, ErrBurst
		}
	}
	if pool > SumPool {
		return nil, fmt.Errorf("nir: invalid pooling %d", int(pool))
	}
	b := &builder{g: &Graph{Nodes: map[string]*Node{}, Metadata: map[string]*hdf5.Dataset{}}}
	c, h, w := cfg.InChannels, cfg.InHeight, cfg.InWidth
	b.add("input", "Input", map[string]*hdf5.Dataset{"shape": ints(c, h, w)})
	conv, pools, spiking := 0, 0, 0
	scale := float32(1) // the pending 1/k² of a SumPool2d
	for _, it := range cfg.Features {
		if it == vgg.Pool {
			pools++
			b.add(fmt.Sprintf("pool%d", pools), pool.nodeType(), map[string]*hdf5.Dataset{
				"kernel_size": ints(poolK, poolK), "stride": ints(poolK, poolK), "padding": ints(0, 0)})
			h, w = h/poolK, w/poolK
			if pool == SumPool {
				scale = 1 / float32(poolK*poolK)
			}
			continue
		}
		cv := n.Model.Convs[conv]
		conv++
		name := fmt.Sprintf("conv%d", conv)
		b.add(name, "Conv2d", map[string]*hdf5.Dataset{
			"input_shape": ints(h, w), "weight": weights(cv.Weight.W.Data, scale, cv.OutC, cv.InC, cv.K, cv.K),
			"stride": ints(1, 1), "padding": ints(cv.Pad, cv.Pad), "dilation": ints(1, 1), "groups": scalarInt(1),
			"bias": zeros(cv.OutC)})
		scale = 1
		c = cv.OutC
		if n.SNN != nil {
			b.add("if_"+name, "IF", ifParams(n.SNN.Thresholds[spiking], c, h, w))
			spiking++
		}
	}
	b.add("flatten", "Flatten", map[string]*hdf5.Dataset{"input_type": ints(c, h, w),
		"start_dim": scalarInt(0), "end_dim": scalarInt(-1)})
	for i, l := range n.Model.Linears {
		name := fmt.Sprintf("fc%d", i+1)
		b.add(name, "Linear", map[string]*hdf5.Dataset{"weight": weights(l.Weight.W.Data, scale, l.Out, l.In)})
		scale = 1
		switch {
		case i < len(n.Model.Linears)-1 && n.SNN != nil:
			b.add("if_"+name, "IF", ifParams(n.SNN.Thresholds[spiking], l.Out))
			spiking++
		case i == len(n.Model.Linears)-1 && n.SNN != nil:
			b.add("readout", "I", map[string]*hdf5.Dataset{"r": filled(1, l.Out)})
		}
	}
	b.add("output", "Output", map[string]*hdf5.Dataset{"shape": ints(cfg.Classes)})
	if err := setMeta(b.g.Metadata, n, pool); err != nil {
		return nil, err
	}
	return b.g, nil
}

func (p Pooling) nodeType() string {
	if p == SumPool {
		return "SumPool2d"
	}
	return "AvgPool2d"
}

// ifParams returns an IF layer's parameters: r = 1, v_threshold = θ and
// v_reset = 0 for every neuron of the shape.
func ifParams(theta float32, shape ...int) map[string]*hdf5.Dataset {
	return map[string]*hdf5.Dataset{"r": filled(1, shape...), "v_threshold": filled(theta, shape...),
		"v_reset": filled(0, shape...)}
}

// ints returns a 1-D int64 array.
func ints(v ...int) *hdf5.Dataset {
	d := &hdf5.Dataset{Kind: hdf5.Int64, Shape: []int{len(v)}}
	for _, x := range v {
		d.I64 = append(d.I64, int64(x))
	}
	return d
}

// scalarInt returns an int64 scalar.
func scalarInt(v int) *hdf5.Dataset {
	return &hdf5.Dataset{Kind: hdf5.Int64, I64: []int64{int64(v)}}
}

// filled returns a float32 array of the shape holding v everywhere.
func filled(v float32, shape ...int) *hdf5.Dataset {
	n := 1
	for _, s := range shape {
		n *= s
	}
	d := &hdf5.Dataset{Kind: hdf5.Float32, Shape: shape, F32: make([]float32, n)}
	for i := range d.F32 {
		d.F32[i] = v
	}
	return d
}

// zeros returns a float32 vector of n zeros.
func zeros(n int) *hdf5.Dataset { return filled(0, n) }

// weights returns a copy of w, each value times s (exactly w when s = 1),
// as a float32 array of the shape.
func weights(w []float32, s float32, shape ...int) *hdf5.Dataset {
	d := &hdf5.Dataset{Kind: hdf5.Float32, Shape: shape, F32: make([]float32, len(w))}
	for i, v := range w {
		if s == 1 {
			d.F32[i] = v
		} else {
			d.F32[i] = v * s
		}
	}
	return d
}
