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
// constants are checked against them at compile time (as ints: they are
// values of different enums).
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
_Static_assert((int)PD_F32 == (int)dnnl_f32, "f32");
_Static_assert((int)PD_TAG_ANY == (int)dnnl_format_tag_any, "any");
_Static_assert((int)PD_TAG_ABCD == (int)dnnl_abcd, "abcd");
_Static_assert((int)PD_TAG_BACD == (int)dnnl_bacd, "bacd");
_Static_assert((int)PD_FWD_TRAINING == (int)dnnl_forward_training, "fwd");
_Static_assert((int)PD_BWD_DATA == (int)dnnl_backward_data, "bwd data");
_Static_assert((int)PD_BWD_WEIGHTS == (int)dnnl_backward_weights, "bwd weights");
_Static_assert((int)PD_CONV_DIRECT == (int)dnnl_convolution_direct, "direct");
_Static_assert((int)PD_Q_SRC == (int)dnnl_query_src_md && (int)PD_Q_DIFF_SRC == (int)dnnl_query_diff_src_md, "q");
_Static_assert((int)PD_Q_WEI == (int)dnnl_query_weights_md && (int)PD_Q_DIFF_WEI == (int)dnnl_query_diff_weights_md, "q");
_Static_assert((int)PD_Q_DST == (int)dnnl_query_dst_md && (int)PD_Q_DIFF_DST == (int)dnnl_query_diff_dst_md, "q");
_Static_assert((int)PD_Q_SCRATCH == (int)dnnl_query_scratchpad_md && (int)PD_Q_IMPL == (int)dnnl_query_impl_info_str, "q");
_Static_assert((int)PD_ARG_SRC == (int)DNNL_ARG_SRC && (int)PD_ARG_DST == (int)DNNL_ARG_DST && (int)PD_ARG_WEI == (int)DNNL_ARG_WEIGHTS, "arg");
_Static_assert((int)PD_ARG_DIFF_SRC == (int)DNNL_ARG_DIFF_SRC && (int)PD_ARG_DIFF_WEI == (int)DNNL_ARG_DIFF_WEIGHTS, "arg");
_Static_assert((int)PD_ARG_DIFF_DST == (int)DNNL_ARG_DIFF_DST && (int)PD_ARG_SCRATCH == (int)DNNL_ARG_SCRATCHPAD, "arg");
_Static_assert((int)PD_ARG_FROM == (int)DNNL_ARG_FROM && (int)PD_ARG_TO == (int)DNNL_ARG_TO, "arg");
_Static_assert((int)PD_CPU == (int)dnnl_cpu && (int)PD_STREAM_DEFAULT == (int)dnnl_stream_default_flags, "cpu");
_Static_assert((int)PD_SCRATCH_USER == (int)dnnl_scratchpad_mode_user && (int)PD_RUNTIME_OMP == (int)DNNL_RUNTIME_OMP, "misc");
_Static_assert(sizeof(pd_md) >= sizeof(dnnl_memory_desc_t), "md size");
_Static_assert(sizeof(pd_convdesc) >= sizeof(dnnl_convolution_desc_t), "conv desc size");
_Static_assert(sizeof(pd_arg) == sizeof(dnnl_exec_arg_t), "exec arg");
_Static_assert(sizeof(pd_dims) == sizeof(dnnl_dims_t), "dims");
// dnnl.go names these status values.
_Static_assert(dnnl_success == 0 && dnnl_out_of_memory == 1 && dnnl_invalid_arguments == 2 && dnnl_unimplemented == 3 &&
               dnnl_iterator_ends == 4 && dnnl_runtime_error == 5 && dnnl_not_required == 6, "dnnl_status_t");
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

int psnn_dnnl_load(char *err, size_t errlen, int *status) {
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
	st s = f_engine_create(&g_engine, PD_CPU, 0);
	if (s != 0) { snprintf(err, errlen, "dnnl_engine_create"); *status = s; return 4; }
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

// fail records in e that what failed with status (a dnnl_status_t, or
// PSNN_DNNL_NO_STATUS) and returns 1.
static int fail(psnn_dnnl_err *e, const char *what, int status) {
	e->what = what;
	e->status = status;
	return 1;
}

// CALL runs the oneDNN call x; where its status is not dnnl_success, it
// records name and the status in e and returns 1 from the caller.
#define CALL(e, name, x) do { st s_ = (x); if (s_ != 0) return fail(e, name, s_); } while (0)

static void port_free(port *p) {
	if (p->reorder) f_prim_destroy(p->reorder);
	if (p->reorder_pd) f_pd_destroy(p->reorder_pd);
	free(p->buf);
	memset(p, 0, sizeof *p);
}

// port_init sets up p for the primitive layout md against the user layout
// user; toPrim selects the reorder's direction.
static int port_init(port *p, const pd_md *md, const pd_md *user, int toPrim, psnn_dnnl_err *e) {
	memset(p, 0, sizeof *p);
	p->md = md;
	if (f_md_equal(md, user)) return 0;
	p->size = f_md_size(md);
	CALL(e, "dnnl_reorder_primitive_desc_create",
	     toPrim ? f_reorder_pd_create(&p->reorder_pd, user, g_engine, md, g_engine, NULL)
	            : f_reorder_pd_create(&p->reorder_pd, md, g_engine, user, g_engine, NULL));
	CALL(e, "dnnl_primitive_create (reorder)", f_prim_create(&p->reorder, p->reorder_pd));
	return 0;
}

static int ensure_scratch(psnn_dnnl_conv *c, void *pd, psnn_dnnl_err *e) {
	const pd_md *md = f_pd_query_md(pd, PD_Q_SCRATCH, 0);
	size_t n = md ? f_md_size(md) : 0;
	if (n <= c->scratch_size) return 0;
	free(c->scratch);
	c->scratch = amalloc(n);
	c->scratch_size = c->scratch ? n : 0;
	return c->scratch ? 0 : fail(e, "allocating the scratchpad", PSNN_DNNL_NO_STATUS);
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

// any_mds describes c's source, destination and weights with format "any",
// leaving the layouts to the primitive.
static int any_mds(psnn_dnnl_conv *c, pd_md *src, pd_md *dst, pd_md *wei, psnn_dnnl_err *e) {
	int64_t sd[4] = {c->n, c->cin, c->h, c->w}, dd[4] = {c->n, c->cout, c->oh, c->ow}, wd[4] = {c->cout, c->cin, c->k, c->k};
	CALL(e, "dnnl_memory_desc_init_by_tag", f_md_by_tag(src, 4, sd, PD_F32, PD_TAG_ANY));
	CALL(e, "dnnl_memory_desc_init_by_tag", f_md_by_tag(dst, 4, dd, PD_F32, PD_TAG_ANY));
	CALL(e, "dnnl_memory_desc_init_by_tag", f_md_by_tag(wei, 4, wd, PD_F32, PD_TAG_ANY));
	return 0;
}

// init_fwd builds c's stream, attributes, user layouts and forward
// primitive.
static int init_fwd(psnn_dnnl_conv *c, psnn_dnnl_err *e) {
	int64_t sd[4] = {c->n, c->cin, c->h, c->w}, dd[4] = {c->n, c->cout, c->oh, c->ow}, wd[4] = {c->cout, c->cin, c->k, c->k};
	int64_t strides[2] = {1, 1}, pads[2] = {c->pad, c->pad};
	pd_md asrc, adst, awei;
	CALL(e, "dnnl_stream_create", f_stream_create(&c->stream, g_engine, PD_STREAM_DEFAULT));
	CALL(e, "dnnl_primitive_attr_create", f_attr_create(&c->attr));
	CALL(e, "dnnl_primitive_attr_set_scratchpad_mode", f_attr_set_scratch(c->attr, PD_SCRATCH_USER));
	// The CNHW tensor [C, N, H, W] is the logical (N, C, H, W) in "bacd" order.
	CALL(e, "dnnl_memory_desc_init_by_tag", f_md_by_tag(&c->user_src, 4, sd, PD_F32, PD_TAG_BACD));
	CALL(e, "dnnl_memory_desc_init_by_tag", f_md_by_tag(&c->user_dst, 4, dd, PD_F32, PD_TAG_BACD));
	CALL(e, "dnnl_memory_desc_init_by_tag", f_md_by_tag(&c->user_wei, 4, wd, PD_F32, PD_TAG_ABCD));
	if (any_mds(c, &asrc, &adst, &awei, e)) return 1;
	pd_convdesc d;
	CALL(e, "dnnl_convolution_forward_desc_init",
	     f_conv_fwd_init(&d, PD_FWD_TRAINING, PD_CONV_DIRECT, &asrc, &awei, NULL, &adst, strides, pads, pads));
	CALL(e, "dnnl_primitive_desc_create (forward)", f_pd_create(&c->fwd_pd, &d, c->attr, g_engine, NULL));
	CALL(e, "dnnl_primitive_create (forward)", f_prim_create(&c->fwd, c->fwd_pd));
	if (port_init(&c->f_src, f_pd_query_md(c->fwd_pd, PD_Q_SRC, 0), &c->user_src, 1, e) ||
	    port_init(&c->f_wei, f_pd_query_md(c->fwd_pd, PD_Q_WEI, 0), &c->user_wei, 1, e) ||
	    port_init(&c->f_dst, f_pd_query_md(c->fwd_pd, PD_Q_DST, 0), &c->user_dst, 0, e) ||
	    ensure_scratch(c, c->fwd_pd, e)) return 1;
	impl_name(c->fwd_pd, c->impl[0]);
	return 0;
}

// psnn_dnnl_conv_create builds the forward primitive for a K×K stride-1 conv on
// CNHW tensors; the backward primitives are built on first use. On failure
// it returns NULL and e says why.
psnn_dnnl_conv *psnn_dnnl_conv_create(int cin, int cout, int n, int h, int w, int k, int pad, psnn_dnnl_err *e) {
	psnn_dnnl_conv *c = calloc(1, sizeof *c);
	if (!c) { fail(e, "allocating the convolution", PSNN_DNNL_NO_STATUS); return NULL; }
	c->cin = cin; c->cout = cout; c->n = n; c->h = h; c->w = w; c->k = k; c->pad = pad;
	c->oh = h + 2 * pad - k + 1; c->ow = w + 2 * pad - k + 1;
	if (init_fwd(c, e)) {
		psnn_dnnl_conv_destroy(c);
		return NULL;
	}
	return c;
}

static int init_bwdd(psnn_dnnl_conv *c, psnn_dnnl_err *e) {
	if (c->bwdd) return 0;
	int64_t strides[2] = {1, 1}, pads[2] = {c->pad, c->pad};
	pd_md asrc, adst, awei;
	if (any_mds(c, &asrc, &adst, &awei, e)) return 1;
	pd_convdesc d;
	CALL(e, "dnnl_convolution_backward_data_desc_init",
	     f_conv_bwdd_init(&d, PD_CONV_DIRECT, &asrc, &awei, &adst, strides, pads, pads));
	CALL(e, "dnnl_primitive_desc_create (backward data)", f_pd_create(&c->bwdd_pd, &d, c->attr, g_engine, c->fwd_pd));
	CALL(e, "dnnl_primitive_create (backward data)", f_prim_create(&c->bwdd, c->bwdd_pd));
	if (port_init(&c->d_ddst, f_pd_query_md(c->bwdd_pd, PD_Q_DIFF_DST, 0), &c->user_dst, 1, e) ||
	    port_init(&c->d_wei, f_pd_query_md(c->bwdd_pd, PD_Q_WEI, 0), &c->user_wei, 1, e) ||
	    port_init(&c->d_dsrc, f_pd_query_md(c->bwdd_pd, PD_Q_DIFF_SRC, 0), &c->user_src, 0, e) ||
	    ensure_scratch(c, c->bwdd_pd, e)) return 1;
	impl_name(c->bwdd_pd, c->impl[1]);
	return 0;
}

static int init_bwdw(psnn_dnnl_conv *c, psnn_dnnl_err *e) {
	if (c->bwdw) return 0;
	int64_t strides[2] = {1, 1}, pads[2] = {c->pad, c->pad};
	pd_md asrc, adst, awei;
	if (any_mds(c, &asrc, &adst, &awei, e)) return 1;
	pd_convdesc d;
	CALL(e, "dnnl_convolution_backward_weights_desc_init",
	     f_conv_bwdw_init(&d, PD_CONV_DIRECT, &asrc, &awei, NULL, &adst, strides, pads, pads));
	CALL(e, "dnnl_primitive_desc_create (backward weights)", f_pd_create(&c->bwdw_pd, &d, c->attr, g_engine, c->fwd_pd));
	CALL(e, "dnnl_primitive_create (backward weights)", f_prim_create(&c->bwdw, c->bwdw_pd));
	if (port_init(&c->w_src, f_pd_query_md(c->bwdw_pd, PD_Q_SRC, 0), &c->user_src, 1, e) ||
	    port_init(&c->w_ddst, f_pd_query_md(c->bwdw_pd, PD_Q_DIFF_DST, 0), &c->user_dst, 1, e) ||
	    port_init(&c->w_dwei, f_pd_query_md(c->bwdw_pd, PD_Q_DIFF_WEI, 0), &c->user_wei, 0, e) ||
	    ensure_scratch(c, c->bwdw_pd, e)) return 1;
	impl_name(c->bwdw_pd, c->impl[2]);
	return 0;
}

// run executes prim with nargs (arg, buffer) pairs, wrapping each buffer in
// a memory object for the call only. The failures it records name the
// oneDNN call and, in brackets, prim_name.
static int run(psnn_dnnl_conv *c, void *prim, const char *prim_name, int nargs, const int *argk, const pd_md *const *mds,
               void *const *bufs, psnn_dnnl_err *e) {
	pd_arg a[8];
	int bad = 0, i;
	for (i = 0; i < nargs; i++) {
		a[i].arg = argk[i];
		st s = f_mem_create(&a[i].memory, mds[i], g_engine, bufs[i]);
		if (s != 0) { bad = fail(e, "dnnl_memory_create", s); break; }
	}
	if (!bad) {
		set_threads();
		st s = f_prim_execute(prim, c->stream, nargs, a);
		if (s != 0) bad = fail(e, "dnnl_primitive_execute", s);
		else if ((s = f_stream_wait(c->stream)) != 0) bad = fail(e, "dnnl_stream_wait", s);
	}
	if (bad) e->prim = prim_name;
	for (int j = 0; j < i; j++) f_mem_destroy(a[j].memory);
	return bad;
}

// prim_buf sets *out to the buffer the primitive reads or writes for p:
// the user's data when no reorder is needed, else p's own buffer,
// allocated on first use.
static int prim_buf(port *p, float *data, float **out, psnn_dnnl_err *e) {
	*out = data;
	if (!p->reorder) return 0;
	if (!p->buf) p->buf = amalloc(p->size);
	*out = p->buf;
	return p->buf ? 0 : fail(e, "allocating a reorder buffer", PSNN_DNNL_NO_STATUS);
}

// to_prim sets *out to the buffer in p's layout holding the user's data,
// reordering it if needed.
static int to_prim(psnn_dnnl_conv *c, port *p, const pd_md *user, float *data, float **out, psnn_dnnl_err *e) {
	if (prim_buf(p, data, out, e)) return 1;
	if (!p->reorder) return 0;
	int k[2] = {PD_ARG_FROM, PD_ARG_TO};
	const pd_md *m[2] = {user, p->md};
	void *b[2] = {data, p->buf};
	return run(c, p->reorder, "reorder into oneDNN's layout", 2, k, m, b, e);
}

// from_prim copies p's buffer into the user's data where p reorders.
static int from_prim(psnn_dnnl_conv *c, port *p, const pd_md *user, float *data, psnn_dnnl_err *e) {
	if (!p->reorder) return 0;
	int k[2] = {PD_ARG_FROM, PD_ARG_TO};
	const pd_md *m[2] = {p->md, user};
	void *b[2] = {p->buf, data};
	return run(c, p->reorder, "reorder from oneDNN's layout", 2, k, m, b, e);
}

int psnn_dnnl_conv_forward(psnn_dnnl_conv *c, float *x, float *w, float *y, psnn_dnnl_err *e) {
	float *px, *pw, *py;
	if (to_prim(c, &c->f_src, &c->user_src, x, &px, e) || to_prim(c, &c->f_wei, &c->user_wei, w, &pw, e) ||
	    prim_buf(&c->f_dst, y, &py, e)) return 1;
	int k[4] = {PD_ARG_SRC, PD_ARG_WEI, PD_ARG_DST, PD_ARG_SCRATCH};
	const pd_md *m[4] = {c->f_src.md, c->f_wei.md, c->f_dst.md, f_pd_query_md(c->fwd_pd, PD_Q_SCRATCH, 0)};
	void *b[4] = {px, pw, py, c->scratch};
	if (run(c, c->fwd, "convolution forward", 4, k, m, b, e)) return 1;
	return from_prim(c, &c->f_dst, &c->user_dst, y, e);
}

// backward_data computes dL/dx into dx.
static int backward_data(psnn_dnnl_conv *c, float *dy, float *w, float *dx, psnn_dnnl_err *e) {
	float *pdy, *pw, *pdx;
	if (init_bwdd(c, e) || to_prim(c, &c->d_ddst, &c->user_dst, dy, &pdy, e) ||
	    to_prim(c, &c->d_wei, &c->user_wei, w, &pw, e) || prim_buf(&c->d_dsrc, dx, &pdx, e)) return 1;
	int k[4] = {PD_ARG_DIFF_DST, PD_ARG_WEI, PD_ARG_DIFF_SRC, PD_ARG_SCRATCH};
	const pd_md *m[4] = {c->d_ddst.md, c->d_wei.md, c->d_dsrc.md, f_pd_query_md(c->bwdd_pd, PD_Q_SCRATCH, 0)};
	void *b[4] = {pdy, pw, pdx, c->scratch};
	if (run(c, c->bwdd, "convolution backward data", 4, k, m, b, e)) return 1;
	return from_prim(c, &c->d_dsrc, &c->user_src, dx, e);
}

// backward_weights computes dL/dW into dw, reusing the forward pass's
// reordered x when srcCached and backward_data's reordered dy when
// dyReordered, where the layouts agree.
static int backward_weights(psnn_dnnl_conv *c, float *x, float *dy, float *dw, int srcCached, int dyReordered,
                            psnn_dnnl_err *e) {
	float *px, *pdy, *pdw;
	if (init_bwdw(c, e)) return 1;
	if (srcCached && c->f_src.buf && c->w_src.reorder && f_md_equal(c->w_src.md, c->f_src.md)) px = c->f_src.buf;
	else if (to_prim(c, &c->w_src, &c->user_src, x, &px, e)) return 1;
	if (dyReordered && c->d_ddst.buf && c->w_ddst.reorder && f_md_equal(c->w_ddst.md, c->d_ddst.md)) pdy = c->d_ddst.buf;
	else if (to_prim(c, &c->w_ddst, &c->user_dst, dy, &pdy, e)) return 1;
	if (prim_buf(&c->w_dwei, dw, &pdw, e)) return 1;
	int k[4] = {PD_ARG_SRC, PD_ARG_DIFF_DST, PD_ARG_DIFF_WEI, PD_ARG_SCRATCH};
	const pd_md *m[4] = {c->w_src.md, c->w_ddst.md, c->w_dwei.md, f_pd_query_md(c->bwdw_pd, PD_Q_SCRATCH, 0)};
	void *b[4] = {px, pdy, pdw, c->scratch};
	if (run(c, c->bwdw, "convolution backward weights", 4, k, m, b, e)) return 1;
	return from_prim(c, &c->w_dwei, &c->user_wei, dw, e);
}

// psnn_dnnl_conv_backward computes dL/dx into dx (when dx is not NULL) and
// dL/dW in OIHW order into dw (when dw is not NULL, overwriting it). When
// srcCached is set, the forward pass's reordered input is reused.
int psnn_dnnl_conv_backward(psnn_dnnl_conv *c, float *x, float *dy, float *w, float *dx, float *dw, int srcCached,
                            psnn_dnnl_err *e) {
	if (dx && backward_data(c, dy, w, dx, e)) return 1;
	if (dw && backward_weights(c, x, dy, dw, srcCached, dx != NULL, e)) return 1;
	return 0;
}

const char *psnn_dnnl_conv_impl(psnn_dnnl_conv *c, int i) { return c->impl[i]; }
