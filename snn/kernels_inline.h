// Helpers inlined into the kernels of kernels_events.c and kernels_neuron.c:
// the one definition in C of the neuron step and of the surrogate
// derivative, whose Go twins are neuronStep and surrogateAt.

#ifndef PSNN_KERNELS_INLINE_H
#define PSNN_KERNELS_INLINE_H

#include <stdint.h>

// No contraction of a·x + y into a fused multiply-add in the functions that
// follow in each file that includes this header: every product and every
// sum is rounded to float, as the Go twins round them with float32(a·x) + y.
// (cgo's flag allow-list has no -ffp-contract; hence the pragmas.)
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

// Function multi-versioning: the loader picks the AVX-512, AVX2 or baseline
// clone for this CPU, so the binary runs on any x86-64.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define PSNN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PSNN_CLONES
#endif

#define PSNN_INLINE static inline __attribute__((always_inline))

// psnn_axpy adds v·w into o. It is inlined into each clone of its callers
// (a clone cannot be inlined, and the call through the clone dispatch cost
// as much as the 32- or 64-float loop itself), so it is compiled for the
// caller's target. axpy is its twin.
PSNN_INLINE void psnn_axpy(float *restrict o, const float *restrict w, float v, int n) {
	if (v == 1.0f) { for (int i = 0; i < n; i++) o[i] += w[i]; return; }
	if (v == -1.0f) { for (int i = 0; i < n; i++) o[i] -= w[i]; return; }
	for (int i = 0; i < n; i++) o[i] += v * w[i];
}

// psnn_block_zero reports whether the n floats at p are all +0: their bit
// patterns OR to zero. A -0 makes the block non-zero; its values are then
// tested one by one, where -0 == 0 skips it.
PSNN_INLINE int psnn_block_zero(const float *p, int n) {
	const uint32_t *u = (const uint32_t *)p;
	uint32_t acc = 0;
	for (int i = 0; i < n; i++) acc |= u[i];
	return acc == 0;
}

// psnn_neuron_step advances one IF/LIF neuron by one step: it charges
// v = leak·u + c, fires when v > theta (strict), and then resets the
// membrane to 0 (hard) or to v − theta (soft). It stores the membrane after
// the reset in *u and the spike (1 or 0) in *spike, and returns v, the
// membrane before the reset. neuronStep is its twin.
PSNN_INLINE float psnn_neuron_step(float *u, float c, float theta, float leak, int hard, int *spike) {
	float v = leak * *u + c;
	int s = v > theta;
	*u = s ? (hard ? 0.0f : v - theta) : v;
	*spike = s;
	return v;
}

// psnn_burst_count returns the spike count of a burst neuron (at most g
// spikes) whose charged membrane is v: the number of j in 1..g with
// v > j·theta, which is the largest such j as j·theta grows with j.
// burstStep is its twin.
PSNN_INLINE float psnn_burst_count(float v, float theta, int g) {
	float k = 0.0f;
	for (int j = 1; j <= g; j++) k += (float)(v > (float)j * theta);
	return k;
}

// psnn_surrogate is the surrogate derivative at x = u/θ − 1 with peak
// height h = γ/θ: kind 0 triangle h·(1 − |x|) for |x| < 1, else 0; kind 1
// fast-sigmoid h/(1 + slope·|x|)²; kind 2 atan h/(1 + (π/2·slope·x)²).
// surrogateAt is its twin.
PSNN_INLINE float psnn_surrogate(float x, int kind, float h, float slope) {
	const float pi2 = (float)(3.14159265358979323846 / 2);
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

#endif
