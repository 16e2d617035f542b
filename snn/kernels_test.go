package snn

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// im2colNHWCRef is the reference of im2colNHWC, one tap at a time.
func im2colNHWCRef(cols, in []float32, h, w, cin, k, pad, oh, ow int) {
	rowLen := k * k * cin
	for i := range oh {
		for j := range ow {
			row := cols[(i*ow+j)*rowLen : (i*ow+j+1)*rowLen]
			for a := range k {
				y := i + a - pad
				for b := range k {
					x := j + b - pad
					dst := row[(a*k+b)*cin : (a*k+b+1)*cin]
					if y < 0 || y >= h || x < 0 || x >= w {
						clear(dst)
						continue
					}
					copy(dst, in[(y*w+x)*cin:(y*w+x+1)*cin])
				}
			}
		}
	}
}

// TestIm2colMatchesReference compares im2colNHWC with the tap-by-tap
// reference on random planes, including kernels wider than the image and
// paddings of 0 to K.
func TestIm2colMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, c := range []struct{ h, w, cin, k, pad int }{
		{28, 28, 1, 3, 1}, {14, 14, 32, 3, 1}, {7, 5, 3, 3, 2}, {5, 7, 2, 5, 0}, {2, 3, 4, 5, 4}, {1, 1, 3, 3, 2}, {4, 4, 1, 1, 0},
	} {
		oh, ow := c.h+2*c.pad-c.k+1, c.w+2*c.pad-c.k+1
		in := make([]float32, c.h*c.w*c.cin)
		for i := range in {
			in[i] = rng.Float32()
		}
		n := oh * ow * c.k * c.k * c.cin
		got, want := make([]float32, n), make([]float32, n)
		for i := range got {
			got[i] = -1 // must be overwritten
		}
		im2colNHWC(got, in, c.h, c.w, c.cin, c.k, c.pad, oh, ow)
		im2colNHWCRef(want, in, c.h, c.w, c.cin, c.k, c.pad, oh, ow)
		if !slices.Equal(got, want) {
			t.Errorf("%+v: columns differ from the reference", c)
		}
	}
}
