// Package dnnl runs 2-D convolutions through oneDNN (Intel's Deep Neural
// Network Library), the library behind PyTorch's fast CPU convolutions.
//
// # Overview
//
// With cgo enabled, the first use loads libdnnl.so.2 (oneDNN 2.x, Debian's
// libdnnl2 package) with dlopen, so neither building nor running requires
// it: when it is missing, Available reports false and callers fall back to
// their own implementation. Tensors are CNHW ([C, N, H, W], the layout of
// package nn) and weights OIHW; each Conv converts them to and from the
// blocked layouts oneDNN's JIT kernels prefer (nChw16c and friends), keeping
// the converted input of the forward pass for the weight gradient.
//
// oneDNN in Debian uses OpenMP (libgomp). All executions run on one locked
// OS thread (libgomp keeps a thread pool per calling thread), with the
// OpenMP thread count set before each to SetThreads's value (GOMAXPROCS by
// default); OMP_NUM_THREADS, if unset, is set to the same value before the
// library loads. When neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set,
// OMP_WAIT_POLICY=passive is set: spinning OpenMP threads made training
// steps 2-4× slower on a machine shared with other work. Set
// PRIVATESNN_NO_DNNL to any value to disable oneDNN.
//
// # Error handling
//
// NewConv and the Conv methods return errors when oneDNN cannot build or run
// a primitive, naming the oneDNN call that failed and the dnnl_status_t it
// returned (for example "dnnl_invalid_arguments (2)"); they panic on
// programmer errors (slices of the wrong length).
//
// # Concurrency
//
// A Conv must not be used from two goroutines at once. Distinct Convs may
// be used concurrently (each has its own stream and scratchpad); their
// executions are serialised on the worker thread, each using all threads.
package dnnl

import (
	"fmt"
	"runtime"
)

// statusNames are the names of oneDNN's dnnl_status_t values, indexed by
// value (dnnl_types.h; psnn_dnnl.c checks the values against it where it is
// installed).
var statusNames = [...]string{
	"dnnl_success", "dnnl_out_of_memory", "dnnl_invalid_arguments", "dnnl_unimplemented",
	"dnnl_iterator_ends", "dnnl_runtime_error", "dnnl_not_required",
}

// statusName returns oneDNN's name for the status s with its value, e.g.
// "dnnl_invalid_arguments (2)".
func statusName(s int) string {
	if s >= 0 && s < len(statusNames) {
		return fmt.Sprintf("%s (%d)", statusNames[s], s)
	}
	return fmt.Sprintf("unknown oneDNN status %d", s)
}

// Shape describes a K×K, stride-1 convolution with zero padding Pad and no
// bias, from [InC, N, H, W] to [OutC, N, H+2·Pad−K+1, W+2·Pad−K+1].
type Shape struct {
	InC, OutC, N, H, W, K, Pad int
}

// OutHW returns the output height and width.
func (s Shape) OutHW() (int, int) { return s.H + 2*s.Pad - s.K + 1, s.W + 2*s.Pad - s.K + 1 }

// Available loads oneDNN if needed and reports whether it can be used.
func Available() bool { return available() }

// Info describes the loaded library, or why it is not used.
func Info() string {
	if !available() {
		return "oneDNN unavailable: " + note
	}
	s := "oneDNN " + version
	if note != "" {
		s += " (" + note + ")"
	}
	return s
}

// SetThreads sets the number of threads oneDNN uses (n < 1: GOMAXPROCS).
func SetThreads(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	setThreads(n)
}

// Conv holds oneDNN primitives and buffers for one convolution shape.
type Conv struct {
	shape Shape
	c     *conv
}

// NewConv builds the forward primitive for s (the backward ones are built on
// first use). It fails when oneDNN is unavailable.
func NewConv(s Shape) (*Conv, error) {
	if s.InC < 1 || s.OutC < 1 || s.N < 1 || s.K < 1 || s.Pad < 0 {
		return nil, fmt.Errorf("dnnl: invalid shape %+v", s)
	}
	if oh, ow := s.OutHW(); oh < 1 || ow < 1 {
		return nil, fmt.Errorf("dnnl: shape %+v has an empty output", s)
	}
	if !available() {
		return nil, fmt.Errorf("dnnl: %s", note)
	}
	c, err := newConv(s)
	if err != nil {
		return nil, err
	}
	return &Conv{shape: s, c: c}, nil
}

// Shape returns the shape c was built for.
func (c *Conv) Shape() Shape { return c.shape }

// Impl names oneDNN's implementations for forward, backward-data and
// backward-weights (empty until built), e.g. "jit:avx512_common".
func (c *Conv) Impl() [3]string { return c.c.impl() }

// Close releases the native resources now instead of at garbage collection.
func (c *Conv) Close() {
	if c.c != nil {
		c.c.free()
		c.c = nil
	}
}

func (c *Conv) check(name string, s []float32, n int) {
	if len(s) != n {
		panic(fmt.Sprintf("dnnl: %s has %d elements, want %d (shape %+v)", name, len(s), n, c.shape))
	}
}

// Forward sets y [OutC, N, H', W'] to the convolution of x [InC, N, H, W]
// with w [OutC, InC, K, K].
func (c *Conv) Forward(x, w, y []float32) error {
	s := c.shape
	oh, ow := s.OutHW()
	c.check("x", x, s.InC*s.N*s.H*s.W)
	c.check("w", w, s.OutC*s.InC*s.K*s.K)
	c.check("y", y, s.OutC*s.N*oh*ow)
	return c.c.forward(x, w, y)
}

// Backward computes, from the output gradient dy, the input gradient into dx
// (overwritten; skipped when dx is nil) and the weight gradient into dw
// (overwritten; skipped when dw is nil). x and w are the forward pass's
// input and weights. srcCached promises that the last Forward on c used this
// x unchanged, so its converted copy can be reused.
func (c *Conv) Backward(x, dy, w, dx, dw []float32, srcCached bool) error {
	s := c.shape
	oh, ow := s.OutHW()
	c.check("x", x, s.InC*s.N*s.H*s.W)
	c.check("dy", dy, s.OutC*s.N*oh*ow)
	c.check("w", w, s.OutC*s.InC*s.K*s.K)
	if dx != nil {
		c.check("dx", dx, len(x))
	}
	if dw != nil {
		c.check("dw", dw, len(w))
	}
	if dx == nil && dw == nil {
		return nil
	}
	return c.c.backward(x, dy, w, dx, dw, srcCached)
}
