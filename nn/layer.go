package nn

import (
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/tensor"
)

// Param is a trainable weight with its gradient accumulator.
type Param struct {
	Name string         // PyTorch state_dict name, e.g. "features.0.weight"
	W    *tensor.Tensor // value
	G    *tensor.Tensor // gradient, same shape as W; Backward adds to it
}

func newParam(shape ...int) *Param {
	return &Param{W: tensor.New(shape...), G: tensor.New(shape...)}
}

// Mode selects training or inference behaviour for a forward pass.
type Mode struct {
	// Train enables dropout. Dropout layers draw a fresh mask from RNG on
	// each Forward unless their mask is fixed (see Dropout.FixMask).
	Train bool
	// RNG is used for dropout masks in training mode.
	RNG *rand.Rand
}

// Grad selects which gradients a backward pass computes.
type Grad struct {
	Weights bool // add dL/dW to each Param.G
	Input   bool // return dL/dx from the first layer
}

// Layer is one differentiable stage of a network.
type Layer interface {
	// Forward returns the output for x, caching what Backward needs.
	Forward(x *tensor.Tensor, m Mode) *tensor.Tensor
	// Backward returns dL/dx given dL/dy for the last Forward. When
	// g.Weights is set it adds weight gradients to Params. It may return
	// nil when needInput is false.
	Backward(dy *tensor.Tensor, g Grad, needInput bool) *tensor.Tensor
	// Params returns the layer's trainable parameters (nil if none).
	Params() []*Param
}

// reuse returns buf when it already has the given shape, else a new zero
// tensor. Layers keep their output and gradient buffers between calls with
// it, so a layer's returned tensor is valid until that layer's next call.
func reuse(buf *tensor.Tensor, shape []int) *tensor.Tensor {
	if buf != nil && tensor.SameShape(buf.Shape, shape) {
		return buf
	}
	return tensor.New(shape...)
}
