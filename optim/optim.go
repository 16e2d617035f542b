// Package optim provides the optimisers and learning-rate schedule used to
// train privatesnn networks: SGD with momentum and weight decay, Adam with
// optional AMSGrad, and a step schedule at fractions of the run. Update
// rules follow PyTorch's (weight decay is L2 added to the gradient).
//
// # Error handling
//
// Step panics if a parameter's gradient shape differs from its value's
// (a programmer error). LoadState returns an error for state that does not
// match the parameters, since it comes from a file.
//
// # Concurrency
//
// An optimiser holds per-parameter state and is not safe for concurrent use.
package optim

import (
	"fmt"
	"math"

	"github.com/privatesnn/privatesnn/nn"
	"github.com/privatesnn/privatesnn/tensor"
)

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update to every parameter from p.G.
	Step(params []*nn.Param)
	// SetLR sets the learning rate.
	SetLR(lr float64)
	// LR returns the learning rate.
	LR() float64
	// State returns the optimiser's per-parameter buffers by name, for
	// checkpoints.
	State() map[string]*tensor.Tensor
	// LoadState restores buffers saved by State.
	LoadState(map[string]*tensor.Tensor) error
}

// SGD is stochastic gradient descent with momentum and L2 weight decay:
// g ← ∇ + wd·w; b ← μ·b + g (b = g on the first step); w ← w − lr·b.
type SGD struct {
	Rate, Momentum, WeightDecay float64

	buf map[string][]float32
}

// NewSGD returns an SGD optimiser.
func NewSGD(lr, momentum, weightDecay float64) *SGD {
	return &SGD{Rate: lr, Momentum: momentum, WeightDecay: weightDecay, buf: map[string][]float32{}}
}

// SetLR implements Optimizer.
func (o *SGD) SetLR(lr float64) { o.Rate = lr }

// LR implements Optimizer.
func (o *SGD) LR() float64 { return o.Rate }

// Step implements Optimizer.
func (o *SGD) Step(params []*nn.Param) {
	lr, mu, wd := float32(o.Rate), float32(o.Momentum), float32(o.WeightDecay)
	for _, p := range params {
		checkParam(p)
		w, g := p.W.Data, p.G.Data
		if mu == 0 {
			for i := range w {
				w[i] -= lr * (g[i] + wd*w[i])
			}
			continue
		}
		b, ok := o.buf[p.Name]
		if !ok {
			b = make([]float32, len(w))
			for i := range w {
				b[i] = g[i] + wd*w[i]
			}
			o.buf[p.Name] = b
		} else {
			for i := range w {
				b[i] = mu*b[i] + g[i] + wd*w[i]
			}
		}
		for i := range w {
			w[i] -= lr * b[i]
		}
	}
}

// State implements Optimizer.
func (o *SGD) State() map[string]*tensor.Tensor {
	s := map[string]*tensor.Tensor{}
	for name, b := range o.buf {
		s[name+".momentum"] = tensor.FromData(append([]float32(nil), b...), len(b))
	}
	return s
}

// LoadState implements Optimizer.
func (o *SGD) LoadState(s map[string]*tensor.Tensor) error {
	o.buf = map[string][]float32{}
	for k, t := range s {
		name, ok := cut(k, ".momentum")
		if !ok {
			return fmt.Errorf("sgd state: unexpected entry %q", k)
		}
		o.buf[name] = append([]float32(nil), t.Data...)
	}
	return nil
}

// Adam is Adam (Kingma & Ba) with optional AMSGrad and L2 weight decay added
// to the gradient, as torch.optim.Adam does.
type Adam struct {
	Rate, Beta1, Beta2, Eps, WeightDecay float64
	AMSGrad                              bool

	steps map[string]int
	m, v  map[string][]float32
	vmax  map[string][]float32
}

// NewAdam returns Adam with β = (0.9, 0.999) and ε = 1e-8.
func NewAdam(lr, weightDecay float64, amsgrad bool) *Adam {
	return &Adam{Rate: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay, AMSGrad: amsgrad,
		steps: map[string]int{}, m: map[string][]float32{}, v: map[string][]float32{}, vmax: map[string][]float32{}}
}

// SetLR implements Optimizer.
func (o *Adam) SetLR(lr float64) { o.Rate = lr }

// LR implements Optimizer.
func (o *Adam) LR() float64 { return o.Rate }

// Step implements Optimizer.
func (o *Adam) Step(params []*nn.Param) {
	for _, p := range params {
		checkParam(p)
		o.step(p.Name, p.W.Data, p.G.Data)
	}
}

// StepSlice applies one Adam update to w from gradient g, keyed by name.
// Synthesis uses it to optimise images, which are not nn.Params.
func (o *Adam) StepSlice(name string, w, g []float32) { o.step(name, w, g) }

func (o *Adam) step(name string, w, g []float32) {
	if len(w) != len(g) {
		panic(fmt.Sprintf("optim: %s has %d values and %d gradients", name, len(w), len(g)))
	}
	m, ok := o.m[name]
	if !ok {
		m, o.v[name] = make([]float32, len(w)), make([]float32, len(w))
		o.m[name] = m
		if o.AMSGrad {
			o.vmax[name] = make([]float32, len(w))
		}
	}
	v, vmax := o.v[name], o.vmax[name]
	o.steps[name]++
	t := float64(o.steps[name])
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	bc1 := 1 - math.Pow(o.Beta1, t)
	bc2 := math.Sqrt(1 - math.Pow(o.Beta2, t))
	stepSize := float32(o.Rate / bc1)
	eps, wd, inv := float32(o.Eps), float32(o.WeightDecay), float32(1/bc2)
	for i := range w {
		gi := g[i] + wd*w[i]
		m[i] = b1*m[i] + (1-b1)*gi
		v[i] = b2*v[i] + (1-b2)*gi*gi
		vi := v[i]
		if vmax != nil {
			vmax[i] = max(vmax[i], vi)
			vi = vmax[i]
		}
		w[i] -= stepSize * m[i] / (float32(math.Sqrt(float64(vi)))*inv + eps)
	}
}

// State implements Optimizer.
func (o *Adam) State() map[string]*tensor.Tensor {
	s := map[string]*tensor.Tensor{}
	for name, m := range o.m {
		s[name+".exp_avg"] = tensor.FromData(append([]float32(nil), m...), len(m))
		s[name+".exp_avg_sq"] = tensor.FromData(append([]float32(nil), o.v[name]...), len(m))
		if vm := o.vmax[name]; vm != nil {
			s[name+".max_exp_avg_sq"] = tensor.FromData(append([]float32(nil), vm...), len(m))
		}
		s[name+".step"] = tensor.FromData([]float32{float32(o.steps[name])}, 1)
	}
	return s
}

// LoadState implements Optimizer.
func (o *Adam) LoadState(s map[string]*tensor.Tensor) error {
	o.steps, o.m, o.v, o.vmax = map[string]int{}, map[string][]float32{}, map[string][]float32{}, map[string][]float32{}
	for k, t := range s {
		switch {
		case hasSuffix(k, ".max_exp_avg_sq"):
			o.vmax[k[:len(k)-len(".max_exp_avg_sq")]] = append([]float32(nil), t.Data...)
		case hasSuffix(k, ".exp_avg_sq"):
			o.v[k[:len(k)-len(".exp_avg_sq")]] = append([]float32(nil), t.Data...)
		case hasSuffix(k, ".exp_avg"):
			o.m[k[:len(k)-len(".exp_avg")]] = append([]float32(nil), t.Data...)
		case hasSuffix(k, ".step"):
			if len(t.Data) != 1 || t.Data[0] < 0 {
				return fmt.Errorf("adam state: bad step entry %q", k)
			}
			o.steps[k[:len(k)-len(".step")]] = int(t.Data[0])
		default:
			return fmt.Errorf("adam state: unexpected entry %q", k)
		}
	}
	for name, m := range o.m {
		if len(o.v[name]) != len(m) || (o.AMSGrad && len(o.vmax[name]) != len(m)) {
			return fmt.Errorf("adam state: incomplete buffers for %q", name)
		}
	}
	return nil
}

func checkParam(p *nn.Param) {
	if len(p.W.Data) != len(p.G.Data) {
		panic(fmt.Sprintf("optim: parameter %s has %d values and %d gradients", p.Name, len(p.W.Data), len(p.G.Data)))
	}
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

func cut(s, suf string) (string, bool) {
	if !hasSuffix(s, suf) {
		return "", false
	}
	return s[:len(s)-len(suf)], true
}
