package nn

import "github.com/privatesnn/privatesnn/tensor"

// Sequential applies layers in order.
type Sequential struct {
	Layers []Layer
}

// Forward runs every layer.
func (s *Sequential) Forward(x *tensor.Tensor, m Mode) *tensor.Tensor {
	for _, l := range s.Layers {
		x = l.Forward(x, m)
	}
	return x
}

// Backward propagates dy through the layers in reverse. It returns dL/dx of
// the network input when g.Input is set, else nil; layers before the first
// one with parameters are skipped when no input gradient is wanted.
func (s *Sequential) Backward(dy *tensor.Tensor, g Grad) *tensor.Tensor {
	first := 0
	if !g.Input {
		for first < len(s.Layers) && len(s.Layers[first].Params()) == 0 {
			first++
		}
	}
	for i := len(s.Layers) - 1; i >= first; i-- {
		need := i > first || g.Input
		dy = s.Layers[i].Backward(dy, g, need)
	}
	if !g.Input {
		return nil
	}
	return dy
}

// Params returns every layer's parameters in layer order.
func (s *Sequential) Params() []*Param {
	var ps []*Param
	for _, l := range s.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// ZeroGrad clears every parameter gradient.
func (s *Sequential) ZeroGrad() {
	for _, p := range s.Params() {
		p.G.Zero()
	}
}
