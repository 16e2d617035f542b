//go:build !cgo || purego

package dnnl

import "errors"

var errNoCgo = errors.New("dnnl: built without cgo")

const note = "built without cgo"

var version string

func available() bool { return false }

func setThreads(int) {}

type conv struct{}

func newConv(Shape) (*conv, error)                           { return nil, errNoCgo }
func (*conv) free()                                          {}
func (*conv) forward(_, _, _ []float32) error                { return errNoCgo }
func (*conv) backward(_, _, _, _, _ []float32, _ bool) error { return errNoCgo }
func (*conv) impl() [3]string                                { return [3]string{} }
