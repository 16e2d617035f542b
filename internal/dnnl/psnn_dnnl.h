// The C functions of package dnnl (psnn_dnnl.c), each called from one Go
// wrapper in dnnl_cgo.go. Building needs no oneDNN headers.

#ifndef PSNN_DNNL_H
#define PSNN_DNNL_H

#include <stddef.h>

// PSNN_DNNL_RUNTIME_OMP is the CPU runtime psnn_dnnl_version reports for
// a oneDNN built with OpenMP (DNNL_RUNTIME_OMP).
enum { PSNN_DNNL_RUNTIME_OMP = 2 };

// PSNN_DNNL_NO_STATUS is the status of a failure that is not a oneDNN
// call's (an allocation).
enum { PSNN_DNNL_NO_STATUS = -1 };

// psnn_dnnl_err describes a failure: what names the oneDNN call that failed
// (or the allocation), prim the primitive it executed (NULL unless an
// execution failed), and status the dnnl_status_t it returned (or
// PSNN_DNNL_NO_STATUS). The caller zeroes it.
typedef struct {
	const char *what, *prim;
	int status;
} psnn_dnnl_err;

// psnn_dnnl_conv holds the primitives and buffers of one convolution shape.
typedef struct psnn_dnnl_conv psnn_dnnl_conv;

// psnn_dnnl_load opens libdnnl.so.2, resolves the API and creates the CPU
// engine; 0 on success, else err holds why, and *status the dnnl_status_t
// where the engine could not be created.
int psnn_dnnl_load(char *err, size_t errlen, int *status);
void psnn_dnnl_version(int *maj, int *min, int *patch, unsigned *rt);
void psnn_dnnl_set_threads(int n);

// The conv functions report failures in e: psnn_dnnl_conv_create returns
// NULL, the others 1 (0 on success).
psnn_dnnl_conv *psnn_dnnl_conv_create(int cin, int cout, int n, int h, int w, int k, int pad, psnn_dnnl_err *e);
void psnn_dnnl_conv_destroy(psnn_dnnl_conv *c);
int psnn_dnnl_conv_forward(psnn_dnnl_conv *c, float *x, float *w, float *y, psnn_dnnl_err *e);
int psnn_dnnl_conv_backward(psnn_dnnl_conv *c, float *x, float *dy, float *w, float *dx, float *dw, int srcCached,
                            psnn_dnnl_err *e);
const char *psnn_dnnl_conv_impl(psnn_dnnl_conv *c, int i);

#endif
