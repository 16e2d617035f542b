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
// (signedBurstStep). The forward scans have a C twin (psnn_burst_scan, used
// in cgo builds); the surrogate scans of backpropagation are in Go for
// every build.

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

// burstScanGo runs burst neurons [a, b) of n over steps steps from their
// membranes u (length n, carried state, updated in place): the current of
// step t is cur[t·cstride:][:n], and out [steps, n] gets each step's spike
// count (0..g). It returns the number of spikes (the sum of the counts).
// It is neuronScanStrided for Config.Burst (reset by subtraction), and
// the twin of psnn_burst_scan (burstScan).
func burstScanGo(out, cur, u []float32, steps, n, cstride, a, b int, theta, leak float32, g int) int64 {
	if a < 0 || b > n || a > b || len(u) < n || len(out) < steps*n || steps > 0 && len(cur) < (steps-1)*cstride+b {
		panic("snn: burst scan buffers too short")
	}
	var count int64
	for t := range steps {
		c, o := cur[t*cstride+a:t*cstride+b], out[t*n+a:t*n+b]
		uu := u[a:b]
		for i, ci := range c {
			_, next, k := burstStep(uu[i], ci, theta, leak, g)
			uu[i], o[i] = next, k
			count += int64(k)
		}
	}
	return count
}

// burstSurrogateScan reruns the recurrence of burst neurons [a, b) from
// their initial membranes u0 and writes the surrogate derivative
// (burstSurrogate) of every step into d [steps, n]; with out non-nil it
// also writes the spike counts there and returns their sum (the one-pass
// form of burstScan and the derivative).
func burstSurrogateScan(out, d, cur []float32, steps, n, cstride, a, b int, theta, leak float32, g int, u0 initial, sg Surrogate) int64 {
	if a < 0 || b > n || a > b || len(d) < steps*n || out != nil && len(out) < steps*n || steps > 0 && len(cur) < (steps-1)*cstride+b {
		panic("snn: burst surrogate scan buffers too short")
	}
	u := make([]float32, b-a)
	u0.fill(u, a)
	h, slope := float32(sg.Gamma)/theta, float32(sg.Slope)
	inv := 1 / theta
	var count int64
	for t := range steps {
		c, dd := cur[t*cstride+a:t*cstride+b], d[t*n+a:t*n+b]
		for i, ci := range c {
			v, next, k := burstStep(u[i], ci, theta, leak, g)
			dd[i] = burstSurrogate(sg, h, slope, inv, v, g)
			u[i] = next
			if out != nil {
				out[t*n+a+i] = k
				count += int64(k)
			}
		}
	}
	return count
}

// signedBurstStep advances one signed burst neuron (membrane u, net count
// q) by one step with current c: it charges v = λ·u + c and fires the
// largest k ≤ g with v > k·θ, or −1 when v < 0 (strict) and q > 0, and
// resets by subtraction (v − θ·s). With g = 1 it is signedStep. It returns
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

// signedBurstScanGo is burstScanGo for signed burst neurons, their net
// counts in q (length n, carried state like u); it returns the number of
// spikes of either sign (a negative spike counts one). It is the twin of
// psnn_burst_scan with q (signedBurstScan).
func signedBurstScanGo(out, cur, u, q []float32, steps, n, cstride, a, b int, theta, leak float32, g int) int64 {
	if a < 0 || b > n || a > b || len(u) < n || len(q) < n || len(out) < steps*n || steps > 0 && len(cur) < (steps-1)*cstride+b {
		panic("snn: signed burst scan buffers too short")
	}
	var count int64
	for t := range steps {
		c, o := cur[t*cstride+a:t*cstride+b], out[t*n+a:t*n+b]
		uu, qq := u[a:b], q[a:b]
		for i, ci := range c {
			_, next, nq, s := signedBurstStep(uu[i], qq[i], ci, theta, leak, g)
			uu[i], qq[i], o[i] = next, nq, s
			count += int64(abs32(s))
		}
	}
	return count
}

// signedBurstSurrogateScan is burstSurrogateScan for signed burst neurons
// (net counts starting at 0).
func signedBurstSurrogateScan(out, d, cur []float32, steps, n, cstride, a, b int, theta, leak float32, g int, u0 initial, sg Surrogate) int64 {
	if a < 0 || b > n || a > b || len(d) < steps*n || out != nil && len(out) < steps*n || steps > 0 && len(cur) < (steps-1)*cstride+b {
		panic("snn: signed burst surrogate scan buffers too short")
	}
	u, q := make([]float32, b-a), make([]float32, b-a)
	u0.fill(u, a)
	h, slope := float32(sg.Gamma)/theta, float32(sg.Slope)
	inv := 1 / theta
	var count int64
	for t := range steps {
		c, dd := cur[t*cstride+a:t*cstride+b], d[t*n+a:t*n+b]
		for i, ci := range c {
			v, next, nq, s := signedBurstStep(u[i], q[i], ci, theta, leak, g)
			dd[i] = signedBurstSurrogate(sg, h, slope, inv, v, q[i], g)
			u[i], q[i] = next, nq
			if out != nil {
				out[t*n+a+i] = s
				count += int64(abs32(s))
			}
		}
	}
	return count
}
