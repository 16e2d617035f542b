package imageset

import "github.com/privatesnn/privatesnn/tensor"

// Smooth returns x [N, C, H, W] with every plane blurred by a 3×3 box
// filter: each value becomes the mean of its neighbourhood inside the
// image (border values average fewer neighbours).
func Smooth(x *tensor.Tensor) *tensor.Tensor {
	h, w := x.Shape[2], x.Shape[3]
	y := tensor.New(x.Shape...)
	for i := range x.Len() / (h * w) {
		src, dst := x.Data[i*h*w:(i+1)*h*w], y.Data[i*h*w:(i+1)*h*w]
		for r := range h {
			for q := range w {
				var sum float32
				n := 0
				for rr := max(0, r-1); rr <= min(h-1, r+1); rr++ {
					for qq := max(0, q-1); qq <= min(w-1, q+1); qq++ {
						sum += src[rr*w+qq]
						n++
					}
				}
				dst[r*w+q] = sum / float32(n)
			}
		}
	}
	return y
}
