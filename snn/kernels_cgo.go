//go:build cgo && !purego

package snn

/*
#cgo CFLAGS: -O3
#include <stdint.h>
#pragma GCC optimize("fp-contract=off")

// Function multi-versioning: the loader picks the AVX-512, AVX2 or baseline
// clone for this CPU, so the binary runs on any x86-64. fp-contract=off
// (the pragma) keeps a·x + y as two roundings, matching the Go kernels bit for bit.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define PSNN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PSNN_CLONES
#endif

// psnn_axpy is inlined into each clone of its callers (a clone cannot be
// inlined, and the call through the clone dispatch cost as much as the
// 32- or 64-float loop itself), so it is compiled for the caller's target.
static inline __attribute__((always_inline)) void psnn_axpy(float *restrict o, const float *restrict w, float v, int n) {
	if (v == 1.0f) { for (int i = 0; i < n; i++) o[i] += w[i]; return; }
	if (v == -1.0f) { for (int i = 0; i < n; i++) o[i] -= w[i]; return; }
	for (int i = 0; i < n; i++) o[i] += v * w[i];
}

// psnn_block_zero reports whether the n floats at p are all +0: their bit
// patterns OR to zero (spikes and pooled spikes are never -0).
static inline int psnn_block_zero(const float *p, int n) {
	const uint32_t *u = (const uint32_t *)p;
	uint32_t acc = 0;
	for (int i = 0; i < n; i++) acc |= u[i];
	return acc == 0;
}

PSNN_CLONES
static void psnn_conv_events(float *restrict out, const float *restrict in, const float *restrict wt,
                             int h, int w, int cin, int cout, int k, int pad) {
	int oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			const float *px = in + ((long)y * w + x) * cin;
			// Skip blocks of 8 silent channels with one OR-reduction.
			for (int c0 = 0; c0 < cin; c0 += 8) {
				int c1 = c0 + 8 < cin ? c0 + 8 : cin;
				if (psnn_block_zero(px + c0, c1 - c0)) continue;
				for (int ci = c0; ci < c1; ci++) {
					float v = px[ci];
					if (v == 0.0f) continue;
					for (int a = 0; a < k; a++) {
						int oy = y - a + pad;
						if (oy < 0 || oy >= oh) continue;
						for (int b = 0; b < k; b++) {
							int ox = x - b + pad;
							if (ox < 0 || ox >= ow) continue;
							float *o = out + ((long)oy * ow + ox) * cout;
							const float *wr = wt + ((long)(a * k + b) * cin + ci) * cout;
							psnn_axpy(o, wr, v, cout);
						}
					}
				}
			}
		}
	}
}

PSNN_CLONES
static void psnn_linear_events(float *restrict out, const float *restrict in, const float *restrict wt, int nin, int nout) {
	for (int i0 = 0; i0 < nin; i0 += 8) {
		int i1 = i0 + 8 < nin ? i0 + 8 : nin;
		if (psnn_block_zero(in + i0, i1 - i0)) continue;
		for (int i = i0; i < i1; i++) {
			float v = in[i];
			if (v != 0.0f) psnn_axpy(out, wt + (long)i * nout, v, nout);
		}
	}
}

PSNN_CLONES
static void psnn_pool(float *restrict out, const float *restrict in, int h, int w, int c) {
	int oh = h / 2, ow = w / 2;
	for (int i = 0; i < oh; i++) {
		for (int j = 0; j < ow; j++) {
			float *d = out + ((long)i * ow + j) * c;
			const float *r00 = in + ((long)(2 * i) * w + 2 * j) * c, *r01 = r00 + c;
			const float *r10 = in + ((long)(2 * i + 1) * w + 2 * j) * c, *r11 = r10 + c;
			for (int ch = 0; ch < c; ch++) d[ch] = 0.25f * (r00[ch] + r01[ch] + r10[ch] + r11[ch]);
		}
	}
}

PSNN_CLONES
static int64_t psnn_count_nonzero(const float *restrict x, long n) {
	int64_t c = 0;
	for (long i = 0; i < n; i++) c += x[i] != 0.0f;
	return c;
}

PSNN_CLONES
static int64_t psnn_neuron_scan(float *restrict out, const float *restrict cur, float *restrict u,
                                int steps, long n, long cstride, long a, long b, float theta, float leak, int hard) {
	int64_t count = 0;
	for (int t = 0; t < steps; t++) {
		const float *c = cur + t * cstride + a;
		float *o = out + t * n + a;
		float *uu = u + a;
		long m = b - a;
		for (long i = 0; i < m; i++) {
			float v = leak * uu[i] + c[i];
			int s = v > theta;
			count += s;
			o[i] = s ? 1.0f : 0.0f;
			uu[i] = s ? (hard ? 0.0f : v - theta) : v;
		}
	}
	return count;
}

PSNN_CLONES
static void psnn_conv_wgrad_events(float *restrict gw, const float *restrict in, const float *restrict g,
                                   int h, int w, int cin, int cout, int k, int pad) {
	int oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			const float *px = in + ((long)y * w + x) * cin;
			for (int c0 = 0; c0 < cin; c0 += 8) {
				int c1 = c0 + 8 < cin ? c0 + 8 : cin;
				if (psnn_block_zero(px + c0, c1 - c0)) continue;
				for (int ci = c0; ci < c1; ci++) {
					float v = px[ci];
					if (v == 0.0f) continue;
					for (int a = 0; a < k; a++) {
						int oy = y - a + pad;
						if (oy < 0 || oy >= oh) continue;
						for (int b = 0; b < k; b++) {
							int ox = x - b + pad;
							if (ox < 0 || ox >= ow) continue;
							psnn_axpy(gw + ((long)(a * k + b) * cin + ci) * cout, g + ((long)oy * ow + ox) * cout, v, cout);
						}
					}
				}
			}
		}
	}
}

PSNN_CLONES
static void psnn_linear_wgrad_events(float *restrict gw, const float *restrict in, const float *restrict g, int nin, int nout) {
	for (int i0 = 0; i0 < nin; i0 += 8) {
		int i1 = i0 + 8 < nin ? i0 + 8 : nin;
		if (psnn_block_zero(in + i0, i1 - i0)) continue;
		for (int i = i0; i < i1; i++) {
			float v = in[i];
			if (v != 0.0f) psnn_axpy(gw + (long)i * nout, g, v, nout);
		}
	}
}

// psnn_surrogate is the surrogate derivative at x = u/θ − 1 (kind 0
// triangle, 1 fast-sigmoid, 2 atan; h = gamma/theta, pi2 = π/2), the
// arithmetic of surrogateAt.
static inline __attribute__((always_inline)) float psnn_surrogate(float x, int kind, float h, float slope, float pi2) {
	float ax = x < 0 ? -x : x;
	if (kind == 1) {
		float q = 1.0f + slope * ax;
		return h / (q * q);
	}
	if (kind == 2) {
		float q = pi2 * slope * x;
		return h / (1.0f + q * q);
	}
	return ax < 1.0f ? h * (1.0f - ax) : 0.0f;
}

// psnn_surrogate_scan reruns the neuron recurrence of neurons [a, b) and
// writes the surrogate derivative at every step into d (kind 0 triangle,
// 1 fast-sigmoid, 2 atan; h = gamma/theta).
PSNN_CLONES
static void psnn_surrogate_scan(float *restrict d, const float *restrict cur, float *restrict u, int steps, long n, long cstride,
                                long a, long b, float theta, float leak, int hard, int kind, float h, float slope, float u0) {
	long m = b - a;
	float inv = 1.0f / theta;
	float pi2 = (float)(3.14159265358979323846 / 2);
	for (long i = 0; i < m; i++) u[i] = u0;
	for (int t = 0; t < steps; t++) {
		const float *c = cur + t * cstride + a;
		float *o = d + t * n + a;
		for (long i = 0; i < m; i++) {
			float v = leak * u[i] + c[i];
			float s = psnn_surrogate(v * inv - 1.0f, kind, h, slope, pi2);
			o[i] = s;
			int sp = v > theta;
			u[i] = sp ? (hard ? 0.0f : v - theta) : v;
		}
	}
}

// psnn_scan_surrogate is psnn_neuron_scan and psnn_surrogate_scan in one
// pass over the current: for neurons [a, b) it writes the spikes into out
// and the surrogate derivative into d, with the same arithmetic as the two,
// and returns the spike count. u (length b − a) starts at u0.
PSNN_CLONES
static int64_t psnn_scan_surrogate(float *restrict out, float *restrict d, const float *restrict cur, float *restrict u, int steps, long n,
                                   long cstride, long a, long b, float theta, float leak, int hard, int kind, float h, float slope, float u0) {
	long m = b - a;
	float inv = 1.0f / theta;
	float pi2 = (float)(3.14159265358979323846 / 2);
	int64_t count = 0;
	for (long i = 0; i < m; i++) u[i] = u0;
	for (int t = 0; t < steps; t++) {
		const float *c = cur + t * cstride + a;
		float *o = out + t * n + a, *dd = d + t * n + a;
		for (long i = 0; i < m; i++) {
			float v = leak * u[i] + c[i];
			float s = psnn_surrogate(v * inv - 1.0f, kind, h, slope, pi2);
			dd[i] = s;
			int sp = v > theta;
			count += sp;
			o[i] = sp ? 1.0f : 0.0f;
			u[i] = sp ? (hard ? 0.0f : v - theta) : v;
		}
	}
	return count;
}

// psnn_reverse turns g = dL/do into dL/dI in place for neurons [a, b),
// going back in time with the carry c (length b - a): v = g*d + c*r,
// c = leak*v, where r = 0 where obits (if given) has a spike.
PSNN_CLONES
static void psnn_reverse(float *restrict g, const float *restrict d, const uint64_t *restrict obits, float *restrict carry,
                         int steps, long n, long a, long b, float leak) {
	long m = b - a;
	for (long i = 0; i < m; i++) carry[i] = 0.0f;
	for (int t = steps - 1; t >= 0; t--) {
		float *gr = g + t * n + a;
		const float *dr = d + t * n + a;
		if (obits) {
			long base = t * n + a;
			for (long i = 0; i < m; i++) {
				long j = base + i;
				float c = (obits[j >> 6] >> (j & 63)) & 1 ? 0.0f : carry[i];
				float v = gr[i] * dr[i] + c;
				gr[i] = v;
				carry[i] = leak * v;
			}
		} else {
			for (long i = 0; i < m; i++) {
				float v = gr[i] * dr[i] + carry[i];
				gr[i] = v;
				carry[i] = leak * v;
			}
		}
	}
}

// The input gradient of a conv, computed directly (no im2col): dx[y, x, :]
// = Σ_k cols[(y, x), k]·wb[k, :] with k = (a·K+b)·Cout+co and cols the
// im2col rows of the zero-padded output gradient gp [H+K−1, W+K−1, Cout],
// i.e. gp[y+a, x+b, co]. Each output is summed in k order with fused
// multiply-adds, in one block for K ≤ 448 and else in two halves, each from
// zero, the second added to the first: what OpenBLAS 0.3's SkylakeX SGEMM
// does (GEMM_Q = 448) for such K when the matrices are not small. Callers
// keep K ≤ 896 with K a multiple of 32, where its single- and
// multi-threaded drivers split K alike.
static long psnn_kblock(long ls, long K) {
	long m = K - ls;
	return m > 448 ? (m + 1) / 2 : m;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PSNN_HAVE_IGRAD 1

// PSNN_IGRAD_TILE defines psnn_igrad_tile_NV_PB, which computes PB
// adjacent output pixels of NV·16 channels with PB·NV accumulators held in
// registers (array sizes must be literals for that).
#define PSNN_IGRAD_TILE(NV, PB) \
static inline __attribute__((always_inline, target("avx512f,fma"))) \
void psnn_igrad_tile_##NV##_##PB(float *restrict out, const float *restrict g, const float *restrict wb, int cin, int cout, int k, int wp) { \
	long K = (long)k * k * cout; \
	__m512 acc[PB][NV]; \
	for (long ls = 0; ls < K;) { \
		long ke = ls + psnn_kblock(ls, K); \
		_Pragma("GCC unroll 16") for (int p = 0; p < PB; p++) \
			_Pragma("GCC unroll 4") for (int j = 0; j < NV; j++) acc[p][j] = _mm512_setzero_ps(); \
		for (long kk = ls; kk < ke;) { \
			long tap = kk / cout, co = kk % cout; \
			long ce = cout < co + (ke - kk) ? cout : co + (ke - kk); \
			const float *gt = g + ((tap / k) * (long)wp + tap % k) * cout; \
			const float *wr = wb + kk * cin; \
			kk += ce - co; \
			for (; co < ce; co++, wr += cin) { \
				__m512 w[NV]; \
				_Pragma("GCC unroll 4") for (int j = 0; j < NV; j++) w[j] = _mm512_loadu_ps(wr + 16 * j); \
				_Pragma("GCC unroll 16") for (int p = 0; p < PB; p++) { \
					__m512 gv = _mm512_set1_ps(gt[(long)p * cout + co]); \
					_Pragma("GCC unroll 4") for (int j = 0; j < NV; j++) acc[p][j] = _mm512_fmadd_ps(gv, w[j], acc[p][j]); \
				} \
			} \
		} \
		_Pragma("GCC unroll 16") for (int p = 0; p < PB; p++) \
			_Pragma("GCC unroll 4") for (int j = 0; j < NV; j++) { \
				float *o = out + (long)p * cin + 16 * j; \
				_mm512_storeu_ps(o, ls == 0 ? acc[p][j] : _mm512_add_ps(_mm512_loadu_ps(o), acc[p][j])); \
			} \
		ls = ke; \
	} \
}

#define PSNN_IGRAD_ROW(NV, PB) \
	PSNN_IGRAD_TILE(NV, PB) \
	PSNN_IGRAD_TILE(NV, 1) \
	static __attribute__((target("avx512f,fma"))) void psnn_igrad_row_##NV(float *restrict out, const float *restrict g, \
	                                                                       const float *restrict wb, int w, int cin, int cout, int k, int wp) { \
		int x = 0; \
		for (; x + PB <= w; x += PB) psnn_igrad_tile_##NV##_##PB(out + (long)x * cin, g + (long)x * cout, wb, cin, cout, k, wp); \
		for (; x < w; x++) psnn_igrad_tile_##NV##_1(out + (long)x * cin, g + (long)x * cout, wb, cin, cout, k, wp); \
	}
PSNN_IGRAD_ROW(1, 14)
PSNN_IGRAD_ROW(2, 14)
PSNN_IGRAD_ROW(3, 7)
PSNN_IGRAD_ROW(4, 7)

// psnn_conv_igrad computes one plane dx [h, w, cin] (cin = 16, 32, 48 or
// 64) from gp [h+k−1, w+k−1, cout] and wb [k·k·cout, cin]. It needs
// AVX-512F and FMA; the caller checks.
static void psnn_conv_igrad(float *restrict out, const float *restrict gp, const float *restrict wb, int h, int w, int cin, int cout, int k) {
	int wp = w + k - 1;
	for (int y = 0; y < h; y++) {
		float *o = out + (long)y * w * cin;
		const float *g = gp + (long)y * wp * cout;
		switch (cin) {
		case 16: psnn_igrad_row_1(o, g, wb, w, cin, cout, k, wp); break;
		case 32: psnn_igrad_row_2(o, g, wb, w, cin, cout, k, wp); break;
		case 48: psnn_igrad_row_3(o, g, wb, w, cin, cout, k, wp); break;
		case 64: psnn_igrad_row_4(o, g, wb, w, cin, cout, k, wp); break;
		}
	}
}
#else
#define PSNN_HAVE_IGRAD 0
static void psnn_conv_igrad(float *out, const float *gp, const float *wb, int h, int w, int cin, int cout, int k) {}
#endif
static int psnn_have_igrad(void) { return PSNN_HAVE_IGRAD; }
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

func neuronSurrogate(d, cur []float32, steps, n, cstride, a, b int, theta, leak float32, reset Reset, u0 float32, sg Surrogate) {
	if a < 0 || b > n || a > b || cstride < 0 || len(d) < steps*n {
		panic("snn: surrogate scan buffers too short")
	}
	if a == b || steps == 0 {
		return
	}
	if len(cur) < (steps-1)*cstride+b {
		panic("snn: surrogate scan current too short")
	}
	u := make([]float32, b-a)
	hard := C.int(0)
	if reset == ResetZero {
		hard = 1
	}
	C.psnn_surrogate_scan(fp(d), fp(cur), fp(u), C.int(steps), C.long(n), C.long(cstride), C.long(a), C.long(b),
		C.float(theta), C.float(leak), hard, C.int(sg.Kind), C.float(float32(sg.Gamma)/theta), C.float(float32(sg.Slope)), C.float(u0))
}

func neuronReverse(g, d []float32, obits []uint64, steps, n, a, b int, leak float32) {
	if a < 0 || b > n || a > b || len(g) < steps*n || len(d) < steps*n || obits != nil && len(obits)*64 < steps*n {
		panic("snn: reverse scan buffers too short")
	}
	if a == b || steps == 0 {
		return
	}
	carry := make([]float32, b-a)
	var ob *C.uint64_t
	if obits != nil {
		ob = (*C.uint64_t)(unsafe.Pointer(&obits[0]))
	}
	C.psnn_reverse(fp(g), fp(d), ob, fp(carry), C.int(steps), C.long(n), C.long(a), C.long(b), C.float(leak))
}

// neuronScanSurrogate is neuronScanStrided (spikes into out, membranes
// starting at u0) and neuronSurrogate (σ'(U) into d) in one pass over cur;
// it returns the spike count.
func neuronScanSurrogate(out, d, cur []float32, steps, n, cstride, a, b int, theta, leak float32, reset Reset, u0 float32, sg Surrogate) int64 {
	if a < 0 || b > n || a > b || cstride < 0 || len(out) < steps*n || len(d) < steps*n {
		panic("snn: scan-surrogate buffers too short")
	}
	if a == b || steps == 0 {
		return 0
	}
	if len(cur) < (steps-1)*cstride+b {
		panic("snn: scan-surrogate current too short")
	}
	u := make([]float32, b-a)
	hard := C.int(0)
	if reset == ResetZero {
		hard = 1
	}
	return int64(C.psnn_scan_surrogate(fp(out), fp(d), fp(cur), fp(u), C.int(steps), C.long(n), C.long(cstride), C.long(a), C.long(b),
		C.float(theta), C.float(leak), hard, C.int(sg.Kind), C.float(float32(sg.Gamma)/theta), C.float(float32(sg.Slope)), C.float(u0)))
}
