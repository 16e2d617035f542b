package snn

import (
	"github.com/privatesnn/privatesnn/internal/gemm"
	"github.com/privatesnn/privatesnn/internal/parallel"
)

// Layouts used by the kernels (all row-major float32):
//
//	activations  [P, H, W, C]  P = planes (time steps × images), channels last
//	conv weights [K, K, Cin, Cout]  wt[(a·K+b)·Cin+ci][co] = W[co][ci][a][b]
//	linear weights [In, Out]        wt[i][o] = W[o][i]

// transposeConv reorders PyTorch conv weights [Cout, Cin, K, K] into
// [K, K, Cin, Cout].
func transposeConv(w []float32, cout, cin, k int) []float32 {
	return transposeConvInto(nil, w, cout, cin, k)
}

// transposeConvInto is transposeConv writing into t when it is large enough.
func transposeConvInto(t, w []float32, cout, cin, k int) []float32 {
	t = grow(t, len(w))
	for co := range cout {
		for ci := range cin {
			for a := range k {
				for b := range k {
					t[((a*k+b)*cin+ci)*cout+co] = w[((co*cin+ci)*k+a)*k+b]
				}
			}
		}
	}
	return t
}

// flipConvInto writes into t (grown as needed) the weights of the
// convolution that maps an output gradient [OH, OW, Cout] to the input
// gradient [H, W, Cin] of a stride-1 conv: [K, K, Cout, Cin] with the
// kernel rotated by 180°, t[(a·K+b)·Cout+co][ci] = W[co][ci][K−1−a][K−1−b].
// Run with padding K−1−pad it gives ∂L/∂in = Σ W·∂L/∂out over the taps.
func flipConvInto(t, w []float32, cout, cin, k int) []float32 {
	t = grow(t, len(w))
	for co := range cout {
		for ci := range cin {
			for a := range k {
				for b := range k {
					t[(((k-1-a)*k+(k-1-b))*cout+co)*cin+ci] = w[((co*cin+ci)*k+a)*k+b]
				}
			}
		}
	}
	return t
}

// convDense computes out[P, OH, OW, Cout] = conv(in[P, H, W, Cin]) with
// im2col and GEMM, chunked so the column buffer stays below maxColsElems.
func convDense(out, in, wt []float32, p, h, w, cin, cout, k, pad int, cols []float32) []float32 {
	return convDenseLimit(out, in, wt, p, h, w, cin, cout, k, pad, cols, maxColsElems)
}

// convDenseLimit is convDense with the column buffer bounded by limit
// values (one plane's columns at least).
func convDenseLimit(out, in, wt []float32, p, h, w, cin, cout, k, pad int, cols []float32, limit int) []float32 {
	oh, ow := h+2*pad-k+1, w+2*pad-k+1
	rowLen := k * k * cin
	perPlane := oh * ow * rowLen
	chunk := max(1, min(p, limit/max(perPlane, 1)))
	if cap(cols) < chunk*perPlane {
		cols = make([]float32, chunk*perPlane)
	}
	for p0 := 0; p0 < p; p0 += chunk {
		p1 := min(p, p0+chunk)
		c := cols[:(p1-p0)*perPlane]
		parallel.For(p1-p0, len(c), func(lo, hi int) {
			for q := lo; q < hi; q++ {
				im2colNHWC(c[q*perPlane:(q+1)*perPlane], in[(p0+q)*h*w*cin:(p0+q+1)*h*w*cin], h, w, cin, k, pad, oh, ow)
			}
		})
		rows := (p1 - p0) * oh * ow
		gemm.Sgemm(false, false, rows, cout, rowLen, 1, c, rowLen, wt, cout, 0, out[p0*oh*ow*cout:], cout)
	}
	return cols
}

// maxColsElems bounds the im2col buffer of convDense (64 MiB).
const maxColsElems = 16 << 20

// im2colNHWC writes one plane's columns: row (i, j) holds the K×K×Cin
// patch around output pixel (i, j), zero outside the image. The taps of one
// kernel row that land inside the image are adjacent pixels of one image
// row, contiguous in [H, W, Cin], so each is one copy.
func im2colNHWC(cols, in []float32, h, w, cin, k, pad, oh, ow int) {
	rowLen := k * k * cin
	for i := range oh {
		for j := range ow {
			row := cols[(i*ow+j)*rowLen : (i*ow+j+1)*rowLen]
			// Taps b in [b0, b1) land inside columns 0..w−1.
			x0 := j - pad
			b0, b1 := max(0, -x0), min(k, w-x0)
			for a := range k {
				y := i + a - pad
				dst := row[a*k*cin : (a+1)*k*cin]
				if y < 0 || y >= h || b0 >= b1 {
					clear(dst)
					continue
				}
				clear(dst[:b0*cin])
				copy(dst[b0*cin:b1*cin], in[(y*w+x0+b0)*cin:(y*w+x0+b1)*cin])
				clear(dst[b1*cin:])
			}
		}
	}
}

// linearDense computes out[P, Out] = in[P, In] · wt[In, Out].
func linearDense(out, in, wt []float32, p, nin, nout int) {
	gemm.Sgemm(false, false, p, nout, nin, 1, in, nin, wt, nout, 0, out, nout)
}

// poolNHWC averages 2×2 windows (stride 2, floor) of P planes [H, W, C].
func poolNHWC(out, in []float32, p, h, w, c int) {
	oh, ow := h/2, w/2
	parallel.For(p, len(in), func(lo, hi int) {
		for q := lo; q < hi; q++ {
			poolPlane(out[q*oh*ow*c:(q+1)*oh*ow*c], in[q*h*w*c:(q+1)*h*w*c], h, w, c)
		}
	})
}
