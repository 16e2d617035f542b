package snn

// Signed neurons (Config.Signed). Besides the positive spike of an IF/LIF
// neuron (v > θ, then v − θ), a signed neuron emits a negative spike (−1)
// when its charged membrane falls below 0 while its net spike count q
// (positive minus negative spikes so far, 0 at the start of every image)
// is positive, and its membrane then rises by θ. It takes back a spike
// that an early surplus of input made it fire, so that its net count
// after T steps follows its total input more closely: the rate error that
// uneven input over time (a large current early, a negative one later)
// leaves in a neuron that can only fire upwards. q never goes below 0, so
// the net output of a neuron stays a count of positive spikes. The
// forward scan has a C twin (psnn_signed_scan, used in cgo builds: in Go
// it took about half of a simulation's time); the surrogate scans of
// backpropagation are in Go for every build.

// signedStep advances one signed neuron (membrane u, net count q) by one
// step with current c: it charges v = λ·u + c, fires +1 when v > θ
// (strict) or −1 when v < 0 (strict) and q > 0, and resets by subtraction
// (v − θ·s). It returns v, the membrane before the reset, the membrane
// and count after it, and the spike s ∈ {−1, 0, 1}.
func signedStep(u, q, c, theta, leak float32) (v, next, nextQ, s float32) {
	v = float32(leak*u) + c
	switch {
	case v > theta:
		return v, v - theta, q + 1, 1
	case v < 0 && q > 0:
		return v, v + theta, q - 1, -1
	}
	return v, v, q, 0
}

// signedSurrogate is the surrogate derivative of a signed neuron's spike
// with respect to its membrane v before the reset: that of the positive
// spike, σ'(v/θ − 1), plus, where the neuron could fire a negative spike
// (q > 0 before the step), that of the negative one, σ'(v/θ) (the
// negative spike −H(−v) has derivative +δ(v)).
func signedSurrogate(sg Surrogate, h, slope, inv, v, q float32) float32 {
	x := float32(v * inv)
	d := surrogateAt(sg.Kind, h, slope, x-1)
	if q > 0 {
		d += surrogateAt(sg.Kind, h, slope, x)
	}
	return d
}

// signedScanGo runs signed neurons [a, b) of n over steps steps from their
// membranes u and net counts q (length n, carried state, updated in
// place): the current of step t is cur[t·cstride:][:n], and out [steps, n]
// gets each spike (−1, 0 or 1). It returns the number of spikes of either
// sign. It is neuronScanStrided for Config.Signed (reset by subtraction),
// and the twin of psnn_signed_scan (signedScan).
func signedScanGo(out, cur, u, q []float32, steps, n, cstride, a, b int, theta, leak float32) int64 {
	if a < 0 || b > n || a > b || len(u) < n || len(q) < n || len(out) < steps*n || steps > 0 && len(cur) < (steps-1)*cstride+b {
		panic("snn: signed scan buffers too short")
	}
	var count int64
	for t := range steps {
		c, o := cur[t*cstride+a:t*cstride+b], out[t*n+a:t*n+b]
		uu, qq := u[a:b], q[a:b]
		for i, ci := range c {
			_, next, nq, s := signedStep(uu[i], qq[i], ci, theta, leak)
			uu[i], qq[i], o[i] = next, nq, s
			if s != 0 {
				count++
			}
		}
	}
	return count
}

// signedSurrogateScan reruns the recurrence of signed neurons [a, b) from
// their initial membranes u0 (and net counts 0) and writes the surrogate
// derivative (signedSurrogate) of every step into d [steps, n]; with out
// non-nil it also writes the spikes there and returns their count (the
// one-pass form of signedScan and the derivative).
func signedSurrogateScan(out, d, cur []float32, steps, n, cstride, a, b int, theta, leak float32, u0 initial, sg Surrogate) int64 {
	if a < 0 || b > n || a > b || len(d) < steps*n || out != nil && len(out) < steps*n || steps > 0 && len(cur) < (steps-1)*cstride+b {
		panic("snn: signed surrogate scan buffers too short")
	}
	u, q := make([]float32, b-a), make([]float32, b-a)
	u0.fill(u, a)
	h, slope := float32(sg.Gamma)/theta, float32(sg.Slope)
	inv := 1 / theta
	var count int64
	for t := range steps {
		c, dd := cur[t*cstride+a:t*cstride+b], d[t*n+a:t*n+b]
		for i, ci := range c {
			v, next, nq, s := signedStep(u[i], q[i], ci, theta, leak)
			dd[i] = signedSurrogate(sg, h, slope, inv, v, q[i])
			u[i], q[i] = next, nq
			if out != nil {
				out[t*n+a+i] = s
				if s != 0 {
					count++
				}
			}
		}
	}
	return count
}
