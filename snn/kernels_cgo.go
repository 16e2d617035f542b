//go:build cgo && !purego

package snn

/*
#cgo CFLAGS: -O3
#include "kernels.h"
*/
import "C"

import (
	"unsafe"

	"github.com/privatesnn/privatesnn/internal/parallel"
	"golang.org/x/sys/cpu"
)

// directInputGradOK is set where convInputGradDirect runs: an x86-64 CPU
// with AVX-512F and FMA (the CPUs on which OpenBLAS runs its SkylakeX
// kernels, whose summation order the kernel reproduces).
var directInputGradOK = C.psnn_have_igrad() != 0 && cpu.X86.HasAVX512F && cpu.X86.HasFMA

// convInputGradDirect writes the input gradient dst [P, H, W, Cin] of a
// stride-1 K×K conv from gI [P, OH, OW, Cout] and the flipped weights back
// [K, K, Cout, Cin] (see flipConvInto), without im2col, and reports true.
// Its results equal those of convDenseLimit(…, limit) (im2col + SGEMM) with
// OpenBLAS's SkylakeX kernels bit for bit. It reports false, leaving dst
// alone, where it does not apply: no AVX-512, Cin not 16, 32, 48 or 64,
// pad > K−1, K·K·Cout above 448 and not a multiple of 32 up to 896, or a
// GEMM of convDenseLimit small enough (M·N·K ≤ 10⁶) for OpenBLAS's
// small-matrix kernel, which sums in another order.
func convInputGradDirect(dst, gI, back []float32, p, oh, ow, cout, cin, k, pad, limit int) bool {
	pp := k - 1 - pad // padding of the flipped convolution
	kk := k * k * cout
	if !directInputGradOK || cin%16 != 0 || cin > 64 || pp < 0 || k < 1 || cout < 1 || p < 1 ||
		kk > 448 && (kk > 896 || kk%32 != 0) {
		return false
	}
	// convDenseLimit's GEMMs have rows·(planes per call) rows; the last
	// call may have fewer planes.
	h, w := oh+2*pp-k+1, ow+2*pp-k+1
	chunk := max(1, min(p, limit/max(h*w*kk, 1)))
	fewest := chunk
	if r := p % chunk; r != 0 {
		fewest = r
	}
	if float64(fewest*h*w)*float64(cin)*float64(kk) <= 1e6 {
		return false
	}
	hp, wp := oh+2*pp, ow+2*pp
	if h < 1 || w < 1 || len(dst) < p*h*w*cin || len(gI) < p*oh*ow*cout || len(back) < k*k*cout*cin {
		panic("snn: convInputGradDirect buffers too short")
	}
	parallel.For(p, p*h*w*cin*k*k, func(lo, hi int) {
		gp := make([]float32, hp*wp*cout) // zero border, interior rewritten per plane
		for q := lo; q < hi; q++ {
			src := gI[q*oh*ow*cout : (q+1)*oh*ow*cout]
			for y := range oh {
				copy(gp[((y+pp)*wp+pp)*cout:((y+pp)*wp+pp+ow)*cout], src[y*ow*cout:(y+1)*ow*cout])
			}
			C.psnn_conv_igrad(fp(dst[q*h*w*cin:]), fp(gp), fp(back), C.int(h), C.int(w), C.int(cin), C.int(cout), C.int(k))
		}
	})
	return true
}

// KernelName describes the event-driven and neuron kernels in this build.
const KernelName = "c-multiversion"

func fp(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&s[0]))
}

func convEvents(out, in, wt []float32, h, w, cin, cout, k, pad int) {
	oh, ow := h+2*pad-k+1, w+2*pad-k+1
	if len(out) < oh*ow*cout || len(in) < h*w*cin || len(wt) < k*k*cin*cout {
		panic("snn: convEvents buffers too short")
	}
	C.psnn_conv_events(fp(out), fp(in), fp(wt), C.int(h), C.int(w), C.int(cin), C.int(cout), C.int(k), C.int(pad))
}

func linearEvents(out, in, wt []float32, nin, nout int) {
	if len(out) < nout || len(in) < nin || len(wt) < nin*nout {
		panic("snn: linearEvents buffers too short")
	}
	C.psnn_linear_events(fp(out), fp(in), fp(wt), C.int(nin), C.int(nout))
}

func neuronScanStrided(out, cur, u []float32, steps, n, cstride, a, b int, theta, leak float32, reset Reset) int64 {
	if a < 0 || b > n || a > b || cstride < 0 || len(out) < steps*n || len(u) < n {
		panic("snn: neuron scan buffers too short")
	}
	if a == b || steps == 0 {
		return 0
	}
	if len(cur) < (steps-1)*cstride+b {
		panic("snn: neuron scan current too short")
	}
	hard := C.int(0)
	if reset == ResetZero {
		hard = 1
	}
	return int64(C.psnn_neuron_scan(fp(out), fp(cur), fp(u), C.int(steps), C.long(n), C.long(cstride), C.long(a), C.long(b),
		C.float(theta), C.float(leak), hard))
}

func signedScan(out, cur, u, q []float32, steps, n, cstride, a, b int, theta, leak float32) int64 {
	if a < 0 || b > n || a > b || cstride < 0 || len(out) < steps*n || len(u) < n || len(q) < n {
		panic("snn: signed scan buffers too short")
	}
	if a == b || steps == 0 {
		return 0
	}
	if len(cur) < (steps-1)*cstride+b {
		panic("snn: signed scan current too short")
	}
	return int64(C.psnn_signed_scan(fp(out), fp(cur), fp(u), fp(q), C.int(steps), C.long(n), C.long(cstride), C.long(a), C.long(b),
		C.float(theta), C.float(leak)))
}

// burstScan is psnn_burst_scan (burstScanGo's twin); q nil means
// unsigned neurons.
func burstScan(out, cur, u, q []float32, steps, n, cstride, a, b int, theta, leak float32, g int) int64 {
	if a < 0 || b > n || a > b || cstride < 0 || len(out) < steps*n || len(u) < n || q != nil && len(q) < n || g < 1 {
		panic("snn: burst scan buffers too short")
	}
	if a == b || steps == 0 {
		return 0
	}
	if len(cur) < (steps-1)*cstride+b {
		panic("snn: burst scan current too short")
	}
	var qp *C.float
	if q != nil {
		qp = fp(q)
	}
	return int64(C.psnn_burst_scan(fp(out), fp(cur), fp(u), qp, C.int(steps), C.long(n), C.long(cstride), C.long(a), C.long(b),
		C.float(theta), C.float(leak), C.int(g)))
}

// burstSurrogateScan runs burstSurrogateScanGo's recurrence in C
// (psnn_burst_surrogate_scan).
func burstSurrogateScan(out, d, cur []float32, steps, n, cstride, a, b int, theta, leak float32, g int, signed bool, u0 initial, sg Surrogate) int64 {
	if a < 0 || b > n || a > b || cstride < 0 || g < 1 || len(d) < steps*n || out != nil && len(out) < steps*n {
		panic("snn: burst surrogate scan buffers too short")
	}
	if a == b || steps == 0 {
		return 0
	}
	if len(cur) < (steps-1)*cstride+b {
		panic("snn: burst surrogate scan current too short")
	}
	sc := getScratch(2 * (b - a)) // the kernel sets u and q
	defer putScratch(sc)
	u, q := (*sc)[:b-a], (*sc)[b-a:]
	var op *C.float
	if out != nil {
		op = fp(out)
	}
	sgn := C.int(0)
	if signed {
		sgn = 1
	}
	return int64(C.psnn_burst_surrogate_scan(op, fp(d), fp(cur), fp(u), fp(q), C.int(steps), C.long(n), C.long(cstride), C.long(a), C.long(b),
		C.float(theta), C.float(leak), C.int(g), sgn, C.int(sg.Kind), C.float(float32(sg.Gamma)/theta), C.float(float32(sg.Slope)),
		C.float(u0.u0), initPtr(u0), C.long(len(u0.ch))))
}

func countNonZero(x []float32) int64 {
	if len(x) == 0 {
		return 0
	}
	return int64(C.psnn_count_nonzero(fp(x), C.long(len(x))))
}

// poolPlane averages 2×2 windows of one [H, W, C] plane into out.
func poolPlane(out, in []float32, h, w, c int) {
	if len(in) < h*w*c || len(out) < (h/2)*(w/2)*c {
		panic("snn: pool buffers too short")
	}
	if h < 2 || w < 2 || c == 0 {
		return
	}
	C.psnn_pool(fp(out), fp(in), C.int(h), C.int(w), C.int(c))
}

func convWeightGradEvents(gw, in, g []float32, h, w, cin, cout, k, pad int) {
	oh, ow := h+2*pad-k+1, w+2*pad-k+1
	if len(g) < oh*ow*cout || len(in) < h*w*cin || len(gw) < k*k*cin*cout {
		panic("snn: convWeightGradEvents buffers too short")
	}
	C.psnn_conv_wgrad_events(fp(gw), fp(in), fp(g), C.int(h), C.int(w), C.int(cin), C.int(cout), C.int(k), C.int(pad))
}

func linearWeightGradEvents(gw, in, g []float32, nin, nout int) {
	if len(g) < nout || len(in) < nin || len(gw) < nin*nout {
		panic("snn: linearWeightGradEvents buffers too short")
	}
	C.psnn_linear_wgrad_events(fp(gw), fp(in), fp(g), C.int(nin), C.int(nout))
}

func neuronSurrogate(d, cur []float32, steps, n, cstride, a, b int, theta, leak float32, reset Reset, u0 initial, sg Surrogate) {
	if a < 0 || b > n || a > b || cstride < 0 || len(d) < steps*n {
		panic("snn: surrogate scan buffers too short")
	}
	if a == b || steps == 0 {
		return
	}
	if len(cur) < (steps-1)*cstride+b {
		panic("snn: surrogate scan current too short")
	}
	sc := getScratch(b - a) // the kernel sets the membranes
	defer putScratch(sc)
	u := *sc
	hard := C.int(0)
	if reset == ResetZero {
		hard = 1
	}
	C.psnn_surrogate_scan(fp(d), fp(cur), fp(u), C.int(steps), C.long(n), C.long(cstride), C.long(a), C.long(b),
		C.float(theta), C.float(leak), hard, C.int(sg.Kind), C.float(float32(sg.Gamma)/theta), C.float(float32(sg.Slope)), C.float(u0.u0),
		initPtr(u0), C.long(len(u0.ch)))
}

// initPtr is the C view of u0's per-channel membranes (nil for none).
func initPtr(u0 initial) *C.float {
	if len(u0.ch) == 0 {
		return nil
	}
	return fp(u0.ch)
}

func neuronReverse(g, d []float32, obits []uint64, steps, n, a, b int, leak float32) {
	if a < 0 || b > n || a > b || len(g) < steps*n || len(d) < steps*n || obits != nil && len(obits)*64 < steps*n {
		panic("snn: reverse scan buffers too short")
	}
	if a == b || steps == 0 {
		return
	}
	sc := getScratch(b - a) // the kernel clears the carry
	defer putScratch(sc)
	carry := *sc
	var ob *C.uint64_t
	if obits != nil {
		ob = (*C.uint64_t)(unsafe.Pointer(&obits[0]))
	}
	C.psnn_reverse(fp(g), fp(d), ob, fp(carry), C.int(steps), C.long(n), C.long(a), C.long(b), C.float(leak))
}

// neuronScanSurrogate is neuronScanStrided (spikes into out, membranes
// starting at u0) and neuronSurrogate (σ'(U) into d) in one pass over cur;
// it returns the spike count.
func neuronScanSurrogate(out, d, cur []float32, steps, n, cstride, a, b int, theta, leak float32, reset Reset, u0 initial, sg Surrogate) int64 {
	if a < 0 || b > n || a > b || cstride < 0 || len(out) < steps*n || len(d) < steps*n {
		panic("snn: scan-surrogate buffers too short")
	}
	if a == b || steps == 0 {
		return 0
	}
	if len(cur) < (steps-1)*cstride+b {
		panic("snn: scan-surrogate current too short")
	}
	sc := getScratch(b - a) // the kernel sets the membranes
	defer putScratch(sc)
	u := *sc
	hard := C.int(0)
	if reset == ResetZero {
		hard = 1
	}
	return int64(C.psnn_scan_surrogate(fp(out), fp(d), fp(cur), fp(u), C.int(steps), C.long(n), C.long(cstride), C.long(a), C.long(b),
		C.float(theta), C.float(leak), hard, C.int(sg.Kind), C.float(float32(sg.Gamma)/theta), C.float(float32(sg.Slope)), C.float(u0.u0),
		initPtr(u0), C.long(len(u0.ch))))
}
