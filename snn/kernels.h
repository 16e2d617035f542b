// The C kernels of package snn. Each is called from one Go wrapper in
// kernels_cgo.go, which checks the buffer lengths, and has a Go twin in
// kernels_portable.go (convInputGradDirect's specification is
// inputGradFMARef in kernels_test.go); TestKernelTwins compares each pair
// bit for bit.
//
// Layouts (row-major float): planes [H, W, C], conv weights [K, K, Cin, Cout],
// linear weights [In, Out], neuron buffers [steps, n].

#ifndef PSNN_KERNELS_H
#define PSNN_KERNELS_H

#include <stdint.h>

// kernels_events.c
void psnn_conv_events(float *out, const float *in, const float *wt, int h, int w, int cin, int cout, int k, int pad);
void psnn_linear_events(float *out, const float *in, const float *wt, int nin, int nout);
void psnn_conv_wgrad_events(float *gw, const float *in, const float *g, int h, int w, int cin, int cout, int k, int pad);
void psnn_linear_wgrad_events(float *gw, const float *in, const float *g, int nin, int nout);
void psnn_pool(float *out, const float *in, int h, int w, int c);
int64_t psnn_count_nonzero(const float *x, long n);

// kernels_neuron.c
int64_t psnn_neuron_scan(float *out, const float *cur, float *u, int steps, long n, long cstride, long a, long b,
                         float theta, float leak, int hard);
void psnn_surrogate_scan(float *d, const float *cur, float *u, int steps, long n, long cstride, long a, long b,
                         float theta, float leak, int hard, int kind, float h, float slope, float u0,
                         const float *init, long cout);
int64_t psnn_scan_surrogate(float *out, float *d, const float *cur, float *u, int steps, long n, long cstride, long a,
                            long b, float theta, float leak, int hard, int kind, float h, float slope, float u0,
                            const float *init, long cout);
int64_t psnn_signed_scan(float *out, const float *cur, float *u, float *q, int steps, long n, long cstride, long a,
                         long b, float theta, float leak);
int64_t psnn_burst_scan(float *out, const float *cur, float *u, float *q, int steps, long n, long cstride, long a,
                        long b, float theta, float leak, int g);
int64_t psnn_burst_surrogate_scan(float *out, float *d, const float *cur, float *u, float *q, int steps, long n,
                                  long cstride, long a, long b, float theta, float leak, int g, int sgn, int kind,
                                  float h, float slope, float u0, const float *init, long cout);
void psnn_reverse(float *g, const float *d, const uint64_t *obits, float *carry, int steps, long n, long a, long b,
                  float leak);

// kernels_igrad.c
int psnn_have_igrad(void);
void psnn_conv_igrad(float *out, const float *gp, const float *wb, int h, int w, int cin, int cout, int k);

#endif
