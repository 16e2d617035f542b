//go:build !cgo || purego

package gemm

import "runtime"

func load() { threads = runtime.GOMAXPROCS(0) }

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gonumSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func setThreads(int) {}

func info() Info {
	return Info{Backend: "gonum", Note: "built without cgo: pure-Go GEMM"}
}

// NativeSgemmGFLOPS reports false: there is no native BLAS in this build.
func NativeSgemmGFLOPS(n, iters int) (float64, bool) { return 0, false }
