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

PSNN_CLONES
static void psnn_axpy(float *restrict o, const float *restrict w, float v, int n) {
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
			float x = v * inv - 1.0f;
			float ax = x < 0 ? -x : x;
			float s;
			if (kind == 1) {
				float q = 1.0f + slope * ax;
				s = h / (q * q);
			} else if (kind == 2) {
				float q = pi2 * slope * x;
				s = h / (1.0f + q * q);
			} else {
				s = ax < 1.0f ? h * (1.0f - ax) : 0.0f;
			}
			o[i] = s;
			int sp = v > theta;
			u[i] = sp ? (hard ? 0.0f : v - theta) : v;
		}
	}
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
*/
import "C"

import "unsafe"

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
