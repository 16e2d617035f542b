//go:build cgo && !purego

// Neuron kernels: the IF/LIF recurrence over time for a range [a, b) of
// the n neurons of a layer, forward (spikes, surrogate derivatives) and in
// reverse (backpropagation through time). Buffers are [steps, n]; the
// current of step t starts at cur + t·cstride (cstride n for a current per
// step, 0 for one shared by all steps). The Go twins are in
// kernels_portable.go.

#include "kernels.h"
#include "kernels_inline.h"

// psnn_init_membranes sets u[i] (i < m) to the initial membrane of neuron
// a + i: init[(a + i) mod cout] when init is given, else u0.
static void psnn_init_membranes(float *restrict u, long a, long m, float u0, const float *restrict init, long cout) {
	if (!init) {
		for (long i = 0; i < m; i++) u[i] = u0;
		return;
	}
	long c = a % cout;
	for (long i = 0; i < m; i++) {
		u[i] = init[c];
		if (++c == cout) c = 0;
	}
}

// psnn_neuron_scan runs neurons [a, b) for steps steps from the membranes
// u[a..b) (updated in place), writes 1 or 0 into out for each spike and
// returns the spike count. neuronScanStridedGo is its twin.
PSNN_CLONES
int64_t psnn_neuron_scan(float *restrict out, const float *restrict cur, float *restrict u, int steps, long n,
                         long cstride, long a, long b, float theta, float leak, int hard) {
	int64_t count = 0;
	for (int t = 0; t < steps; t++) {
		const float *c = cur + t * cstride + a;
		float *o = out + t * n + a;
		float *uu = u + a;
		long m = b - a;
		for (long i = 0; i < m; i++) {
			int s;
			psnn_neuron_step(&uu[i], c[i], theta, leak, hard, &s);
			count += s;
			o[i] = s ? 1.0f : 0.0f;
		}
	}
	return count;
}

// psnn_surrogate_scan reruns the recurrence of neurons [a, b) from their
// initial membranes (u, length b − a, is scratch): init[(a + i) mod cout]
// for neuron a + i when init is given (one per channel, channels last),
// else u0 for all and writes the surrogate
// derivative at the membrane before the reset, psnn_surrogate(v/θ − 1),
// into d (kind 0 triangle, 1 fast-sigmoid, 2 atan; h = γ/θ).
// neuronSurrogateGo is its twin.
PSNN_CLONES
void psnn_surrogate_scan(float *restrict d, const float *restrict cur, float *restrict u, int steps, long n,
                         long cstride, long a, long b, float theta, float leak, int hard, int kind, float h,
                         float slope, float u0, const float *restrict init, long cout) {
	long m = b - a;
	float inv = 1.0f / theta;
	psnn_init_membranes(u, a, m, u0, init, cout);
	for (int t = 0; t < steps; t++) {
		const float *c = cur + t * cstride + a;
		float *o = d + t * n + a;
		for (long i = 0; i < m; i++) {
			int s;
			float v = psnn_neuron_step(&u[i], c[i], theta, leak, hard, &s);
			o[i] = psnn_surrogate(v * inv - 1.0f, kind, h, slope);
		}
	}
}

// psnn_scan_surrogate is psnn_neuron_scan and psnn_surrogate_scan in one
// pass over the current: for neurons [a, b) it writes the spikes into out
// and the surrogate derivative into d and returns the spike count. u
// (length b − a) starts as in psnn_surrogate_scan. neuronScanSurrogateGo
// is its twin.
PSNN_CLONES
int64_t psnn_scan_surrogate(float *restrict out, float *restrict d, const float *restrict cur, float *restrict u,
                            int steps, long n, long cstride, long a, long b, float theta, float leak, int hard, int kind,
                            float h, float slope, float u0, const float *restrict init, long cout) {
	long m = b - a;
	float inv = 1.0f / theta;
	int64_t count = 0;
	psnn_init_membranes(u, a, m, u0, init, cout);
	for (int t = 0; t < steps; t++) {
		const float *c = cur + t * cstride + a;
		float *o = out + t * n + a, *dd = d + t * n + a;
		for (long i = 0; i < m; i++) {
			int s;
			float v = psnn_neuron_step(&u[i], c[i], theta, leak, hard, &s);
			dd[i] = psnn_surrogate(v * inv - 1.0f, kind, h, slope);
			count += s;
			o[i] = s ? 1.0f : 0.0f;
		}
	}
	return count;
}

// psnn_reverse turns g = dL/do into dL/dI in place for neurons [a, b),
// going back in time with the carry c (length b − a, scratch): v = g·d +
// c·r, c = leak·v, where r = 0 where obits (if given) has a spike, else 1.
// neuronReverseGo is its twin.
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

// psnn_signed_scan runs signed neurons [a, b) of n (snn.Config.Signed)
// over steps steps from their membranes u and net counts q (updated in
// place): v = leak·u + c, s = 1 when v > theta, −1 when v < 0 and q > 0,
// else 0; u = v − theta·s, q += s, and out gets s. It returns the number
// of spikes of either sign. signedScanGo is its twin.
PSNN_CLONES
int64_t psnn_signed_scan(float *restrict out, const float *restrict cur, float *restrict u, float *restrict q, int steps,
                         long n, long cstride, long a, long b, float theta, float leak) {
	int64_t count = 0;
	long m = b - a;
	float *uu = u + a, *qq = q + a;
	for (int t = 0; t < steps; t++) {
		const float *c = cur + t * cstride + a;
		float *o = out + t * n + a;
		int32_t fired = 0;
		for (long i = 0; i < m; i++) {
			float v = leak * uu[i] + c[i];
			// Both conditions without branches (v > θ > 0 excludes v < 0), so
			// that the loop vectorises.
			int pos = v > theta, neg = (v < 0.0f) & (qq[i] > 0.0f);
			float s = (float)(pos - neg);
			uu[i] = v - theta * s;
			qq[i] += s;
			o[i] = s;
			fired += pos | neg;
		}
		count += fired;
	}
	return count;
}

// psnn_burst_scan runs burst neurons [a, b) of n (snn.Config.Burst = g)
// over steps steps from their membranes u (updated in place): v = leak·u
// + c, k = the number of j in 1..g with v > j·theta (the largest such j,
// as j·theta grows with j), and with q non-NULL (signed burst neurons, net
// counts updated in place) s = k, or −1 when k = 0, v < 0 and q > 0;
// u = v − theta·s, and out gets s. It returns the number of spikes (the
// sum of |s|). burstScanGo and signedBurstScanGo are its twins.
PSNN_CLONES
int64_t psnn_burst_scan(float *restrict out, const float *restrict cur, float *restrict u, float *restrict q, int steps,
                        long n, long cstride, long a, long b, float theta, float leak, int g) {
	int64_t count = 0;
	long m = b - a;
	float *uu = u + a;
	for (int t = 0; t < steps; t++) {
		const float *c = cur + t * cstride + a;
		float *o = out + t * n + a;
		int32_t fired = 0;
		if (!q) {
			for (long i = 0; i < m; i++) {
				float v = leak * uu[i] + c[i];
				float k = psnn_burst_count(v, theta, g);
				uu[i] = v - k * theta;
				o[i] = k;
				fired += (int32_t)k;
			}
		} else {
			float *qq = q + a;
			for (long i = 0; i < m; i++) {
				float v = leak * uu[i] + c[i];
				float k = psnn_burst_count(v, theta, g);
				float neg = (float)((k == 0.0f) & (v < 0.0f) & (qq[i] > 0.0f));
				float s = k - neg;
				uu[i] = v - s * theta;
				qq[i] += s;
				o[i] = s;
				fired += (int32_t)(k + neg);
			}
		}
		count += fired;
	}
	return count;
}

// psnn_surrogate_add adds psnn_surrogate(x[i] − off) to dv[i] for i < m,
// with the kind's loop apart so that each one vectorises.
PSNN_INLINE void psnn_surrogate_add(float *restrict dv, const float *restrict x, float off, int m, int kind, float h,
                                    float slope) {
	switch (kind) {
	case 1:
		for (int i = 0; i < m; i++) dv[i] += psnn_surrogate(x[i] - off, 1, h, slope);
		break;
	case 2:
		for (int i = 0; i < m; i++) dv[i] += psnn_surrogate(x[i] - off, 2, h, slope);
		break;
	default:
		for (int i = 0; i < m; i++) dv[i] += psnn_surrogate(x[i] - off, 0, h, slope);
	}
}

// psnn_burst_surrogate_scan reruns the recurrence of burst neurons [a, b)
// of n (snn.Config.Burst = g; with sgn, signed burst neurons from net
// counts 0) from their initial membranes, set as in psnn_surrogate_scan (u
// and q, length b − a, are scratch), and writes into d the surrogate
// derivative of each step's spike at the membrane v before the reset:
// Σ_{j=1..g} psnn_surrogate(v/θ − j), plus psnn_surrogate(v/θ) for a signed
// neuron whose net count is positive before the step (kind 0 triangle, 1
// fast-sigmoid, 2 atan; h = γ/θ). With out non-NULL it also writes the
// spikes there (as psnn_burst_scan) and returns the number of spikes (the
// sum of |s|); else it returns 0. It works on blocks of neurons, one pass
// per term, so that every pass vectorises; each neuron's sums keep the
// order of burstSurrogateScanGo, its twin.
PSNN_CLONES
int64_t psnn_burst_surrogate_scan(float *restrict out, float *restrict d, const float *restrict cur, float *restrict u,
                                  float *restrict q, int steps, long n, long cstride, long a, long b, float theta,
                                  float leak, int g, int sgn, int kind, float h, float slope, float u0,
                                  const float *restrict init, long cout) {
	enum { block = 64 };
	long m = b - a;
	float inv = 1.0f / theta;
	int64_t count = 0;
	psnn_init_membranes(u, a, m, u0, init, cout);
	for (long i = 0; i < m; i++) q[i] = 0.0f;
	for (int t = 0; t < steps; t++) {
		const float *c = cur + t * cstride + a;
		float *dd = d + t * n + a;
		float *o = out ? out + t * n + a : 0;
		for (long i0 = 0; i0 < m; i0 += block) {
			int bl = m - i0 < block ? (int)(m - i0) : block;
			float v[block], x[block], k[block], dv[block], s[block];
			float *uu = u + i0, *qq = q + i0;
			for (int i = 0; i < bl; i++) {
				v[i] = leak * uu[i] + c[i0 + i];
				x[i] = v[i] * inv;
				k[i] = 0.0f;
				dv[i] = 0.0f;
			}
			for (int j = 1; j <= g; j++) {
				float jt = (float)j * theta;
				for (int i = 0; i < bl; i++) k[i] += (float)(v[i] > jt);
				psnn_surrogate_add(dv, x, (float)j, bl, kind, h, slope);
			}
			if (sgn) {
				for (int i = 0; i < bl; i++) {
					int pos = qq[i] > 0.0f;
					float sn = psnn_surrogate(x[i], kind, h, slope);
					dv[i] = pos ? dv[i] + sn : dv[i];
					float neg = (float)(pos & (k[i] == 0.0f) & (v[i] < 0.0f));
					s[i] = k[i] - neg;
					qq[i] += s[i];
				}
			} else {
				for (int i = 0; i < bl; i++) s[i] = k[i];
			}
			for (int i = 0; i < bl; i++) {
				uu[i] = v[i] - s[i] * theta;
				dd[i0 + i] = dv[i];
			}
			if (o) {
				int32_t fired = 0;
				for (int i = 0; i < bl; i++) {
					o[i0 + i] = s[i];
					fired += (int32_t)(s[i] < 0.0f ? -s[i] : s[i]);
				}
				count += fired;
			}
		}
	}
	return count;
}
