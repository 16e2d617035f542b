package snn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/privatesnn/privatesnn/internal/gemm"
)

// im2colNHWCRef is the reference of im2colNHWC, one tap at a time.
func im2colNHWCRef(cols, in []float32, h, w, cin, k, pad, oh, ow int) {
	rowLen := k * k * cin
	for i := range oh {
		for j := range ow {
			row := cols[(i*ow+j)*rowLen : (i*ow+j+1)*rowLen]
			for a := range k {
				y := i + a - pad
				for b := range k {
					x := j + b - pad
					dst := row[(a*k+b)*cin : (a*k+b+1)*cin]
					if y < 0 || y >= h || x < 0 || x >= w {
						clear(dst)
						continue
					}
					copy(dst, in[(y*w+x)*cin:(y*w+x+1)*cin])
				}
			}
		}
	}
}

// TestIm2colMatchesReference compares im2colNHWC with the tap-by-tap
// reference on random planes, including kernels wider than the image and
// paddings of 0 to K.
func TestIm2colMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, c := range []struct{ h, w, cin, k, pad int }{
		{28, 28, 1, 3, 1}, {14, 14, 32, 3, 1}, {7, 5, 3, 3, 2}, {5, 7, 2, 5, 0}, {2, 3, 4, 5, 4}, {1, 1, 3, 3, 2}, {4, 4, 1, 1, 0},
	} {
		oh, ow := c.h+2*c.pad-c.k+1, c.w+2*c.pad-c.k+1
		in := make([]float32, c.h*c.w*c.cin)
		for i := range in {
			in[i] = rng.Float32()
		}
		n := oh * ow * c.k * c.k * c.cin
		got, want := make([]float32, n), make([]float32, n)
		for i := range got {
			got[i] = -1 // must be overwritten
		}
		im2colNHWC(got, in, c.h, c.w, c.cin, c.k, c.pad, oh, ow)
		im2colNHWCRef(want, in, c.h, c.w, c.cin, c.k, c.pad, oh, ow)
		if !slices.Equal(got, want) {
			t.Errorf("%+v: columns differ from the reference", c)
		}
	}
}

// inputGradFMARef is the specification of convInputGradDirect: for each
// output dx[q, y, x, ci], the sum over k = (a·K+b)·Cout+co of
// gp[y+a, x+b, co]·back[k, ci] (gp: the plane zero-padded by K−1−pad),
// accumulated in k order with fused multiply-adds, in one block for
// K·K·Cout ≤ 448, else in two halves added.
func inputGradFMARef(dst, gI, back []float32, p, oh, ow, cout, cin, k, pad int) {
	pp := k - 1 - pad
	h, w := oh+2*pp-k+1, ow+2*pp-k+1
	K := k * k * cout
	at := func(q, y, x, co int) float32 {
		y, x = y-pp, x-pp
		if y < 0 || y >= oh || x < 0 || x >= ow {
			return 0
		}
		return gI[((q*oh+y)*ow+x)*cout+co]
	}
	for q := range p {
		for y := range h {
			for x := range w {
				for ci := range cin {
					var out float32
					for ls := 0; ls < K; {
						m := K - ls
						if m > 448 {
							m = (m + 1) / 2
						}
						var acc float32
						for kk := ls; kk < ls+m; kk++ {
							tap, co := kk/cout, kk%cout
							g := at(q, y+tap/k, x+tap%k, co)
							acc = float32(math.FMA(float64(g), float64(back[kk*cin+ci]), float64(acc)))
						}
						if ls == 0 {
							out = acc
						} else {
							out += acc
						}
						ls += m
					}
					dst[((q*h+y)*w+x)*cin+ci] = out
				}
			}
		}
	}
}

// TestConvInputGradDirect compares the direct input-gradient kernel with
// its specification bit for bit (K·K·Cout in one block and in two; widths
// that are and are not multiples of the kernel's pixel tile; paddings
// 0..K−1), and, where OpenBLAS runs its SkylakeX kernels, with im2col +
// SGEMM; shapes outside its domain must be declined.
func TestConvInputGradDirect(t *testing.T) {
	if !directInputGradOK || KernelName == "go" {
		if convInputGradDirect(make([]float32, 28*28*32), make([]float32, 28*28*32), make([]float32, 9*32*32), 1, 28, 28, 32, 32, 3, 1, maxColsElems) {
			t.Fatal("kernel ran without AVX-512 or cgo")
		}
		t.Skip("no direct input-gradient kernel in this build or on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	blas := gemm.CurrentInfo()
	for _, c := range []struct {
		p, oh, ow, cout, cin, k, pad, limit int
		ok                                  bool
	}{
		{5, 28, 28, 32, 32, 3, 1, maxColsElems, true},
		{5, 28, 28, 32, 32, 3, 1, 2 * 28 * 28 * 288, true}, // several GEMMs, the last with one plane
		{7, 14, 14, 64, 32, 3, 1, maxColsElems, true},      // K = 576: two blocks
		{3, 14, 14, 64, 64, 3, 1, 14 * 14 * 576, true},
		{4, 9, 15, 16, 16, 3, 0, maxColsElems, true},
		{40, 6, 6, 32, 64, 5, 2, maxColsElems, true}, // K = 800
		{30, 7, 17, 96, 48, 1, 0, maxColsElems, true},
		{400, 4, 3, 16, 16, 3, 2, maxColsElems, true},
		{4, 5, 17, 112, 48, 3, 2, maxColsElems, false}, // K = 1008
		{2, 7, 7, 50, 32, 3, 1, maxColsElems, false},   // K = 450
		{1, 7, 7, 32, 32, 3, 1, maxColsElems, false},   // small GEMM
		{4, 8, 8, 32, 24, 3, 1, maxColsElems, false},   // Cin not a multiple of 16
		{4, 8, 8, 32, 32, 3, 3, maxColsElems, false},   // pad > K−1
	} {
		pp := c.k - 1 - c.pad
		h, w := c.oh+2*pp-c.k+1, c.ow+2*pp-c.k+1
		gI := make([]float32, c.p*c.oh*c.ow*c.cout)
		for i := range gI {
			if rng.IntN(3) > 0 { // about a third zeros, as in ∂L/∂I
				gI[i] = rng.Float32()*2 - 1
			}
		}
		back := make([]float32, c.k*c.k*c.cout*c.cin)
		for i := range back {
			back[i] = rng.Float32()*2 - 1
		}
		got := make([]float32, c.p*max(h, 0)*max(w, 0)*c.cin)
		if ran := convInputGradDirect(got, gI, back, c.p, c.oh, c.ow, c.cout, c.cin, c.k, c.pad, c.limit); ran != c.ok {
			t.Fatalf("%+v: ran %v", c, ran)
		}
		if !c.ok {
			continue
		}
		want := make([]float32, len(got))
		inputGradFMARef(want, gI, back, c.p, c.oh, c.ow, c.cout, c.cin, c.k, c.pad)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%+v: dx[%d] = %g, specification %g", c, i, got[i], want[i])
			}
		}
		if blas.Backend == "openblas" && blas.Core == "SkylakeX" {
			dense := make([]float32, len(got))
			convDenseLimit(dense, gI, back, c.p, c.oh, c.ow, c.cout, c.cin, c.k, pp, nil, c.limit)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(dense[i]) {
					t.Fatalf("%+v: dx[%d] = %g, im2col + OpenBLAS %g", c, i, got[i], dense[i])
				}
			}
		}
	}
}

// TestScanSurrogateMatchesSeparateScans checks the fused neuron and
// surrogate scan against neuronScanStrided and neuronSurrogate bit for bit:
// every surrogate kind, both resets, a current shared by all steps, a
// neuron range inside the layer, and one initial membrane for all neurons
// or one per channel.
func TestScanSurrogateMatchesSeparateScans(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	steps, n, a, b := 9, 300, 17, 290
	for _, kind := range []SurrogateKind{Triangle, FastSigmoid, Atan} {
		for _, reset := range []Reset{ResetSubtract, ResetZero} {
			for ci, cstride := range []int{n, 0, n} {
				cur := make([]float32, steps*n)
				for i := range cur {
					cur[i] = rng.Float32()*3 - 1
				}
				sg := Surrogate{Kind: kind, Gamma: 0.3, Slope: 4}
				theta, leak, u0 := float32(1.1), float32(0.9), float32(0.25)
				out, d := make([]float32, steps*n), make([]float32, steps*n)
				wantOut, wantD := make([]float32, steps*n), make([]float32, steps*n)
				init := initial{u0: u0}
				u := make([]float32, n)
				for i := a; i < b; i++ {
					u[i] = u0
				}
				if ci == 2 { // 12 channels, channels last: neuron i is in channel i mod 12
					init.ch = make([]float32, 12)
					for c := range init.ch {
						init.ch[c] = float32(c)/6 - 0.5
					}
					for i := a; i < b; i++ {
						u[i] = init.ch[i%12]
					}
				}
				count := neuronScanSurrogate(out, d, cur, steps, n, cstride, a, b, theta, leak, reset, init, sg)
				wantCount := neuronScanStrided(wantOut, cur, u, steps, n, cstride, a, b, theta, leak, reset)
				neuronSurrogate(wantD, cur, steps, n, cstride, a, b, theta, leak, reset, init, sg)
				if count != wantCount || count == 0 {
					t.Fatalf("%v %v stride %d: %d spikes, separate scan %d", kind, reset, cstride, count, wantCount)
				}
				for i := range out {
					if math.Float32bits(out[i]) != math.Float32bits(wantOut[i]) || math.Float32bits(d[i]) != math.Float32bits(wantD[i]) {
						t.Fatalf("%v %v stride %d: value %d: spike %g σ' %g, separate scans %g %g", kind, reset, cstride, i, out[i], d[i], wantOut[i], wantD[i])
					}
				}
			}
		}
	}
}
