//go:build !cgo || purego

package snn

// The kernels of this build are the Go twins of kernels_portable.go.

// KernelName describes the event-driven and neuron kernels in this build.
const KernelName = "go"

func convEvents(out, in, wt []float32, h, w, cin, cout, k, pad int) {
	convEventsGo(out, in, wt, h, w, cin, cout, k, pad)
}

func linearEvents(out, in, wt []float32, nin, nout int) { linearEventsGo(out, in, wt, nin, nout) }

func neuronScanStrided(out, cur, u []float32, steps, n, cstride, a, b int, theta, leak float32, reset Reset) int64 {
	return neuronScanStridedGo(out, cur, u, steps, n, cstride, a, b, theta, leak, reset)
}

func burstScan(out, cur, u, q []float32, steps, n, cstride, a, b int, theta, leak float32, g int) int64 {
	return burstScanGo(out, cur, u, q, steps, n, cstride, a, b, theta, leak, g)
}

func signedScan(out, cur, u, q []float32, steps, n, cstride, a, b int, theta, leak float32) int64 {
	return burstScanGo(out, cur, u, q, steps, n, cstride, a, b, theta, leak, 1)
}

func burstSurrogateScan(out, d, cur []float32, steps, n, cstride, a, b int, theta, leak float32, g int, signed bool, u0 initial, sg Surrogate) int64 {
	return burstSurrogateScanGo(out, d, cur, steps, n, cstride, a, b, theta, leak, g, signed, u0, sg)
}

func countNonZero(x []float32) int64 { return countNonZeroGo(x) }

func poolPlane(out, in []float32, h, w, c int) { poolPlaneGo(out, in, h, w, c) }

func convWeightGradEvents(gw, in, g []float32, h, w, cin, cout, k, pad int) {
	convWeightGradEventsGo(gw, in, g, h, w, cin, cout, k, pad)
}

func linearWeightGradEvents(gw, in, g []float32, nin, nout int) {
	linearWeightGradEventsGo(gw, in, g, nin, nout)
}

func neuronSurrogate(d, cur []float32, steps, n, cstride, a, b int, theta, leak float32, reset Reset, u0 initial, sg Surrogate) {
	neuronSurrogateGo(d, cur, steps, n, cstride, a, b, theta, leak, reset, u0, sg)
}

func neuronReverse(g, d []float32, obits []uint64, steps, n, a, b int, leak float32) {
	neuronReverseGo(g, d, obits, steps, n, a, b, leak)
}

// directInputGradOK is false: there is no portable direct kernel.
const directInputGradOK = false

// convInputGradDirect has no portable version: the caller falls back to
// im2col and GEMM.
func convInputGradDirect(dst, gI, back []float32, p, oh, ow, cout, cin, k, pad, limit int) bool {
	return false
}

// neuronScanSurrogate is neuronScanStrided (spikes into out, membranes
// starting at u0) and neuronSurrogate (σ'(U) into d) in one pass over cur;
// it returns the spike count.
func neuronScanSurrogate(out, d, cur []float32, steps, n, cstride, a, b int, theta, leak float32, reset Reset, u0 initial, sg Surrogate) int64 {
	return neuronScanSurrogateGo(out, d, cur, steps, n, cstride, a, b, theta, leak, reset, u0, sg)
}
