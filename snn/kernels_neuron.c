//go:build cgo && !purego

// Neuron kernels: the IF/LIF recurrence over time for a range [a, b) of
// the n neurons of a layer, forward (spikes, surrogate derivatives) and in
// reverse (backpropagation through time). Buffers are [steps, n]; the
// current of step t starts at cur + t·cstride (cstride n for a current per
// step, 0 for one shared by all steps). The Go twins are in
// kernels.go and bptt.go.

#include "kernels.h"
#include "kernels_inline.h"

PSNN_CLONES
int64_t psnn_neuron_scan(float *restrict out, const float *restrict cur, float *restrict u,
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

// psnn_surrogate_scan reruns the neuron recurrence of neurons [a, b) and
// writes the surrogate derivative at every step into d (kind 0 triangle,
// 1 fast-sigmoid, 2 atan; h = gamma/theta).
PSNN_CLONES
void psnn_surrogate_scan(float *restrict d, const float *restrict cur, float *restrict u, int steps, long n, long cstride,
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
int64_t psnn_scan_surrogate(float *restrict out, float *restrict d, const float *restrict cur, float *restrict u, int steps, long n,
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
void psnn_reverse(float *restrict g, const float *restrict d, const uint64_t *restrict obits, float *restrict carry,
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
