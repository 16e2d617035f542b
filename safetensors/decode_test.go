package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"
)

// u16Bytes returns the little-endian encoding of raw 16-bit patterns.
func u16Bytes(v ...uint16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return b
}

// TestDecodeDTypes decodes a hand-built file holding F16, BF16 and F64
// tensors. Expected values follow from the IEEE-754 binary16 and bfloat16
// bit layouts (e.g. 0x3555 = (1+341/1024)·2⁻² = 0.333251953125).
func TestDecodeDTypes(t *testing.T) {
	f16 := u16Bytes(0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x8000, 0x7c00, 0xfc00, 0x3555)
	bf16 := u16Bytes(0x3f80, 0xc040, 0x4049, 0x0000)
	f64 := make([]byte, 8*4)
	for i, v := range []float64{1.5, -1e40, 0.1, 1e-50} {
		binary.LittleEndian.PutUint64(f64[8*i:], math.Float64bits(v))
	}
	data := append(append(append([]byte{}, f64...), f16...), bf16...)
	header := `{"h":{"dtype":"F16","shape":[3,3],"data_offsets":[32,50]},` +
		`"d":{"dtype":"F64","shape":[2,2],"data_offsets":[0,32]},` +
		`"b":{"dtype":"BF16","shape":[4],"data_offsets":[50,58]},` +
		`"__metadata__":{"source":"hand-built"}}   `
	f, err := decodeBytes(rawFile(header, data))
	if err != nil {
		t.Fatal(err)
	}
	inf := float32(math.Inf(1))
	want := []Tensor{
		{"d", []int{2, 2}, []float32{1.5, -inf, float32(0.1), 0}},
		{"h", []int{3, 3}, []float32{1, -2, 65504, 1.0 / (1 << 24), 1023.0 / (1 << 24), float32(math.Copysign(0, -1)), inf, -inf, 0.333251953125}},
		{"b", []int{4}, []float32{1, -3, 3.140625, 0}},
	}
	if len(f.Tensors) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(f.Tensors), len(want))
	}
	for i, w := range want { // also checks data-offset order
		g := f.Tensors[i]
		if g.Name != w.Name || !sameInts(g.Shape, w.Shape) || !sameBits(g.Data, w.Data) {
			t.Errorf("tensor %d = %q %v %v, want %q %v %v", i, g.Name, g.Shape, g.Data, w.Name, w.Shape, w.Data)
		}
	}
	if f.Metadata["source"] != "hand-built" {
		t.Errorf("metadata = %v", f.Metadata)
	}
}

// TestHalfToFloat32Exhaustive checks every binary16 pattern against the
// textbook formula (−1)^s · 2^(e−15) · (1 + m/1024), subnormals
// (−1)^s · 2^−14 · m/1024, evaluated in float64.
func TestHalfToFloat32Exhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		s, e, m := h>>15, (h>>10)&0x1f, h&0x3ff
		var want float64
		switch {
		case e == 0x1f && m == 0:
			want = math.Inf(1)
		case e == 0x1f:
			want = math.NaN()
		case e == 0:
			want = math.Ldexp(float64(m)/1024, -14)
		default:
			want = math.Ldexp(1+float64(m)/1024, e-15)
		}
		if s == 1 {
			want = -want
		}
		got := halfToFloat32(uint16(h))
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("half %#04x = %v, want NaN", h, got)
			}
			continue
		}
		if math.Float32bits(got) != math.Float32bits(float32(want)) {
			t.Fatalf("half %#04x = %v, want %v", h, got, want)
		}
	}
}

func TestDecodeCorrupt(t *testing.T) {
	const ok = `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	two := f32Bytes(1, 2)
	hugeLen := make([]byte, 16)
	binary.LittleEndian.PutUint64(hugeLen, 1<<62)
	overMax := make([]byte, 16)
	binary.LittleEndian.PutUint64(overMax, MaxHeaderBytes+1)
	for _, tc := range []struct {
		name string
		in   []byte
		size int64 // 0 means len(in)
		want string
	}{
		{"empty input", nil, 0, "too short"},
		{"truncated length prefix", []byte{1, 2, 3}, 0, "too short"},
		{"short reader for length", []byte{1, 2, 3}, 100, "header length truncated"},
		{"header length huge", hugeLen, 0, "exceeds the limit"},
		{"header length over MaxHeaderBytes", overMax, 1 << 40, "exceeds the limit"},
		{"header length beyond size", rawFile(ok, two)[:30], 0, "exceeds the 22 bytes"},
		{"truncated header", rawFile(ok, two)[:30], 200, "header truncated"},
		{"bad JSON", rawFile(`{"a":{"dtype":"F32",`, nil), 0, "tensor \"a\""},
		{"bad JSON syntax", rawFile(`{"a" "b"}`, nil), 0, "invalid character"},
		{"not an object", rawFile(`["a"]`, nil), 0, "does not start with '{'"},
		{"leading space", rawFile(` {}`, nil), 0, "does not start with '{'"},
		{"trailing garbage", rawFile(`{} x`, nil), 0, "after the top-level"},
		{"second object", rawFile(`{}{}`, nil), 0, "after the top-level"},
		{"invalid UTF-8", rawFile("{\"\xff\":1}", nil), 0, "UTF-8"},
		{"entry not an object", rawFile(`{"a":[1]}`, nil), 0, "expected a JSON object"},
		{"offsets out of range", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, two), 0, "out of range"},
		{"offsets reversed", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, two), 0, "invalid data_offsets [8, 0]"},
		{"negative offset", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}`, two), 0, "invalid data_offsets"},
		{"three offsets", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}`, two), 0, "has 3 values, want 2"},
		{"overlapping", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, two), 0, "overlap"},
		{"same range twice", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, two), 0, "overlap"},
		{"gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, two), 0, "bytes [0, 4) belong to no tensor"},
		{"uncovered tail", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, two), 0, "bytes [4, 8) belong to no tensor"},
		{"shape size mismatch", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, two), 0, "needs 3 elements of 4 bytes"},
		{"dtype size mismatch", rawFile(`{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}`, two), 0, "needs 2 elements of 8 bytes"},
		{"shape overflow", rawFile(`{"a":{"dtype":"F32","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,8]}}`, two), 0, "overflows"},
		{"negative shape", rawFile(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, two), 0, "dimension 0 out of range"},
		{"fractional shape", rawFile(`{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}`, two), 0, "invalid shape"},
		{"null shape", rawFile(`{"a":{"dtype":"F32","shape":null,"data_offsets":[0,8]}}`, two), 0, "missing shape"},
		{"unknown dtype", rawFile(`{"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}}`, two), 0, `unknown dtype "F31"`},
		{"numeric dtype", rawFile(`{"a":{"dtype":32,"shape":[2],"data_offsets":[0,8]}}`, two), 0, "invalid dtype"},
		{"null dtype", rawFile(`{"a":{"dtype":null,"shape":[2],"data_offsets":[0,8]}}`, two), 0, "invalid dtype"},
		{"missing dtype", rawFile(`{"a":{"shape":[2],"data_offsets":[0,8]}}`, two), 0, "missing dtype"},
		{"missing offsets", rawFile(`{"a":{"dtype":"F32","shape":[2]}}`, two), 0, "missing data_offsets"},
		{"unknown field", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"bias":1}}`, two), 0, `unknown field "bias"`},
		{"duplicate key", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, two), 0, `duplicate key "a"`},
		{"duplicate field", rawFile(`{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, two), 0, `duplicate key "dtype"`},
		{"duplicate metadata", rawFile(`{"__metadata__":{},"__metadata__":{}}`, nil), 0, `duplicate key "__metadata__"`},
		{"metadata not strings", rawFile(`{"__metadata__":{"k":1}}`, nil), 0, `value of "k" is not a string`},
		{"metadata null value", rawFile(`{"__metadata__":{"k":null}}`, nil), 0, `value of "k" is not a string`},
		{"metadata not an object", rawFile(`{"__metadata__":"x"}`, nil), 0, "expected a JSON object"},
		{"truncated data", rawFile(ok, two)[:len(ok)+12], int64(len(rawFile(ok, two))), `data of tensor "a" truncated`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			size := tc.size
			if size == 0 {
				size = int64(len(tc.in))
			}
			f, err := Decode(bytes.NewReader(tc.in), size)
			if err == nil {
				t.Fatalf("Decode succeeded: %+v", f)
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %q does not wrap ErrFormat", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestDecodeUnsupportedDType(t *testing.T) {
	in := rawFile(`{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8))
	_, err := decodeBytes(in)
	if !errors.Is(err, ErrUnsupportedDType) || errors.Is(err, ErrFormat) {
		t.Fatalf("error = %v, want ErrUnsupportedDType only", err)
	}
	if !strings.Contains(err.Error(), `tensor "ids" has dtype I64`) {
		t.Errorf("error %q does not name the tensor and dtype", err)
	}
}

// failReader returns its error after the first n bytes of b.
type failReader struct {
	b   []byte
	err error
}

func (r *failReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, r.err
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func TestDecodeReaderError(t *testing.T) {
	in := encodeBytes(t, sampleFile())
	boom := errors.New("boom")
	for _, n := range []int{0, 4, 8, 20, len(in) - 1} {
		_, err := Decode(&failReader{in[:n], boom}, int64(len(in)))
		if !errors.Is(err, boom) || errors.Is(err, ErrFormat) {
			t.Errorf("cut at %d: error = %v, want the reader's error", n, err)
		}
	}
}

func TestDecodeReadsExactlySize(t *testing.T) {
	in := encodeBytes(t, sampleFile())
	r := bytes.NewReader(append(append([]byte{}, in...), "trailing"...))
	if _, err := Decode(r, int64(len(in))); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	if string(rest) != "trailing" {
		t.Errorf("Decode left %q unread, want %q", rest, "trailing")
	}
}

// TestDecodeAllocationBounded feeds headers that promise far more data than
// the reader holds and checks that Decode fails without allocating in
// proportion to the claims.
func TestDecodeAllocationBounded(t *testing.T) {
	bigHeader := make([]byte, 8)
	binary.LittleEndian.PutUint64(bigHeader, MaxHeaderBytes)
	bigHeader = append(bigHeader, `{"a":`...)
	const n = 1 << 30 // 4 GiB of F32 promised, 8 bytes present
	hdr := `{"a":{"dtype":"F32","shape":[1073741824],"data_offsets":[0,4294967296]}}`
	bigData := rawFile(hdr, make([]byte, 8))
	for _, tc := range []struct {
		name string
		in   []byte
		size int64
	}{
		{"header claims 100 MiB", bigHeader, 1 << 40},
		{"tensor claims 4 GiB", bigData, int64(8 + len(hdr) + 4*n)},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := Decode(bytes.NewReader(tc.in), tc.size)
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("%s: error = %v, want truncation", tc.name, err)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
			t.Errorf("%s: allocated %d bytes", tc.name, got)
		}
	}
}
