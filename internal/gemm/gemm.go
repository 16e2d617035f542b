// Package gemm is the single seam between privatesnn and a BLAS library: a
// row-major single-precision matrix multiply.
//
// # Overview
//
// Sgemm computes C = alpha·op(A)·op(B) + beta·C with row-major storage. With
// cgo enabled the first call loads OpenBLAS with dlopen (libopenblas.so.0).
// Debian's OpenBLAS 0.3.21 misdetects some AVX-512 processors as "Prescott"
// and then runs ~4× slower; when OPENBLAS_CORETYPE is unset, the loader sets
// it from the CPU's features before the library is loaded, so users need not
// know about it. Without cgo (CGO_ENABLED=0 or the purego build tag), or when
// the library cannot be loaded, a pure-Go implementation (gonum) is used.
// Info reports which backend and kernel ran.
//
// # Error handling
//
// Sgemm panics on programmer errors: negative sizes, leading dimensions
// smaller than the row length, or slices too short for the described
// matrices. Failure to load OpenBLAS is not an error: the fallback runs and
// Info says why.
//
// # Concurrency
//
// Sgemm is safe for concurrent use on disjoint outputs. SetThreads changes a
// process-wide setting.
package gemm

import (
	"fmt"
	"runtime"
	"sync"
)

// Info describes the GEMM backend in use.
type Info struct {
	Backend string `json:"backend"`          // "openblas" or "gonum"
	Core    string `json:"core,omitempty"`   // OpenBLAS core kernel name (e.g. "SkylakeX"); empty for gonum
	Config  string `json:"config,omitempty"` // library configuration string, if available
	Threads int    `json:"threads"`          // threads the backend may use
	Note    string `json:"note,omitempty"`   // why the fallback runs, or what the loader changed
}

var (
	loadOnce sync.Once
	mu       sync.Mutex
	threads  int
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C where op(X) is X or Xᵀ
// (transA, transB), op(A) is m×k, op(B) is k×n and C is m×n, all row-major
// with leading dimensions lda, ldb, ldc.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	check(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	loadOnce.Do(load)
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SetThreads sets how many threads the backend uses (n < 1 means GOMAXPROCS).
func SetThreads(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	loadOnce.Do(load)
	mu.Lock()
	threads = n
	mu.Unlock()
	setThreads(n)
}

// Threads returns the thread count set by SetThreads (GOMAXPROCS by default).
func Threads() int {
	loadOnce.Do(load)
	mu.Lock()
	defer mu.Unlock()
	return threads
}

// CurrentInfo loads the backend if needed and describes it.
func CurrentInfo() Info {
	loadOnce.Do(load)
	inf := info()
	inf.Threads = Threads()
	return inf
}

func check(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	need := func(name string, s []float32, rows, cols, ld int) {
		if rows == 0 || cols == 0 {
			return
		}
		if ld < max(cols, 1) {
			panic(fmt.Sprintf("gemm: %s leading dimension %d < %d", name, ld, cols))
		}
		if len(s) < (rows-1)*ld+cols {
			panic(fmt.Sprintf("gemm: %s has %d elements, need %d", name, len(s), (rows-1)*ld+cols))
		}
	}
	need("A", a, ar, ac, lda)
	need("B", b, br, bc, ldb)
	need("C", c, m, n, ldc)
}
