package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/internal/parallel"
	"github.com/privatesnn/privatesnn/tensor"
)

// maxColsElems bounds the im2col scratch buffer (64 MiB of float32); larger
// batches are processed in chunks of images.
const maxColsElems = 16 << 20

// Conv2D is a K×K convolution with stride 1, zero padding Pad and no bias,
// operating on CNHW tensors [Cin, N, H, W] → [Cout, N, H', W'] with
// H' = H + 2·Pad − K + 1.
//
// Forward computes y[co, n, i, j] = Σ_{ci,a,b} w[co, ci, a, b] · x[ci, n, i+a−Pad, j+b−Pad].
//
// # Backends
//
// Two implementations compute the same function (ConvBackend says which
// runs; see conv_fast.go and package internal/dnnl):
//
//   - oneDNN, when libdnnl.so.2 (Debian's libdnnl2, oneDNN 2.x) can be
//     loaded at run time: forward, backward-data and backward-weights
//     primitives with oneDNN's AVX-512/AVX2 JIT kernels on blocked layouts
//     (nChw16c), built once per input shape and cached in the Conv2D, with
//     CNHW↔blocked conversions around each call. This is what makes
//     PyTorch's CPU training fast; the GEMM path does badly exactly where
//     oneDNN is strong: the weight-gradient GEMM (M=Cout small, K=N·H'·W'
//     huge, ~30 GFLOP/s in OpenBLAS), the transposed dcols GEMM and the
//     col2im scatter.
//   - im2col + GEMM (package internal/gemm: OpenBLAS, or pure Go without
//     cgo): one GEMM per chunk of images, W [Cout, Cin·K·K] × cols
//     [Cin·K·K, n·H'·W']. It runs when oneDNN is absent, when cgo is off,
//     when PRIVATESNN_NO_DNNL is set, for a shape oneDNN fails on, and for
//     InC·K·K ≤ 9 (a grey-image first layer), where it is faster.
//
// Both are deterministic for a fixed thread count and agree to float32
// rounding (tested to 1e-5 relative), not bit for bit. oneDNN's OpenMP
// threads follow gemm.SetThreads (GOMAXPROCS by default).
type Conv2D struct {
	InC, OutC, K, Pad int
	Weight            *Param // [OutC, InC, K, K]

	x      *tensor.Tensor // cached input
	cols   []float32      // im2col scratch; holds the whole batch when cached
	cached bool           // cols holds the im2col of x for the whole batch
	dcols  []float32

	fast fastConv // oneDNN state
}

// NewConv2D returns a convolution with zero weights.
func NewConv2D(inC, outC, k, pad int) *Conv2D {
	if inC < 1 || outC < 1 || k < 1 || pad < 0 {
		panic(fmt.Sprintf("nn: invalid Conv2D(%d, %d, %d, %d)", inC, outC, k, pad))
	}
	return &Conv2D{InC: inC, OutC: outC, K: k, Pad: pad, Weight: newParam(outC, inC, k, k)}
}

// InitKaiming draws weights from N(0, 2/fan_in), fan_in = InC·K·K
// (PyTorch's kaiming_normal_ with mode fan_in and the ReLU gain).
func (c *Conv2D) InitKaiming(rng *rand.Rand) {
	c.Weight.W.RandNormal(rng, math.Sqrt(2/float64(c.InC*c.K*c.K)))
}

// Params implements Layer.
func (c *Conv2D) Params() []*Param { return []*Param{c.Weight} }

func (c *Conv2D) outHW(h, w int) (int, int) { return h + 2*c.Pad - c.K + 1, w + 2*c.Pad - c.K + 1 }

// chunk returns how many images fit in one im2col buffer.
func (c *Conv2D) chunk(n, ohw int) int {
	rows := c.InC * c.K * c.K
	per := max(1, maxColsElems/max(1, rows*ohw))
	return min(n, per)
}

// Forward implements Layer. x is [InC, N, H, W].
func (c *Conv2D) Forward(x *tensor.Tensor, m Mode) *tensor.Tensor {
	if len(x.Shape) != 4 || x.Shape[0] != c.InC {
		panic(fmt.Sprintf("nn: Conv2D(%d→%d) got input %v, want [%d, N, H, W]", c.InC, c.OutC, x.Shape, c.InC))
	}
	n, h, w := x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := c.outHW(h, w)
	y := tensor.New(c.OutC, n, oh, ow)
	c.x = x
	c.cached = false
	if c.fastForward(x, y, m) {
		return y
	}
	rows := c.InC * c.K * c.K
	ohw := oh * ow
	cn := c.chunk(n, ohw)
	c.cached = m.Train && cn == n
	c.cols = grow(c.cols, rows*cn*ohw)
	for n0 := 0; n0 < n; n0 += cn {
		n1 := min(n, n0+cn)
		cols := c.cols[:rows*(n1-n0)*ohw]
		im2col(cols, x.Data, c.InC, n, h, w, n0, n1, c.K, c.Pad, oh, ow)
		gemm.Sgemm(false, false, c.OutC, (n1-n0)*ohw, rows, 1, c.Weight.W.Data, rows,
			cols, (n1-n0)*ohw, 0, y.Data[n0*ohw:], n*ohw)
	}
	return y
}

// Backward implements Layer.
func (c *Conv2D) Backward(dy *tensor.Tensor, g Grad, needInput bool) *tensor.Tensor {
	if c.x == nil {
		panic("nn: Conv2D.Backward before Forward")
	}
	x := c.x
	n, h, w := x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := c.outHW(h, w)
	ohw := oh * ow
	if !tensor.SameShape(dy.Shape, []int{c.OutC, n, oh, ow}) {
		panic(fmt.Sprintf("nn: Conv2D.Backward got dy %v, want %v", dy.Shape, []int{c.OutC, n, oh, ow}))
	}
	if dx, ok := c.fastBackward(dy, g, needInput); ok {
		return dx
	}
	rows := c.InC * c.K * c.K
	cn := c.chunk(n, ohw)
	if g.Weights {
		c.cols = grow(c.cols, rows*cn*ohw) // keeps a cached im2col
	}
	var dx *tensor.Tensor
	if needInput {
		dx = tensor.New(x.Shape...)
		c.dcols = grow(c.dcols, rows*cn*ohw)
	}
	for n0 := 0; n0 < n; n0 += cn {
		n1 := min(n, n0+cn)
		cols := (n1 - n0) * ohw
		if g.Weights {
			buf := c.cols[:rows*cols]
			if !c.cached {
				im2col(buf, x.Data, c.InC, n, h, w, n0, n1, c.K, c.Pad, oh, ow)
			}
			gemm.Sgemm(false, true, c.OutC, rows, cols, 1, dy.Data[n0*ohw:], n*ohw,
				buf, cols, 1, c.Weight.G.Data, rows)
		}
		if needInput {
			dcols := c.dcols[:rows*cols]
			gemm.Sgemm(true, false, rows, cols, c.OutC, 1, c.Weight.W.Data, rows,
				dy.Data[n0*ohw:], n*ohw, 0, dcols, cols)
			col2im(dx.Data, dcols, c.InC, n, h, w, n0, n1, c.K, c.Pad, oh, ow)
		}
	}
	c.cached = false
	return dx
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// im2col fills cols [InC·K·K, (n1−n0)·oh·ow] from images n0..n1 of the CNHW
// tensor x [inC, n, h, w]; out-of-image taps are 0.
func im2col(cols, x []float32, inC, n, h, w, n0, n1, k, pad, oh, ow int) {
	nc := (n1 - n0) * oh * ow
	parallel.For(inC*k*k, len(cols), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ci, a, b := r/(k*k), r/k%k, r%k
			dst := cols[r*nc : (r+1)*nc]
			for img := n0; img < n1; img++ {
				src := x[(ci*n+img)*h*w : (ci*n+img+1)*h*w]
				d := dst[(img-n0)*oh*ow : (img-n0+1)*oh*ow]
				for i := range oh {
					si := i + a - pad
					row := d[i*ow : (i+1)*ow]
					if si < 0 || si >= h {
						clear(row)
						continue
					}
					srow := src[si*w : (si+1)*w]
					// j ranges where sj = j + b − pad is inside [0, w).
					jlo, jhi := max(0, pad-b), min(ow, w+pad-b)
					clear(row[:max(0, jlo)])
					if jhi > jlo {
						copy(row[jlo:jhi], srow[jlo+b-pad:jhi+b-pad])
					}
					if jhi < ow {
						clear(row[max(jhi, 0):])
					}
				}
			}
		}
	})
}

// col2im adds the columns back into dx (the adjoint of im2col). Work is split
// by input channel so goroutines never write the same element.
func col2im(dx, cols []float32, inC, n, h, w, n0, n1, k, pad, oh, ow int) {
	nc := (n1 - n0) * oh * ow
	parallel.For(inC, len(cols), func(lo, hi int) {
		for ci := lo; ci < hi; ci++ {
			for a := range k {
				for b := range k {
					r := (ci*k+a)*k + b
					src := cols[r*nc : (r+1)*nc]
					jlo, jhi := max(0, pad-b), min(ow, w+pad-b)
					if jhi <= jlo {
						continue
					}
					for img := n0; img < n1; img++ {
						dst := dx[(ci*n+img)*h*w : (ci*n+img+1)*h*w]
						s := src[(img-n0)*oh*ow : (img-n0+1)*oh*ow]
						for i := range oh {
							si := i + a - pad
							if si < 0 || si >= h {
								continue
							}
							drow := dst[si*w+jlo+b-pad : si*w+jhi+b-pad]
							srow := s[i*ow+jlo : i*ow+jhi]
							for j, v := range srow {
								drow[j] += v
							}
						}
					}
				}
			}
		}
	})
}
