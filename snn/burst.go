package snn

// Burst spikes (Config.Burst = G ≥ 2). A burst neuron charges like an
// IF/LIF neuron, v = λ·u + c, and fires k spikes at once, k the largest
// integer in 0..G with v > k·θ (strict, k·θ rounded to float32), then
// lowers its membrane by k·θ. The next layer receives k as the spike's
// value, so one step carries up to G·θ of the layer's output instead of θ:
// with a threshold of clip/G, a layer passes on its activation at G times
// the resolution of an ordinary neuron per step, at the cost of up to G
// spikes per step. With Config.Signed as well, a neuron that fires no
// positive spike fires a negative one as a signed neuron does
// (signedBurstStep); a signed neuron is the case g = 1. The forward scan
// has a C twin (psnn_burst_scan, used in cgo builds), and so has the
// surrogate scan of backpropagation (psnn_burst_surrogate_scan).

// burstStep advances one burst neuron (membrane u) by one step with
// current c: it charges v = λ·u + c, fires the largest k ≤ g with
// v > k·θ and resets by subtraction. It returns v, the membrane before
// the reset, the membrane after it and the spike count k.
func burstStep(u, c, theta, leak float32, g int) (v, next, k float32) {
	v = float32(leak*u) + c
	n := 0
	for n < g && v > float32(n+1)*theta {
		n++
	}
	k = float32(n)
	return v, v - float32(k*theta), k
}

// burstSurrogate is the surrogate derivative of a burst neuron's spike
// count with respect to its membrane v before the reset: the count is
// Σ_{k=1..g} H(v/θ − k), so its derivative is Σ_k σ'(v/θ − k).
func burstSurrogate(sg Surrogate, h, slope, inv, v float32, g int) float32 {
	x := float32(v * inv)
	var d float32
	for k := 1; k <= g; k++ {
		d += surrogateAt(sg.Kind, h, slope, x-float32(k))
	}
	return d
}

// signedBurstStep advances one signed burst neuron (membrane u, net count
// q) by one step with current c: it charges v = λ·u + c and fires the
// largest k ≤ g with v > k·θ, or −1 when v < 0 (strict) and q > 0, and
// resets by subtraction (v − θ·s). With g = 1 it is the signed neuron of
// Config.Signed (psnn_signed_scan runs it in cgo builds). It returns
// v, the membrane and count after the step, and the spike s ∈ −1..g.
func signedBurstStep(u, q, c, theta, leak float32, g int) (v, next, nextQ, s float32) {
	v = float32(leak*u) + c
	n := 0
	for n < g && v > float32(n+1)*theta {
		n++
	}
	switch {
	case n > 0:
		s = float32(n)
	case v < 0 && q > 0:
		s = -1
	default:
		return v, v, q, 0
	}
	return v, v - float32(s*theta), q + s, s
}

// signedBurstSurrogate is the surrogate derivative of a signed burst
// neuron's spike: burstSurrogate plus, where the neuron could fire a
// negative spike (q > 0 before the step), σ'(v/θ).
func signedBurstSurrogate(sg Surrogate, h, slope, inv, v, q float32, g int) float32 {
	d := burstSurrogate(sg, h, slope, inv, v, g)
	if q > 0 {
		d += surrogateAt(sg.Kind, h, slope, float32(v*inv))
	}
	return d
}

// burstScanGo runs burst neurons [a, b) of n over steps steps from their
// membranes u (length n, carried state, updated in place): the current of
// step t is cur[t·cstride:][:n], and out [steps, n] gets each step's spike
// count (0..g). With q non-nil the neurons are signed (signedBurstStep;
// their net counts in q, carried like u) and a spike may be −1. It returns
// the number of spikes (the sum of |spike|). It is neuronScanStrided for
// Config.Burst and Config.Signed (g = 1), and the twin of psnn_burst_scan.
func burstScanGo(out, cur, u, q []float32, steps, n, cstride, a, b int, theta, leak float32, g int) int64 {
	if a < 0 || b > n || a > b || len(u) < n || q != nil && len(q) < n || len(out) < steps*n || steps > 0 && len(cur) < (steps-1)*cstride+b {
		panic("snn: burst scan buffers too short")
	}
	var count int64
	for t := range steps {
		c, o := cur[t*cstride+a:t*cstride+b], out[t*n+a:t*n+b]
		uu := u[a:b]
		for i, ci := range c {
			var s float32
			if q == nil {
				_, uu[i], s = burstStep(uu[i], ci, theta, leak, g)
			} else {
				_, uu[i], q[a+i], s = signedBurstStep(uu[i], q[a+i], ci, theta, leak, g)
			}
			o[i] = s
			count += int64(abs32(s))
		}
	}
	return count
}

// burstSurrogateScanGo reruns the recurrence of burst neurons [a, b) from
// their initial membranes u0 (signed ones from net counts 0) and writes
// the surrogate derivative (burstSurrogate, signedBurstSurrogate) of every
// step into d [steps, n]; with out non-nil it also writes the spikes there
// and returns the number of spikes (the one-pass form of burstScanGo and
// the derivative). It is the twin of psnn_burst_surrogate_scan, which
// burstSurrogateScan runs in cgo builds.
func burstSurrogateScanGo(out, d, cur []float32, steps, n, cstride, a, b int, theta, leak float32, g int, signed bool, u0 initial, sg Surrogate) int64 {
	if a < 0 || b > n || a > b || len(d) < steps*n || out != nil && len(out) < steps*n || steps > 0 && len(cur) < (steps-1)*cstride+b {
		panic("snn: burst surrogate scan buffers too short")
	}
	u, q := make([]float32, b-a), make([]float32, b-a)
	u0.fill(u, a)
	h, slope := float32(sg.Gamma)/theta, float32(sg.Slope)
	inv := 1 / theta
	var count int64
	for t := range steps {
		c, dd := cur[t*cstride+a:t*cstride+b], d[t*n+a:t*n+b]
		for i, ci := range c {
			var v, s float32
			if signed {
				var nq float32
				v, u[i], nq, s = signedBurstStep(u[i], q[i], ci, theta, leak, g)
				dd[i] = signedBurstSurrogate(sg, h, slope, inv, v, q[i], g)
				q[i] = nq
			} else {
				v, u[i], s = burstStep(u[i], ci, theta, leak, g)
				dd[i] = burstSurrogate(sg, h, slope, inv, v, g)
			}
			if out != nil {
				out[t*n+a+i] = s
				count += int64(abs32(s))
			}
		}
	}
	return count
}
