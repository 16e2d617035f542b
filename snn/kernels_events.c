//go:build cgo && !purego

// Event-driven kernels: work is done only for non-zero inputs (spikes,
// pooled spikes), skipping blocks of 8 silent channels with one
// OR-reduction. The Go twins are in kernels_portable.go.

#include "kernels.h"
#include "kernels_inline.h"

// psnn_conv_events adds, for every non-zero input v = in[y, x, ci] and
// every tap (a, b) that lands inside the output [oh, ow, cout], v·wt[a, b,
// ci, :] to out[y − a + pad, x − b + pad, :]. convEventsGo is its twin.
PSNN_CLONES
void psnn_conv_events(float *restrict out, const float *restrict in, const float *restrict wt, int h, int w, int cin,
                      int cout, int k, int pad) {
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

// psnn_linear_events adds wt[i, :]·in[i] into out for every non-zero in[i].
// linearEventsGo is its twin.
PSNN_CLONES
void psnn_linear_events(float *restrict out, const float *restrict in, const float *restrict wt, int nin, int nout) {
	for (int i0 = 0; i0 < nin; i0 += 8) {
		int i1 = i0 + 8 < nin ? i0 + 8 : nin;
		if (psnn_block_zero(in + i0, i1 - i0)) continue;
		for (int i = i0; i < i1; i++) {
			float v = in[i];
			if (v != 0.0f) psnn_axpy(out, wt + (long)i * nout, v, nout);
		}
	}
}

// psnn_conv_wgrad_events adds, for every non-zero input v = in[y, x, ci]
// and every tap (a, b) that lands inside the output, v·g[y − a + pad,
// x − b + pad, :] to gw[a, b, ci, :]. convWeightGradEventsGo is its twin.
PSNN_CLONES
void psnn_conv_wgrad_events(float *restrict gw, const float *restrict in, const float *restrict g, int h, int w,
                            int cin, int cout, int k, int pad) {
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
							psnn_axpy(gw + ((long)(a * k + b) * cin + ci) * cout, g + ((long)oy * ow + ox) * cout, v,
							          cout);
						}
					}
				}
			}
		}
	}
}

// psnn_linear_wgrad_events adds in[i]·g to gw[i, :] for every non-zero
// in[i]. linearWeightGradEventsGo is its twin.
PSNN_CLONES
void psnn_linear_wgrad_events(float *restrict gw, const float *restrict in, const float *restrict g, int nin,
                              int nout) {
	for (int i0 = 0; i0 < nin; i0 += 8) {
		int i1 = i0 + 8 < nin ? i0 + 8 : nin;
		if (psnn_block_zero(in + i0, i1 - i0)) continue;
		for (int i = i0; i < i1; i++) {
			float v = in[i];
			if (v != 0.0f) psnn_axpy(gw + (long)i * nout, g, v, nout);
		}
	}
}

// psnn_pool averages the 2×2 windows (stride 2, floor) of one plane
// [h, w, c] into out [h/2, w/2, c]. poolPlaneGo is its twin.
PSNN_CLONES
void psnn_pool(float *restrict out, const float *restrict in, int h, int w, int c) {
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

// psnn_count_nonzero returns how many of the n floats at x are non-zero.
// countNonZeroGo is its twin.
PSNN_CLONES
int64_t psnn_count_nonzero(const float *restrict x, long n) {
	int64_t c = 0;
	for (long i = 0; i < n; i++) c += x[i] != 0.0f;
	return c;
}
