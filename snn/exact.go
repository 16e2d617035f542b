package snn

import "github.com/privatesnn/privatesnn/internal/parallel"

// exactSynapse computes the currents of P input planes as synapse does,
// but accumulates every product in float64 and rounds each current to
// float32 once. A product of two float32 values is exact in float64 and
// the float64 sum's rounding error is far below float32's resolution, so
// the currents do not depend on the order of accumulation: any engine
// that sums in float64 and rounds once (PyTorch in float64, for one)
// gets the same float32 currents, barring a sum that falls within about
// 10⁻¹⁶ of a float32 rounding boundary.
func (cs *chunkSim) exactSynapse(s *stage, in []float32, P int) {
	out, inSize := s.outSize(), s.inSize()
	cur := cs.cur[:P*out]
	parallel.For(P, P*inSize*8, func(lo, hi int) {
		acc := make([]float64, out)
		for p := lo; p < hi; p++ {
			clear(acc)
			src := in[p*inSize : (p+1)*inSize]
			if s.kind == convStage {
				convExact(acc, src, s.wt, s.h, s.w, s.cin, s.cout, s.k, s.pad)
			} else {
				for i, v := range src[:s.cin] {
					if v != 0 {
						axpy64(acc, s.wt[i*s.cout:(i+1)*s.cout], v)
					}
				}
			}
			dst := cur[p*out : (p+1)*out]
			for i, v := range acc {
				dst[i] = float32(v)
			}
		}
	})
}

// convExact is convEventsGo with a float64 accumulator.
func convExact(out []float64, in, wt []float32, h, w, cin, cout, k, pad int) {
	oh, ow := h+2*pad-k+1, w+2*pad-k+1
	for y := range h {
		for x := range w {
			for ci, v := range in[(y*w+x)*cin : (y*w+x+1)*cin] {
				if v == 0 {
					continue
				}
				for a := range k {
					oy := y - a + pad
					if oy < 0 || oy >= oh {
						continue
					}
					for b := range k {
						ox := x - b + pad
						if ox < 0 || ox >= ow {
							continue
						}
						o := (oy*ow + ox) * cout
						axpy64(out[o:o+cout], wt[((a*k+b)*cin+ci)*cout:((a*k+b)*cin+ci+1)*cout], v)
					}
				}
			}
		}
	}
}

// axpy64 adds float64(v)·float64(w[i]), exact products, into dst.
func axpy64(dst []float64, w []float32, v float32) {
	a := float64(v)
	for i, x := range w[:len(dst)] {
		dst[i] += a * float64(x)
	}
}
