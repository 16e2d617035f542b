package snn

import "math"

// The portable kernels: the Go twins of the C kernels in kernels_*.c. They
// run where cgo is off (kernels_purego.go); TestKernelTwins compares them
// with the C kernels bit for bit. Every product that is summed is
// converted with float32(…) before the sum: the conversion forbids fusing
// the two into an FMA (as the C kernels' fp-contract pragma does), so no
// build of either rounds differently.

// convEventsGo is the portable event-driven convolution of one plane:
// out[H', W', Cout] (zeroed by the caller) += wt[a, b, ci, :]·v for every
// non-zero input v = in[y, x, ci] and every tap (a, b) that lands inside.
func convEventsGo(out, in, wt []float32, h, w, cin, cout, k, pad int) {
	oh, ow := h+2*pad-k+1, w+2*pad-k+1
	for y := range h {
		for x := range w {
			px := in[(y*w+x)*cin : (y*w+x+1)*cin]
			for ci, v := range px {
				if v == 0 {
					continue
				}
				for a := range k {
					oy := y - a + pad
					if oy < 0 || oy >= oh {
						continue
					}
					for b := range k {
						ox := x - b + pad
						if ox < 0 || ox >= ow {
							continue
						}
						o := out[(oy*ow+ox)*cout : (oy*ow+ox+1)*cout]
						wr := wt[((a*k+b)*cin+ci)*cout : ((a*k+b)*cin+ci+1)*cout]
						axpy(o, wr, v)
					}
				}
			}
		}
	}
}

// linearEventsGo adds wt[i, :]·in[i] into out for every non-zero in[i].
func linearEventsGo(out, in, wt []float32, nin, nout int) {
	for i, v := range in[:nin] {
		if v != 0 {
			axpy(out[:nout], wt[i*nout:(i+1)*nout], v)
		}
	}
}

// axpy adds a·src into dst (the twin of psnn_axpy).
func axpy(dst, src []float32, a float32) {
	src = src[:len(dst)]
	if a == 1 {
		for i, s := range src {
			dst[i] += s
		}
		return
	}
	if a == -1 {
		for i, s := range src {
			dst[i] -= s
		}
		return
	}
	for i, s := range src {
		dst[i] += float32(a * s)
	}
}

// convWeightGradEventsGo adds, for every non-zero input v = in[y, x, ci]
// and every tap (a, b) that lands inside the output, v·g[oy, ox, :] to
// gw[(a·K+b)·Cin+ci, :].
func convWeightGradEventsGo(gw, in, g []float32, h, w, cin, cout, k, pad int) {
	oh, ow := h+2*pad-k+1, w+2*pad-k+1
	for y := range h {
		for x := range w {
			px := in[(y*w+x)*cin : (y*w+x+1)*cin]
			for ci, v := range px {
				if v == 0 {
					continue
				}
				for a := range k {
					oy := y - a + pad
					if oy < 0 || oy >= oh {
						continue
					}
					for b := range k {
						ox := x - b + pad
						if ox < 0 || ox >= ow {
							continue
						}
						axpy(gw[((a*k+b)*cin+ci)*cout:((a*k+b)*cin+ci+1)*cout], g[(oy*ow+ox)*cout:(oy*ow+ox+1)*cout], v)
					}
				}
			}
		}
	}
}

// linearWeightGradEventsGo adds in[i]·g to gw[i, :] for every non-zero
// in[i].
func linearWeightGradEventsGo(gw, in, g []float32, nin, nout int) {
	for i, v := range in[:nin] {
		if v != 0 {
			axpy(gw[i*nout:(i+1)*nout], g[:nout], v)
		}
	}
}

// poolPlaneGo is the portable 2×2 average pool of one plane.
func poolPlaneGo(dst, src []float32, h, w, c int) {
	oh, ow := h/2, w/2
	for i := range oh {
		for j := range ow {
			d := dst[(i*ow+j)*c : (i*ow+j+1)*c]
			r00 := src[((2*i)*w+2*j)*c:]
			r01 := src[((2*i)*w+2*j+1)*c:]
			r10 := src[((2*i+1)*w+2*j)*c:]
			r11 := src[((2*i+1)*w+2*j+1)*c:]
			for ch := range d {
				d[ch] = 0.25 * (r00[ch] + r01[ch] + r10[ch] + r11[ch])
			}
		}
	}
}

// countNonZeroGo returns how many entries of x are non-zero.
func countNonZeroGo(x []float32) int64 {
	var n int64
	for _, v := range x {
		if v != 0 {
			n++
		}
	}
	return n
}

// initial gives the initial membranes of a spiking layer's neurons: ch[c]
// for every neuron of channel c when ch is set (neurons are stored
// channels last, so neuron i belongs to channel i mod len(ch)), else u0 for
// all.
type initial struct {
	u0 float32
	ch []float32
}

// fill sets u[i] to the initial membrane of neuron a + i.
func (in initial) fill(u []float32, a int) {
	if len(in.ch) == 0 {
		for i := range u {
			u[i] = in.u0
		}
		return
	}
	c := a % len(in.ch)
	for i := range u {
		u[i] = in.ch[c]
		if c++; c == len(in.ch) {
			c = 0
		}
	}
}

// neuronStep advances one IF/LIF neuron by one step (the twin of
// psnn_neuron_step): it charges v = λ·u + c, fires when v > θ (strict), and
// then resets the membrane by subtraction (v − θ) or to zero. It returns v,
// the membrane before the reset, the membrane after it, and the spike.
func neuronStep(u, c, theta, leak float32, reset Reset) (v, next float32, spike bool) {
	v = float32(leak*u) + c
	if !(v > theta) {
		return v, v, false
	}
	if reset == ResetSubtract {
		return v, v - theta, true
	}
	return v, 0, true
}

// neuronScanStridedGo runs the IF/LIF recurrence for neurons [a, b) of n
// over steps steps: the current of step t is cur[t·cstride:][:n] (cstride
// n for an [steps, n] current, 0 for one that is the same at every step), u
// (length n, carried state) integrates with leak, out [steps, n] gets 1 for
// a spike (U > θ, strict) and 0 otherwise, and the membrane is reset by
// subtraction or to zero. It returns the number of spikes.
func neuronScanStridedGo(out, cur, u []float32, steps, n, cstride, a, b int, theta, leak float32, reset Reset) int64 {
	var count int64
	for t := range steps {
		c, o := cur[t*cstride+a:t*cstride+b], out[t*n+a:t*n+b]
		uu := u[a:b]
		for i, ci := range c {
			_, next, spike := neuronStep(uu[i], ci, theta, leak, reset)
			uu[i] = next
			o[i] = 0
			if spike {
				count++
				o[i] = 1
			}
		}
	}
	return count
}

// neuronSurrogateGo runs the recurrence of neuronScanStridedGo for neurons
// [a, b) from their initial membranes u0 and writes σ'(U[t]) into d
// [steps, n] instead of the spikes, U[t] being the membrane before the
// reset.
func neuronSurrogateGo(d, cur []float32, steps, n, cstride, a, b int, theta, leak float32, reset Reset, u0 initial, sg Surrogate) {
	u := make([]float32, b-a)
	u0.fill(u, a)
	h, slope := float32(sg.Gamma)/theta, float32(sg.Slope)
	inv := 1 / theta
	for t := range steps {
		c, o := cur[t*cstride+a:t*cstride+b], d[t*n+a:t*n+b]
		for i, ci := range c {
			v, next, _ := neuronStep(u[i], ci, theta, leak, reset)
			u[i] = next
			o[i] = surrogateAt(sg.Kind, h, slope, float32(v*inv)-1)
		}
	}
}

// neuronScanSurrogateGo is neuronScanStridedGo (spikes into out, membranes
// starting at u0) and neuronSurrogateGo (σ'(U) into d) in one pass over
// cur; it returns the spike count.
func neuronScanSurrogateGo(out, d, cur []float32, steps, n, cstride, a, b int, theta, leak float32, reset Reset, u0 initial, sg Surrogate) int64 {
	u := make([]float32, b-a)
	u0.fill(u, a)
	h, slope := float32(sg.Gamma)/theta, float32(sg.Slope)
	inv := 1 / theta
	var count int64
	for t := range steps {
		c, o, dd := cur[t*cstride+a:t*cstride+b], out[t*n+a:t*n+b], d[t*n+a:t*n+b]
		for i, ci := range c {
			v, next, spike := neuronStep(u[i], ci, theta, leak, reset)
			u[i] = next
			dd[i] = surrogateAt(sg.Kind, h, slope, float32(v*inv)-1)
			o[i] = 0
			if spike {
				count++
				o[i] = 1
			}
		}
	}
	return count
}

// neuronReverseGo is the portable reverse scan of neurons [a, b) (see
// backward.reverse): going back in time, v = g·d + carry (the carry is 0
// after a spike when obits is given), g = v, carry = λ·v.
func neuronReverseGo(g, d []float32, obits []uint64, T, n, a, b int, leak float32) {
	carry := make([]float32, b-a)
	for t := T - 1; t >= 0; t-- {
		gr, dr := g[t*n+a:t*n+b], d[t*n+a:t*n+b]
		for i := range gr {
			c := carry[i]
			if obits != nil {
				j := t*n + a + i
				if obits[j>>6]>>(j&63)&1 != 0 {
					c = 0
				}
			}
			v := float32(gr[i]*dr[i]) + c
			gr[i] = v
			carry[i] = leak * v
		}
	}
}

// surrogateAt evaluates the shape at x = u/θ − 1 with peak height h = γ/θ
// (the twin of psnn_surrogate).
func surrogateAt(k SurrogateKind, h, slope, x float32) float32 {
	switch k {
	case FastSigmoid:
		d := 1 + float32(slope*abs32(x))
		return h / (d * d)
	case Atan:
		a := float32(math.Pi/2) * slope * x
		return h / (1 + float32(a*a))
	}
	if t := 1 - abs32(x); t > 0 {
		return h * t
	}
	return 0
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
