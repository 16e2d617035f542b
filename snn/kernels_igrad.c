//go:build cgo && !purego

// The direct input-gradient kernel behind convInputGradDirect (AVX-512F and
// FMA on x86-64 only). Its specification is inputGradFMARef in
// kernels_test.go.

#include "kernels.h"
// For its fp-contract pragma: the sums here are explicit FMA and add
// intrinsics either way.
#include "kernels_inline.h"

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
void psnn_conv_igrad(float *restrict out, const float *restrict gp, const float *restrict wb, int h, int w, int cin, int cout, int k) {
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
void psnn_conv_igrad(float *out, const float *gp, const float *wb, int h, int w, int cin, int cout, int k) {}
#endif
int psnn_have_igrad(void) { return PSNN_HAVE_IGRAD; }
