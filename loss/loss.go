// Package loss provides the classification losses privatesnn trains with:
// cross-entropy with hard or soft labels at a temperature, and Hinton's
// distillation loss. Each returns the batch-mean loss and its gradient with
// respect to the logits.
//
// # Error handling
//
// Functions panic on programmer errors (mismatched shapes, a label outside
// [0, classes)), with messages prefixed "loss:". Callers validate data first.
//
// # Concurrency
//
// Functions are pure and safe for concurrent use.
package loss

import (
	"fmt"
	"math"

	"github.com/privatesnn/privatesnn/tensor"
)

// logSoftmax writes log softmax(z/τ) of one row into dst, in float64.
func logSoftmax(dst []float64, z []float32, tau float64) {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, float64(v)/tau)
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v)/tau - m)
	}
	ls := m + math.Log(s)
	for i, v := range z {
		dst[i] = float64(v)/tau - ls
	}
}

func checkLogits(z *tensor.Tensor) (n, k int) {
	if len(z.Shape) != 2 || z.Shape[0] == 0 || z.Shape[1] == 0 {
		panic(fmt.Sprintf("loss: logits %v, want [N>0, K>0]", z.Shape))
	}
	return z.Shape[0], z.Shape[1]
}

// CrossEntropy returns the mean over the batch of −log softmax(z_n)[y_n] and
// its gradient (softmax(z) − onehot(y))/N.
func CrossEntropy(z *tensor.Tensor, labels []int32) (float64, *tensor.Tensor) {
	n, k := checkLogits(z)
	if len(labels) != n {
		panic(fmt.Sprintf("loss: %d labels for %d rows", len(labels), n))
	}
	grad := tensor.New(n, k)
	total := crossEntropyRows(grad.Data, z.Data, labels, k, n)
	return total / float64(n), grad
}

// CrossEntropyRows writes CrossEntropy's gradient for some rows of a batch
// of n: z holds those rows' logits [rows, k], labels their labels, and
// grad [rows, k] receives (softmax(z) − onehot(y))/n, the same values
// CrossEntropy computes for them. A loss that is a mean over images can be
// differentiated chunk by chunk this way.
func CrossEntropyRows(grad, z []float32, labels []int32, k, n int) {
	if k <= 0 || len(z)%k != 0 || len(grad) != len(z) || len(labels) != len(z)/k || n < len(labels) {
		panic(fmt.Sprintf("loss: %d logits, %d gradients, %d labels of %d classes in a batch of %d", len(z), len(grad), len(labels), k, n))
	}
	crossEntropyRows(grad, z, labels, k, n)
}

// crossEntropyRows writes the gradient of rows z [len(labels), k] of a
// batch of n into grad and returns Σ −log softmax(z_i)[y_i] over them.
func crossEntropyRows(grad, z []float32, labels []int32, k, n int) float64 {
	lp := make([]float64, k)
	var total float64
	for i := range labels {
		y := int(labels[i])
		if y < 0 || y >= k {
			panic(fmt.Sprintf("loss: label %d outside [0, %d)", y, k))
		}
		logSoftmax(lp, z[i*k:(i+1)*k], 1)
		total -= lp[y]
		g := grad[i*k : (i+1)*k]
		for j := range k {
			g[j] = float32(math.Exp(lp[j]) / float64(n))
		}
		g[y] -= float32(1 / float64(n))
	}
	return total
}

// SoftCrossEntropy returns −(1/N) Σ_n Σ_k t[n,k] · log softmax(z_n/τ)_k for
// soft targets t (rows summing to 1) and its gradient
// (softmax(z/τ)·Σ_k t − t)/(τ·N). This is the synthesis loss (τ = 20, no τ²
// factor).
func SoftCrossEntropy(z, targets *tensor.Tensor, tau float64) (float64, *tensor.Tensor) {
	n, k := checkLogits(z)
	if !tensor.SameShape(z.Shape, targets.Shape) {
		panic(fmt.Sprintf("loss: targets %v for logits %v", targets.Shape, z.Shape))
	}
	if tau <= 0 {
		panic(fmt.Sprintf("loss: temperature %g ≤ 0", tau))
	}
	grad := tensor.New(n, k)
	lp := make([]float64, k)
	var total float64
	for i := range n {
		logSoftmax(lp, z.Data[i*k:(i+1)*k], tau)
		t := targets.Data[i*k : (i+1)*k]
		var tsum float64
		for j := range k {
			total -= float64(t[j]) * lp[j]
			tsum += float64(t[j])
		}
		g := grad.Data[i*k : (i+1)*k]
		for j := range k {
			g[j] = float32((math.Exp(lp[j])*tsum - float64(t[j])) / (tau * float64(n)))
		}
	}
	return total / float64(n), grad
}

// Distill returns Hinton's knowledge-distillation loss
// τ² · (1/N) Σ_n KL(softmax(teacher_n/τ) ‖ softmax(student_n/τ)) (PyTorch's
// kl_div with reduction "batchmean", times τ²) and its gradient with respect
// to the student logits, τ·(softmax(s/τ) − softmax(t/τ))/N. The teacher
// receives no gradient.
func Distill(student, teacher *tensor.Tensor, tau float64) (float64, *tensor.Tensor) {
	n, k := checkLogits(student)
	if !tensor.SameShape(student.Shape, teacher.Shape) {
		panic(fmt.Sprintf("loss: teacher %v for student %v", teacher.Shape, student.Shape))
	}
	grad := tensor.New(n, k)
	total := distillRows(grad.Data, student.Data, teacher.Data, k, n, tau)
	return tau * tau * total / float64(n), grad
}

// DistillRows writes Distill's gradient for some rows of a batch of n:
// student and teacher hold those rows' logits [rows, k], and grad
// [rows, k] receives τ·(softmax(s/τ) − softmax(a/τ))/n, the same values
// Distill computes for them.
func DistillRows(grad, student, teacher []float32, k, n int, tau float64) {
	if k <= 0 || len(student)%k != 0 || len(grad) != len(student) || len(teacher) != len(student) || n < len(student)/k {
		panic(fmt.Sprintf("loss: %d student and %d teacher logits, %d gradients of %d classes in a batch of %d", len(student), len(teacher), len(grad), k, n))
	}
	distillRows(grad, student, teacher, k, n, tau)
}

// distillRows writes the gradient of rows of a batch of n into grad and
// returns Σ KL(softmax(a/τ) ‖ softmax(s/τ)) over them.
func distillRows(grad, student, teacher []float32, k, n int, tau float64) float64 {
	if tau <= 0 {
		panic(fmt.Sprintf("loss: temperature %g ≤ 0", tau))
	}
	ls := make([]float64, k)
	lt := make([]float64, k)
	var total float64
	for i := range len(student) / k {
		logSoftmax(ls, student[i*k:(i+1)*k], tau)
		logSoftmax(lt, teacher[i*k:(i+1)*k], tau)
		g := grad[i*k : (i+1)*k]
		for j := range k {
			pt := math.Exp(lt[j])
			total += pt * (lt[j] - ls[j])
			g[j] = float32(tau * (math.Exp(ls[j]) - pt) / float64(n))
		}
	}
	return total
}

// Correct returns how many rows of z have their argmax at the label.
func Correct(z *tensor.Tensor, labels []int32) int {
	n, k := checkLogits(z)
	c := 0
	for i := range n {
		if tensor.Argmax(z.Data[i*k:(i+1)*k]) == int(labels[i]) {
			c++
		}
	}
	return c
}
