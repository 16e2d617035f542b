package attack

import "fmt"

// Fixed-point weights, out of 1<<24, of one pass of the extended box blur
// that Pillow's GaussianBlur(radius=1) applies three times per axis: Pillow
// turns σ = 1 over three passes into a box of radius 0.25, whose weights are
// blurCentre for the pixel itself and blurSide for each direct neighbour
// (blurCentre + 2·blurSide = 1<<24 − 1).
const (
	blurCentre = 11184811
	blurSide   = 2796202
	blurHalf   = 1 << 23
	blurPasses = 3
)

// blurStack is the longest row that GaussianBlur keeps its scratch row for
// on the stack; longer rows get one heap allocation per call.
const blurStack = 256

// GaussianBlur blurs img in place: c channel planes of h×w uint8 pixels,
// planar (CHW) layout, plane k at img[k*h*w:(k+1)*h*w] in row-major order.
// The result equals Pillow's ImageFilter.GaussianBlur(radius=1) on the same
// 8-bit image ('L' for c = 1, 'RGB' for c = 3) bit for bit: every channel is
// blurred on its own by three horizontal passes followed by three vertical
// passes of the 1-D kernel
//
//	out[x] = (in[x]·11184811 + (in[x−1] + in[x+1])·2796202 + 1<<23) >> 24
//
// in uint32 arithmetic, with edge pixels replicated (in[−1] = in[0],
// in[n] = in[n−1]) and the result truncated to uint8 after every pass. A
// constant image stays constant. Images with h or w of 0 are left as they
// are.
//
// GaussianBlur panics, as a programmer error, if a dimension is negative
// or len(img) != c*h*w. It allocates nothing for w ≤ 256, otherwise one
// scratch row of w bytes.
func GaussianBlur(img []uint8, c, h, w int) {
	if c < 0 || h < 0 || w < 0 || len(img) != c*h*w {
		panic(fmt.Sprintf("attack.GaussianBlur: %d bytes for %d×%d×%d pixels", len(img), c, h, w))
	}
	if c == 0 || h == 0 || w == 0 {
		return
	}
	var stack [blurStack]uint8
	var prev []uint8
	if w <= blurStack {
		prev = stack[:w]
	} else {
		prev = make([]uint8, w)
	}
	plane := h * w
	for k := 0; k < c; k++ {
		p := img[k*plane : (k+1)*plane]
		for y := 0; y < h; y++ {
			row := p[y*w : (y+1)*w]
			for i := 0; i < blurPasses; i++ {
				blurRow(row)
			}
		}
		for i := 0; i < blurPasses; i++ {
			blurColumns(p, h, w, prev)
		}
	}
}

// blurKernel is one tap of the pass: centre pixel v with neighbours a and b.
func blurKernel(a, v, b uint8) uint8 {
	return uint8((uint32(v)*blurCentre + (uint32(a)+uint32(b))*blurSide + blurHalf) >> 24)
}

// blurRow applies one horizontal pass to row in place.
func blurRow(row []uint8) {
	n := len(row)
	if n == 1 {
		row[0] = blurKernel(row[0], row[0], row[0])
		return
	}
	prev := row[0]
	for x := 0; x < n-1; x++ {
		cur := row[x]
		row[x] = blurKernel(prev, cur, row[x+1])
		prev = cur
	}
	row[n-1] = blurKernel(prev, row[n-1], row[n-1])
}

// blurColumns applies one vertical pass to the h×w plane p in place, row by
// row; prev (w bytes) holds the unblurred values of the row above. For the
// last row next is the row itself: next[x] is read before row[x] is written.
func blurColumns(p []uint8, h, w int, prev []uint8) {
	copy(prev, p[:w])
	for y := 0; y < h; y++ {
		row := p[y*w : (y+1)*w]
		next := row
		if y+1 < h {
			next = p[(y+1)*w : (y+2)*w]
		}
		above := prev[:len(row)]
		next = next[:len(row)]
		for x, cur := range row {
			row[x] = blurKernel(above[x], cur, next[x])
			above[x] = cur
		}
	}
}
