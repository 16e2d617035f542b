//go:build cgo && !purego

// The oneDNN side of package dnnl: loading libdnnl.so.2 with dlopen and
// building and running one stride-1 convolution's primitives. Each function
// of psnn_dnnl.h is called from one Go wrapper in dnnl_cgo.go.

#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "psnn_dnnl.h"

// Minimal declarations of the oneDNN 2.x C API (ABI libdnnl.so.2), so that
// building needs no oneDNN headers. Where the headers are present, the
// constants are checked against them at compile time.
typedef int64_t pd_dims[12];
// dnnl_memory_desc_t is 696 bytes in 2.6 and 8-byte aligned; the library only
// writes through pointers we pass, so a larger buffer is safe.
typedef struct { _Alignas(64) unsigned char b[1024]; } pd_md;
// dnnl_convolution_desc_t is 5976 bytes in 2.6.
typedef struct { _Alignas(64) unsigned char b[8192]; } pd_convdesc;
typedef struct { int arg; void *memory; } pd_arg;
typedef struct { int major, minor, patch; const char *hash; unsigned cpu_runtime, gpu_runtime; } pd_version;

enum {
	PD_F32 = 3, PD_TAG_ANY = 1, PD_TAG_ABCD = 5, PD_TAG_BACD = 24,
	PD_FWD_TRAINING = 64, PD_BWD_DATA = 160, PD_BWD_WEIGHTS = 192,
	PD_CONV_DIRECT = 1,
	PD_Q_SRC = 129, PD_Q_DIFF_SRC = 130, PD_Q_WEI = 131, PD_Q_DIFF_WEI = 132,
	PD_Q_DST = 133, PD_Q_DIFF_DST = 134, PD_Q_SCRATCH = 136, PD_Q_IMPL = 8,
	PD_ARG_SRC = 1, PD_ARG_DST = 17, PD_ARG_WEI = 33, PD_ARG_DIFF_SRC = 129,
	PD_ARG_DIFF_WEI = 161, PD_ARG_DIFF_DST = 145, PD_ARG_SCRATCH = 80,
	PD_ARG_FROM = 1, PD_ARG_TO = 17,
	PD_CPU = 1, PD_STREAM_DEFAULT = 1, PD_SCRATCH_USER = 1,
	PD_RUNTIME_OMP = PSNN_DNNL_RUNTIME_OMP,
};

#if defined(__has_include)
#if __has_include(<oneapi/dnnl/dnnl.h>)
#include <oneapi/dnnl/dnnl.h>
_Static_assert(PD_F32 == dnnl_f32, "f32");
_Static_assert(PD_TAG_ANY == dnnl_format_tag_any, "any");
_Static_assert(PD_TAG_ABCD == dnnl_abcd, "abcd");
_Static_assert(PD_TAG_BACD == dnnl_bacd, "bacd");
_Static_assert(PD_FWD_TRAINING == dnnl_forward_training, "fwd");
_Static_assert(PD_BWD_DATA == dnnl_backward_data, "bwd data");
_Static_assert(PD_BWD_WEIGHTS == dnnl_backward_weights, "bwd weights");
_Static_assert(PD_CONV_DIRECT == dnnl_convolution_direct, "direct");
_Static_assert(PD_Q_SRC == dnnl_query_src_md && PD_Q_DIFF_SRC == dnnl_query_diff_src_md, "q");
_Static_assert(PD_Q_WEI == dnnl_query_weights_md && PD_Q_DIFF_WEI == dnnl_query_diff_weights_md, "q");
_Static_assert(PD_Q_DST == dnnl_query_dst_md && PD_Q_DIFF_DST == dnnl_query_diff_dst_md, "q");
_Static_assert(PD_Q_SCRATCH == dnnl_query_scratchpad_md && PD_Q_IMPL == dnnl_query_impl_info_str, "q");
_Static_assert(PD_ARG_SRC == DNNL_ARG_SRC && PD_ARG_DST == DNNL_ARG_DST && PD_ARG_WEI == DNNL_ARG_WEIGHTS, "arg");
_Static_assert(PD_ARG_DIFF_SRC == DNNL_ARG_DIFF_SRC && PD_ARG_DIFF_WEI == DNNL_ARG_DIFF_WEIGHTS, "arg");
_Static_assert(PD_ARG_DIFF_DST == DNNL_ARG_DIFF_DST && PD_ARG_SCRATCH == DNNL_ARG_SCRATCHPAD, "arg");
_Static_assert(PD_ARG_FROM == DNNL_ARG_FROM && PD_ARG_TO == DNNL_ARG_TO, "arg");
_Static_assert(PD_CPU == dnnl_cpu && PD_STREAM_DEFAULT == dnnl_stream_default_flags, "cpu");
_Static_assert(PD_SCRATCH_USER == dnnl_scratchpad_mode_user && PD_RUNTIME_OMP == DNNL_RUNTIME_OMP, "misc");
_Static_assert(sizeof(pd_md) >= sizeof(dnnl_memory_desc_t), "md size");
_Static_assert(sizeof(pd_convdesc) >= sizeof(dnnl_convolution_desc_t), "conv desc size");
_Static_assert(sizeof(pd_arg) == sizeof(dnnl_exec_arg_t), "exec arg");
_Static_assert(sizeof(pd_dims) == sizeof(dnnl_dims_t), "dims");
#endif
#endif

typedef int st;
static st (*f_engine_create)(void **, int, size_t);
static st (*f_stream_create)(void **, void *, unsigned);
static st (*f_stream_wait)(void *);
static st (*f_stream_destroy)(void *);
static st (*f_md_by_tag)(pd_md *, int, const int64_t *, int, int);
static int (*f_md_equal)(const pd_md *, const pd_md *);
static size_t (*f_md_size)(const pd_md *);
static st (*f_mem_create)(void **, const pd_md *, void *, void *);
static st (*f_mem_destroy)(void *);
static st (*f_conv_fwd_init)(pd_convdesc *, int, int, const pd_md *, const pd_md *, const pd_md *, const pd_md *,
	const int64_t *, const int64_t *, const int64_t *);
static st (*f_conv_bwdd_init)(pd_convdesc *, int, const pd_md *, const pd_md *, const pd_md *,
	const int64_t *, const int64_t *, const int64_t *);
static st (*f_conv_bwdw_init)(pd_convdesc *, int, const pd_md *, const pd_md *, const pd_md *, const pd_md *,
	const int64_t *, const int64_t *, const int64_t *);
static st (*f_pd_create)(void **, const void *, const void *, void *, const void *);
static const pd_md *(*f_pd_query_md)(const void *, int, int);
static st (*f_pd_query)(const void *, int, int, void *);
static st (*f_pd_destroy)(void *);
static st (*f_prim_create)(void **, const void *);
static st (*f_prim_execute)(const void *, void *, int, const pd_arg *);
static st (*f_prim_destroy)(void *);
static st (*f_reorder_pd_create)(void **, const pd_md *, void *, const pd_md *, void *, const void *);
static st (*f_attr_create)(void **);
static st (*f_attr_destroy)(void *);
static st (*f_attr_set_scratch)(void *, int);
static const pd_version *(*f_version)(void);
static void (*f_omp_set_num_threads)(int);

static void *g_engine;
static int g_threads = 1;

// psnn_dnnl_load opens libdnnl.so.2 and resolves the API; 0 on success.
int psnn_dnnl_load(char *err, size_t errlen) {
	void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
	if (!h) { snprintf(err, errlen, "libdnnl.so.2 not found"); return 1; }
#define SYM(var, name) do { *(void **)(&var) = dlsym(h, name); if (!var) { snprintf(err, errlen, "libdnnl.so.2 lacks %s", name); return 2; } } while (0)
	SYM(f_engine_create, "dnnl_engine_create");
	SYM(f_stream_create, "dnnl_stream_create");
	SYM(f_stream_wait, "dnnl_stream_wait");
	SYM(f_stream_destroy, "dnnl_stream_destroy");
	SYM(f_md_by_tag, "dnnl_memory_desc_init_by_tag");
	SYM(f_md_equal, "dnnl_memory_desc_equal");
	SYM(f_md_size, "dnnl_memory_desc_get_size");
	SYM(f_mem_create, "dnnl_memory_create");
	SYM(f_mem_destroy, "dnnl_memory_destroy");
	SYM(f_conv_fwd_init, "dnnl_convolution_forward_desc_init");
	SYM(f_conv_bwdd_init, "dnnl_convolution_backward_data_desc_init");
	SYM(f_conv_bwdw_init, "dnnl_convolution_backward_weights_desc_init");
	SYM(f_pd_create, "dnnl_primitive_desc_create");
	SYM(f_pd_query_md, "dnnl_primitive_desc_query_md");
	SYM(f_pd_query, "dnnl_primitive_desc_query");
	SYM(f_pd_destroy, "dnnl_primitive_desc_destroy");
	SYM(f_prim_create, "dnnl_primitive_create");
	SYM(f_prim_execute, "dnnl_primitive_execute");
	SYM(f_prim_destroy, "dnnl_primitive_destroy");
	SYM(f_reorder_pd_create, "dnnl_reorder_primitive_desc_create");
	SYM(f_attr_create, "dnnl_primitive_attr_create");
	SYM(f_attr_destroy, "dnnl_primitive_attr_destroy");
	SYM(f_attr_set_scratch, "dnnl_primitive_attr_set_scratchpad_mode");
	SYM(f_version, "dnnl_version");
#undef SYM
	const pd_version *v = f_version();
	if (v->major != 2) { snprintf(err, errlen, "libdnnl.so.2 reports version %d.%d", v->major, v->minor); return 3; }
	if (v->cpu_runtime == PD_RUNTIME_OMP) {
		// libgomp is already loaded as a dependency of libdnnl.
		void *g = dlopen("libgomp.so.1", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
		if (g) *(void **)(&f_omp_set_num_threads) = dlsym(g, "omp_set_num_threads");
	}
	if (f_engine_create(&g_engine, PD_CPU, 0) != 0) { snprintf(err, errlen, "dnnl_engine_create failed"); return 4; }
	return 0;
}

void psnn_dnnl_version(int *maj, int *min, int *patch, unsigned *rt) {
	const pd_version *v = f_version();
	*maj = v->major; *min = v->minor; *patch = v->patch; *rt = v->cpu_runtime;
}

void psnn_dnnl_set_threads(int n) { __atomic_store_n(&g_threads, n, __ATOMIC_RELAXED); }

// The OpenMP thread count is a per-thread setting; Go may call from any OS
// thread, so set it before every execution.
static void set_threads(void) {
	if (f_omp_set_num_threads) f_omp_set_num_threads(__atomic_load_n(&g_threads, __ATOMIC_RELAXED));
}

// port connects a user buffer in the plain layout with the layout a
// primitive wants: when they differ, buf (allocated on first use) holds the
// primitive's layout and reorder converts between the two.
typedef struct {
	const pd_md *md;
	void *reorder_pd, *reorder;
	float *buf;
	size_t size;
} port;

struct psnn_dnnl_conv {
	int cin, cout, n, h, w, k, pad, oh, ow;
	void *stream;
	void *attr;
	pd_md user_src, user_dst, user_wei;
	void *fwd_pd, *fwd, *bwdd_pd, *bwdd, *bwdw_pd, *bwdw;
	port f_src, f_wei, f_dst;
	port d_ddst, d_wei, d_dsrc;
	port w_src, w_ddst, w_dwei;
	float *scratch;
	size_t scratch_size;
	char impl[3][64];
};

static void *amalloc(size_t n) {
	void *p = NULL;
	if (n == 0) n = 64;
	if (posix_memalign(&p, 64, (n + 63) / 64 * 64) != 0) return NULL;
	return p;
}

static void port_free(port *p) {
	if (p->reorder) f_prim_destroy(p->reorder);
	if (p->reorder_pd) f_pd_destroy(p->reorder_pd);
	free(p->buf);
	memset(p, 0, sizeof *p);
}

// port_init sets up p for the primitive layout md against the user layout
// user; toPrim selects the reorder's direction.
static int port_init(port *p, const pd_md *md, const pd_md *user, int toPrim) {
	memset(p, 0, sizeof *p);
	p->md = md;
	if (f_md_equal(md, user)) return 0;
	p->size = f_md_size(md);
	st s = toPrim ? f_reorder_pd_create(&p->reorder_pd, user, g_engine, md, g_engine, NULL)
	              : f_reorder_pd_create(&p->reorder_pd, md, g_engine, user, g_engine, NULL);
	if (s != 0) return 2;
	if (f_prim_create(&p->reorder, p->reorder_pd) != 0) return 3;
	return 0;
}

static int ensure_scratch(psnn_dnnl_conv *c, void *pd) {
	const pd_md *md = f_pd_query_md(pd, PD_Q_SCRATCH, 0);
	size_t n = md ? f_md_size(md) : 0;
	if (n <= c->scratch_size) return 0;
	free(c->scratch);
	c->scratch = amalloc(n);
	c->scratch_size = c->scratch ? n : 0;
	return c->scratch ? 0 : 1;
}

static void impl_name(void *pd, char *dst) {
	const char *s = NULL;
	if (f_pd_query(pd, PD_Q_IMPL, 0, &s) == 0 && s) { strncpy(dst, s, 63); dst[63] = 0; }
}

void psnn_dnnl_conv_destroy(psnn_dnnl_conv *c) {
	if (!c) return;
	port *ports[] = {&c->f_src, &c->f_wei, &c->f_dst, &c->d_ddst, &c->d_wei, &c->d_dsrc, &c->w_src, &c->w_ddst, &c->w_dwei};
	for (int i = 0; i < 9; i++) port_free(ports[i]);
	void *prims[] = {c->fwd, c->bwdd, c->bwdw};
	void *pds[] = {c->fwd_pd, c->bwdd_pd, c->bwdw_pd};
	for (int i = 0; i < 3; i++) { if (prims[i]) f_prim_destroy(prims[i]); if (pds[i]) f_pd_destroy(pds[i]); }
	if (c->attr) f_attr_destroy(c->attr);
	if (c->stream) f_stream_destroy(c->stream);
	free(c->scratch);
	free(c);
}

// psnn_dnnl_conv_create builds the forward primitive for a K×K stride-1 conv on
// CNHW tensors; the backward primitives are built on first use.
psnn_dnnl_conv *psnn_dnnl_conv_create(int cin, int cout, int n, int h, int w, int k, int pad, int *code) {
	psnn_dnnl_conv *c = calloc(1, sizeof *c);
	if (!c) { *code = 1; return NULL; }
	c->cin = cin; c->cout = cout; c->n = n; c->h = h; c->w = w; c->k = k; c->pad = pad;
	c->oh = h + 2 * pad - k + 1; c->ow = w + 2 * pad - k + 1;
	int64_t sd[4] = {n, cin, h, w}, dd[4] = {n, cout, c->oh, c->ow}, wd[4] = {cout, cin, k, k};
	int64_t strides[2] = {1, 1}, pads[2] = {pad, pad};
	pd_md asrc, adst, awei;
	if (f_stream_create(&c->stream, g_engine, PD_STREAM_DEFAULT) != 0) { *code = 2; goto fail; }
	if (f_attr_create(&c->attr) != 0 || f_attr_set_scratch(c->attr, PD_SCRATCH_USER) != 0) { *code = 3; goto fail; }
	// The CNHW tensor [C, N, H, W] is the logical (N, C, H, W) in "bacd" order.
	if (f_md_by_tag(&c->user_src, 4, sd, PD_F32, PD_TAG_BACD) || f_md_by_tag(&c->user_dst, 4, dd, PD_F32, PD_TAG_BACD) ||
	    f_md_by_tag(&c->user_wei, 4, wd, PD_F32, PD_TAG_ABCD) ||
	    f_md_by_tag(&asrc, 4, sd, PD_F32, PD_TAG_ANY) || f_md_by_tag(&adst, 4, dd, PD_F32, PD_TAG_ANY) ||
	    f_md_by_tag(&awei, 4, wd, PD_F32, PD_TAG_ANY)) { *code = 4; goto fail; }
	pd_convdesc d;
	if (f_conv_fwd_init(&d, PD_FWD_TRAINING, PD_CONV_DIRECT, &asrc, &awei, NULL, &adst, strides, pads, pads)) { *code = 5; goto fail; }
	if (f_pd_create(&c->fwd_pd, &d, c->attr, g_engine, NULL)) { *code = 6; goto fail; }
	if (f_prim_create(&c->fwd, c->fwd_pd)) { *code = 7; goto fail; }
	if (port_init(&c->f_src, f_pd_query_md(c->fwd_pd, PD_Q_SRC, 0), &c->user_src, 1) ||
	    port_init(&c->f_wei, f_pd_query_md(c->fwd_pd, PD_Q_WEI, 0), &c->user_wei, 1) ||
	    port_init(&c->f_dst, f_pd_query_md(c->fwd_pd, PD_Q_DST, 0), &c->user_dst, 0)) { *code = 8; goto fail; }
	if (ensure_scratch(c, c->fwd_pd)) { *code = 9; goto fail; }
	impl_name(c->fwd_pd, c->impl[0]);
	return c;
fail:
	psnn_dnnl_conv_destroy(c);
	return NULL;
}

static int psnn_dnnl_conv_init_bwdd(psnn_dnnl_conv *c) {
	if (c->bwdd) return 0;
	int64_t sd[4] = {c->n, c->cin, c->h, c->w}, dd[4] = {c->n, c->cout, c->oh, c->ow}, wd[4] = {c->cout, c->cin, c->k, c->k};
	int64_t strides[2] = {1, 1}, pads[2] = {c->pad, c->pad};
	pd_md asrc, adst, awei;
	if (f_md_by_tag(&asrc, 4, sd, PD_F32, PD_TAG_ANY) || f_md_by_tag(&adst, 4, dd, PD_F32, PD_TAG_ANY) ||
	    f_md_by_tag(&awei, 4, wd, PD_F32, PD_TAG_ANY)) return 1;
	pd_convdesc d;
	if (f_conv_bwdd_init(&d, PD_CONV_DIRECT, &asrc, &awei, &adst, strides, pads, pads)) return 2;
	if (f_pd_create(&c->bwdd_pd, &d, c->attr, g_engine, c->fwd_pd)) return 3;
	if (f_prim_create(&c->bwdd, c->bwdd_pd)) return 4;
	if (port_init(&c->d_ddst, f_pd_query_md(c->bwdd_pd, PD_Q_DIFF_DST, 0), &c->user_dst, 1) ||
	    port_init(&c->d_wei, f_pd_query_md(c->bwdd_pd, PD_Q_WEI, 0), &c->user_wei, 1) ||
	    port_init(&c->d_dsrc, f_pd_query_md(c->bwdd_pd, PD_Q_DIFF_SRC, 0), &c->user_src, 0)) return 5;
	if (ensure_scratch(c, c->bwdd_pd)) return 6;
	impl_name(c->bwdd_pd, c->impl[1]);
	return 0;
}

static int psnn_dnnl_conv_init_bwdw(psnn_dnnl_conv *c) {
	if (c->bwdw) return 0;
	int64_t sd[4] = {c->n, c->cin, c->h, c->w}, dd[4] = {c->n, c->cout, c->oh, c->ow}, wd[4] = {c->cout, c->cin, c->k, c->k};
	int64_t strides[2] = {1, 1}, pads[2] = {c->pad, c->pad};
	pd_md asrc, adst, awei;
	if (f_md_by_tag(&asrc, 4, sd, PD_F32, PD_TAG_ANY) || f_md_by_tag(&adst, 4, dd, PD_F32, PD_TAG_ANY) ||
	    f_md_by_tag(&awei, 4, wd, PD_F32, PD_TAG_ANY)) return 1;
	pd_convdesc d;
	if (f_conv_bwdw_init(&d, PD_CONV_DIRECT, &asrc, &awei, NULL, &adst, strides, pads, pads)) return 2;
	if (f_pd_create(&c->bwdw_pd, &d, c->attr, g_engine, c->fwd_pd)) return 3;
	if (f_prim_create(&c->bwdw, c->bwdw_pd)) return 4;
	if (port_init(&c->w_src, f_pd_query_md(c->bwdw_pd, PD_Q_SRC, 0), &c->user_src, 1) ||
	    port_init(&c->w_ddst, f_pd_query_md(c->bwdw_pd, PD_Q_DIFF_DST, 0), &c->user_dst, 1) ||
	    port_init(&c->w_dwei, f_pd_query_md(c->bwdw_pd, PD_Q_DIFF_WEI, 0), &c->user_wei, 0)) return 5;
	if (ensure_scratch(c, c->bwdw_pd)) return 6;
	impl_name(c->bwdw_pd, c->impl[2]);
	return 0;
}

// run executes prim with nargs (arg, buffer) pairs, wrapping each buffer in
// a memory object for the call only.
static int run(psnn_dnnl_conv *c, void *prim, int nargs, const int *argk, const pd_md *const *mds, void *const *bufs) {
	pd_arg a[8];
	int s = 0, i;
	for (i = 0; i < nargs; i++) {
		a[i].arg = argk[i];
		if (f_mem_create(&a[i].memory, mds[i], g_engine, bufs[i])) { s = 1; break; }
	}
	if (s == 0) {
		set_threads();
		s = f_prim_execute(prim, c->stream, nargs, a) ? 2 : 0;
		if (s == 0 && f_stream_wait(c->stream)) s = 3;
	}
	for (int j = 0; j < i; j++) f_mem_destroy(a[j].memory);
	return s;
}

// prim_buf returns the buffer the primitive reads or writes for p: the
// user's data when no reorder is needed, else p's own buffer (NULL if it
// cannot be allocated).
static float *prim_buf(port *p, float *data) {
	if (!p->reorder) return data;
	if (!p->buf) p->buf = amalloc(p->size);
	return p->buf;
}

// to_prim returns the buffer in p's layout holding user data (reordering if needed).
static float *to_prim(psnn_dnnl_conv *c, port *p, const pd_md *user, float *data, int *s) {
	if (!p->reorder) return data;
	if (!prim_buf(p, data)) { *s = 12; return NULL; }
	int k[2] = {PD_ARG_FROM, PD_ARG_TO};
	const pd_md *m[2] = {user, p->md};
	void *b[2] = {data, p->buf};
	if (run(c, p->reorder, 2, k, m, b)) *s = 10;
	return p->buf;
}

static void from_prim(psnn_dnnl_conv *c, port *p, const pd_md *user, float *data, int *s) {
	if (!p->reorder) return;
	int k[2] = {PD_ARG_FROM, PD_ARG_TO};
	const pd_md *m[2] = {p->md, user};
	void *b[2] = {p->buf, data};
	if (run(c, p->reorder, 2, k, m, b)) *s = 11;
}

int psnn_dnnl_conv_forward(psnn_dnnl_conv *c, float *x, float *w, float *y) {
	int s = 0;
	float *px = to_prim(c, &c->f_src, &c->user_src, x, &s);
	float *pw = to_prim(c, &c->f_wei, &c->user_wei, w, &s);
	float *py = prim_buf(&c->f_dst, y);
	if (!py) return 12;
	if (s) return s;
	int k[4] = {PD_ARG_SRC, PD_ARG_WEI, PD_ARG_DST, PD_ARG_SCRATCH};
	const pd_md *m[4] = {c->f_src.md, c->f_wei.md, c->f_dst.md, f_pd_query_md(c->fwd_pd, PD_Q_SCRATCH, 0)};
	void *b[4] = {px, pw, py, c->scratch};
	if ((s = run(c, c->fwd, 4, k, m, b))) return s;
	from_prim(c, &c->f_dst, &c->user_dst, y, &s);
	return s;
}

// psnn_dnnl_conv_backward computes dL/dx into dx (when dx is not NULL) and dL/dW
// in OIHW order into dw (when dw is not NULL, overwriting it). When
// srcCached is set, the forward pass's reordered input is reused.
int psnn_dnnl_conv_backward(psnn_dnnl_conv *c, float *x, float *dy, float *w, float *dx, float *dw, int srcCached) {
	int s = 0;
	if (dx) {
		if ((s = psnn_dnnl_conv_init_bwdd(c))) return 20 + s;
		float *pdy = to_prim(c, &c->d_ddst, &c->user_dst, dy, &s);
		float *pw = to_prim(c, &c->d_wei, &c->user_wei, w, &s);
		float *pdx = prim_buf(&c->d_dsrc, dx);
		if (!pdx) return 12;
		if (s) return s;
		int k[4] = {PD_ARG_DIFF_DST, PD_ARG_WEI, PD_ARG_DIFF_SRC, PD_ARG_SCRATCH};
		const pd_md *m[4] = {c->d_ddst.md, c->d_wei.md, c->d_dsrc.md, f_pd_query_md(c->bwdd_pd, PD_Q_SCRATCH, 0)};
		void *b[4] = {pdy, pw, pdx, c->scratch};
		if ((s = run(c, c->bwdd, 4, k, m, b))) return s;
		from_prim(c, &c->d_dsrc, &c->user_src, dx, &s);
		if (s) return s;
	}
	if (dw) {
		if ((s = psnn_dnnl_conv_init_bwdw(c))) return 30 + s;
		float *px;
		if (srcCached && c->f_src.buf && c->w_src.reorder && f_md_equal(c->w_src.md, c->f_src.md)) px = c->f_src.buf;
		else px = to_prim(c, &c->w_src, &c->user_src, x, &s);
		float *pdy;
		if (dx && c->d_ddst.buf && c->w_ddst.reorder && f_md_equal(c->w_ddst.md, c->d_ddst.md)) pdy = c->d_ddst.buf;
		else pdy = to_prim(c, &c->w_ddst, &c->user_dst, dy, &s);
		float *pdw = prim_buf(&c->w_dwei, dw);
		if (!pdw) return 12;
		if (s) return s;
		int k[4] = {PD_ARG_SRC, PD_ARG_DIFF_DST, PD_ARG_DIFF_WEI, PD_ARG_SCRATCH};
		const pd_md *m[4] = {c->w_src.md, c->w_ddst.md, c->w_dwei.md, f_pd_query_md(c->bwdw_pd, PD_Q_SCRATCH, 0)};
		void *b[4] = {px, pdy, pdw, c->scratch};
		if ((s = run(c, c->bwdw, 4, k, m, b))) return s;
		from_prim(c, &c->w_dwei, &c->user_wei, dw, &s);
	}
	return s;
}

const char *psnn_dnnl_conv_impl(psnn_dnnl_conv *c, int i) { return c->impl[i]; }
