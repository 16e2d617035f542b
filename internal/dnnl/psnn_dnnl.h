// The C functions of package dnnl (psnn_dnnl.c), each called from one Go
// wrapper in dnnl_cgo.go. Building needs no oneDNN headers.

#ifndef PSNN_DNNL_H
#define PSNN_DNNL_H

#include <stddef.h>

// PSNN_DNNL_RUNTIME_OMP is the CPU runtime psnn_dnnl_version reports for
// a oneDNN built with OpenMP (DNNL_RUNTIME_OMP).
enum { PSNN_DNNL_RUNTIME_OMP = 2 };

// psnn_dnnl_conv holds the primitives and buffers of one convolution shape.
typedef struct psnn_dnnl_conv psnn_dnnl_conv;

// psnn_dnnl_load opens libdnnl.so.2 and resolves the API; 0 on success,
// else err holds why.
int psnn_dnnl_load(char *err, size_t errlen);
void psnn_dnnl_version(int *maj, int *min, int *patch, unsigned *rt);
void psnn_dnnl_set_threads(int n);

psnn_dnnl_conv *psnn_dnnl_conv_create(int cin, int cout, int n, int h, int w, int k, int pad, int *code);
void psnn_dnnl_conv_destroy(psnn_dnnl_conv *c);
int psnn_dnnl_conv_forward(psnn_dnnl_conv *c, float *x, float *w, float *y);
int psnn_dnnl_conv_backward(psnn_dnnl_conv *c, float *x, float *dy, float *w, float *dx, float *dw, int srcCached);
const char *psnn_dnnl_conv_impl(psnn_dnnl_conv *c, int i);

#endif
