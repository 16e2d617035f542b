//go:build cgo && !purego

package gemm

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
typedef void (*setthreads_fn)(int);
typedef char* (*str_fn)(void);

static sgemm_fn p_sgemm;
static setthreads_fn p_setthreads;
static str_fn p_corename;
static str_fn p_config;

// psnn_blas_load opens OpenBLAS and resolves the symbols privatesnn uses.
// It returns 0 on success, 1 if the library is missing, 2 if cblas_sgemm is.
static int psnn_blas_load(void) {
	const char *names[] = {"libopenblas.so.0", "libopenblas.so", NULL};
	void *h = NULL;
	for (int i = 0; names[i] && !h; i++) h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!h) return 1;
	p_sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
	if (!p_sgemm) return 2;
	p_setthreads = (setthreads_fn)dlsym(h, "openblas_set_num_threads");
	p_corename = (str_fn)dlsym(h, "openblas_get_corename");
	p_config = (str_fn)dlsym(h, "openblas_get_config");
	return 0;
}

static void psnn_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                       const float *b, int ldb, float beta, float *c, int ldc) {
	p_sgemm(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
// psnn_native_seconds times iters n×n×n SGEMMs called from C, with no cgo
// transition per call: what OpenBLAS itself reaches. Returns -1 on failure.
static double psnn_native_seconds(int n, int iters) {
	float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
	if (!a || !b || !c) { free(a); free(b); free(c); return -1; }
	for (long i = 0; i < (long)n * n; i++) { a[i] = (float)(i % 7) / 7; b[i] = (float)(i % 5) / 5; c[i] = 0; }
	p_sgemm(101, 111, 111, n, n, n, 1, a, n, b, n, 0, c, n);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < iters; i++) p_sgemm(101, 111, 111, n, n, n, 1, a, n, b, n, 0, c, n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	free(a); free(b); free(c);
	return (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
}
static void psnn_setthreads(int n) { if (p_setthreads) p_setthreads(n); }
static const char *psnn_corename(void) { return p_corename ? p_corename() : ""; }
static const char *psnn_config(void) { return p_config ? p_config() : ""; }
*/
import "C"

import (
	"math"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/cpu"
)

var (
	loaded bool
	note   string
)

func load() {
	threads = runtime.GOMAXPROCS(0)
	if os.Getenv("OPENBLAS_CORETYPE") == "" {
		// OpenBLAS reads OPENBLAS_CORETYPE when it is loaded; set it from
		// the CPU features so a misdetection cannot select a slow kernel.
		switch {
		case cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512DQ:
			os.Setenv("OPENBLAS_CORETYPE", "SkylakeX")
			note = "set OPENBLAS_CORETYPE=SkylakeX from CPU features"
		case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
			os.Setenv("OPENBLAS_CORETYPE", "Haswell")
			note = "set OPENBLAS_CORETYPE=Haswell from CPU features"
		}
	}
	if os.Getenv("OPENBLAS_THREAD_TIMEOUT") == "" {
		// Idle OpenBLAS threads spin with sched_yield for 2^28 cycles by
		// default, stealing the cores from the Go and oneDNN work between
		// GEMMs (measured: 660 → 760 training images/s); 2^10 cycles.
		os.Setenv("OPENBLAS_THREAD_TIMEOUT", "10")
	}
	if os.Getenv("OPENBLAS_NUM_THREADS") == "" {
		// Avoid a thread pool larger than the Go side uses.
		os.Setenv("OPENBLAS_NUM_THREADS", strconv.Itoa(threads))
	}
	switch C.psnn_blas_load() {
	case 0:
		loaded = true
		C.psnn_setthreads(C.int(threads))
	case 1:
		note = "libopenblas.so.0 not found (install libopenblas0 or libopenblas-dev): pure-Go GEMM"
	default:
		note = "libopenblas has no cblas_sgemm: pure-Go GEMM"
	}
}

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !loaded || m > math.MaxInt32 || n > math.MaxInt32 || k > math.MaxInt32 || k == 0 {
		gonumSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	ta, tb := C.int(0), C.int(0)
	if transA {
		ta = 1
	}
	if transB {
		tb = 1
	}
	// lda/ldb must be ≥ 1 for OpenBLAS even when the operand is unused.
	C.psnn_sgemm(ta, tb, C.int(m), C.int(n), C.int(k), C.float(alpha),
		(*C.float)(&a[0]), C.int(max(lda, 1)), (*C.float)(&b[0]), C.int(max(ldb, 1)),
		C.float(beta), (*C.float)(&c[0]), C.int(max(ldc, 1)))
}

func setThreads(n int) {
	if loaded {
		C.psnn_setthreads(C.int(n))
	}
}

func info() Info {
	if !loaded {
		return Info{Backend: "gonum", Note: note}
	}
	return Info{Backend: "openblas", Core: C.GoString(C.psnn_corename()), Config: C.GoString(C.psnn_config()), Note: note}
}

// NativeSgemmGFLOPS times n×n×n SGEMMs looped inside C (no per-call cgo
// cost) and returns OpenBLAS's own GFLOP/s; ok is false without OpenBLAS.
func NativeSgemmGFLOPS(n, iters int) (gflops float64, ok bool) {
	loadOnce.Do(load)
	if !loaded || n < 1 || iters < 1 {
		return 0, false
	}
	sec := float64(C.psnn_native_seconds(C.int(n), C.int(iters)))
	if sec <= 0 {
		return 0, false
	}
	return 2 * float64(n) * float64(n) * float64(n) * float64(iters) / sec / 1e9, true
}
