//go:build cgo && !purego

package dnnl

/*
#cgo LDFLAGS: -ldl
#include "psnn_dnnl.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"unsafe"
)

var (
	loadOnce sync.Once
	loaded   bool
	note     string
	version  string
	calls    chan func()
)

// worker runs every oneDNN execution on one locked OS thread: libgomp keeps
// a thread pool (and the thread-count setting) per calling thread, so calls
// from whichever thread Go happens to use would multiply the pools.
func worker() {
	runtime.LockOSThread()
	for f := range calls {
		f()
	}
}

// do runs f on the worker thread and waits for it.
func do(f func()) {
	done := make(chan struct{})
	calls <- func() {
		defer close(done)
		f()
	}
	<-done
}

func load() {
	if os.Getenv("PRIVATESNN_NO_DNNL") != "" {
		note = "disabled by PRIVATESNN_NO_DNNL"
		return
	}
	threads := runtime.GOMAXPROCS(0)
	if os.Getenv("OMP_NUM_THREADS") == "" {
		// libgomp reads it once when loaded; the per-call setting below
		// covers the threads that exist already.
		os.Setenv("OMP_NUM_THREADS", strconv.Itoa(threads))
	}
	if os.Getenv("OMP_WAIT_POLICY") == "" && os.Getenv("GOMP_SPINCOUNT") == "" {
		// libgomp's default spins ~300k iterations at every barrier and after
		// every parallel region. On a busy machine a spinning thread burns
		// the time slice its descheduled teammate needs: a training step
		// took 2-4x longer than with threads that sleep at once, while on
		// an idle machine sleeping costs a futex wake per region (tens of
		// regions per step, microseconds each).
		os.Setenv("OMP_WAIT_POLICY", "passive")
	}
	var buf [256]C.char
	status := C.int(C.PSNN_DNNL_NO_STATUS)
	if C.psnn_dnnl_load(&buf[0], C.size_t(len(buf)), &status) != 0 {
		note = C.GoString(&buf[0])
		if status != C.PSNN_DNNL_NO_STATUS {
			note += ": " + statusName(int(status))
		}
		return
	}
	var maj, mnr, pat C.int
	var rt C.uint
	C.psnn_dnnl_version(&maj, &mnr, &pat, &rt)
	version = fmt.Sprintf("%d.%d.%d", maj, mnr, pat)
	if rt != C.PSNN_DNNL_RUNTIME_OMP {
		note = fmt.Sprintf("oneDNN CPU runtime %d is not OpenMP: thread count not controlled", rt)
	}
	C.psnn_dnnl_set_threads(C.int(threads))
	calls = make(chan func())
	go worker()
	loaded = true
}

func available() bool {
	loadOnce.Do(load)
	return loaded
}

func setThreads(n int) {
	if available() {
		C.psnn_dnnl_set_threads(C.int(n))
	}
}

type conv struct {
	p       *C.psnn_dnnl_conv
	cleanup runtime.Cleanup
}

// cError turns the failure e reported by psnn_dnnl.c during op into an
// error naming the oneDNN call, the primitive it executed if any, and the
// status, e.g. "dnnl: convolution forward: dnnl_primitive_execute
// (convolution forward): dnnl_runtime_error (5)".
func cError(op string, e *C.psnn_dnnl_err) error {
	what := C.GoString(e.what)
	if e.prim != nil {
		what += " (" + C.GoString(e.prim) + ")"
	}
	if e.status == C.PSNN_DNNL_NO_STATUS {
		return fmt.Errorf("dnnl: %s: %s failed", op, what)
	}
	return fmt.Errorf("dnnl: %s: %s: %s", op, what, statusName(int(e.status)))
}

func newConv(s Shape) (*conv, error) {
	var e C.psnn_dnnl_err
	p := C.psnn_dnnl_conv_create(C.int(s.InC), C.int(s.OutC), C.int(s.N), C.int(s.H), C.int(s.W), C.int(s.K), C.int(s.Pad), &e)
	if p == nil {
		return nil, cError(fmt.Sprintf("cannot create convolution %+v", s), &e)
	}
	c := &conv{p: p}
	c.cleanup = runtime.AddCleanup(c, func(p *C.psnn_dnnl_conv) { C.psnn_dnnl_conv_destroy(p) }, p)
	return c, nil
}

func (c *conv) free() {
	c.cleanup.Stop()
	C.psnn_dnnl_conv_destroy(c.p)
	c.p = nil
}

func fp(s []float32) *C.float { return (*C.float)(unsafe.Pointer(&s[0])) }

func (c *conv) forward(x, w, y []float32) error {
	var e C.psnn_dnnl_err
	var s C.int
	do(func() { s = C.psnn_dnnl_conv_forward(c.p, fp(x), fp(w), fp(y), &e) })
	if s != 0 {
		return cError("convolution forward", &e)
	}
	return nil
}

// backward computes dx (if non-nil) and dw (if non-nil, overwritten).
func (c *conv) backward(x, dy, w, dx, dw []float32, srcCached bool) error {
	var pdx, pdw *C.float
	if dx != nil {
		pdx = fp(dx)
	}
	if dw != nil {
		pdw = fp(dw)
	}
	cached := C.int(0)
	if srcCached {
		cached = 1
	}
	var e C.psnn_dnnl_err
	var s C.int
	do(func() { s = C.psnn_dnnl_conv_backward(c.p, fp(x), fp(dy), fp(w), pdx, pdw, cached, &e) })
	if s != 0 {
		return cError("convolution backward", &e)
	}
	return nil
}

func (c *conv) impl() [3]string {
	return [3]string{C.GoString(C.psnn_dnnl_conv_impl(c.p, 0)), C.GoString(C.psnn_dnnl_conv_impl(c.p, 1)), C.GoString(C.psnn_dnnl_conv_impl(c.p, 2))}
}
