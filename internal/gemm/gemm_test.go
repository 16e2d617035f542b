package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naive is the reference triple loop in float64.
func naive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			c[i*ldc+j] = float32(float64(alpha)*s + float64(beta)*float64(c[i*ldc+j]))
		}
	}
}

func TestSgemmMatchesNaive(t *testing.T) {
	// tol: float32 accumulation over k ≤ 300 terms of magnitude ≤ 1.
	const tol = 1e-4
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sz := range [][3]int{{1, 1, 1}, {3, 5, 7}, {33, 17, 65}, {64, 300, 288}, {5, 0, 3}, {4, 6, 0}} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				m, n, k := sz[0], sz[1], sz[2]
				lda, ldb, ldc := k+2, n+1, n+3
				if ta {
					lda = m + 2
				}
				if tb {
					ldb = k + 1
				}
				arows, brows := m, k
				if ta {
					arows = k
				}
				if tb {
					brows = n
				}
				a := randSlice(rng, arows*lda+1)
				b := randSlice(rng, brows*ldb+1)
				c := randSlice(rng, m*ldc+1)
				want := append([]float32(nil), c...)
				naive(ta, tb, m, n, k, 0.7, a, lda, b, ldb, 0.3, want, ldc)
				got := append([]float32(nil), c...)
				Sgemm(ta, tb, m, n, k, 0.7, a, lda, b, ldb, 0.3, got, ldc)
				for i := range got {
					if math.Abs(float64(got[i]-want[i])) > tol {
						t.Fatalf("m=%d n=%d k=%d ta=%v tb=%v: c[%d]=%g want %g", m, n, k, ta, tb, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func TestSgemmPanicsOnShortSlice(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a short C")
		}
	}()
	Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.Float64()*2 - 1)
	}
	return s
}

func BenchmarkSgemm(b *testing.B) {
	for _, n := range []int{256, 1024} {
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			x, y, z := randSlice(rng, n*n), randSlice(rng, n*n), make([]float32, n*n)
			b.ReportMetric(0, "ns/op")
			for b.Loop() {
				Sgemm(false, false, n, n, n, 1, x, n, y, n, 0, z, n)
			}
			b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
	b.Logf("%+v", CurrentInfo())
}
