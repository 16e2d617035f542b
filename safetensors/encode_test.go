package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := sampleFile()
	out, err := decodeBytes(encodeBytes(t, in))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !maps.Equal(in.Metadata, out.Metadata) {
		t.Errorf("metadata = %v, want %v", out.Metadata, in.Metadata)
	}
	if len(out.Tensors) != len(in.Tensors) {
		t.Fatalf("got %d tensors, want %d", len(out.Tensors), len(in.Tensors))
	}
	names := make([]string, len(out.Tensors))
	for i, got := range out.Tensors {
		names[i] = got.Name
	}
	if !slices.IsSorted(names) {
		t.Errorf("decoded order %q is not name order", names)
	}
	for _, want := range in.Tensors {
		got, ok := out.Get(want.Name)
		if !ok {
			t.Errorf("tensor %q missing", want.Name)
			continue
		}
		if !sameInts(got.Shape, want.Shape) || !sameBits(got.Data, want.Data) {
			t.Errorf("tensor %q = %v %v, want %v %v", want.Name, got.Shape, got.Data, want.Shape, want.Data)
		}
	}
	if _, ok := out.Get("absent"); ok {
		t.Error("Get(absent) reported a tensor")
	}
}

func TestRoundTripNoMetadata(t *testing.T) {
	in := &File{Tensors: []Tensor{{Name: "w", Shape: []int{2}, Data: []float32{1, 2}}}}
	b := encodeBytes(t, in)
	if bytes.Contains(b, []byte(metadataKey)) {
		t.Errorf("header %q contains %s for empty metadata", b[8:], metadataKey)
	}
	out, err := decodeBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	if out.Metadata != nil {
		t.Errorf("Metadata = %v, want nil", out.Metadata)
	}
	empty, err := decodeBytes(encodeBytes(t, &File{}))
	if err != nil || len(empty.Tensors) != 0 {
		t.Errorf("empty file: %v, %v", empty, err)
	}
}

func TestEncodeDeterministic(t *testing.T) {
	a := encodeBytes(t, sampleFile())
	if b := encodeBytes(t, sampleFile()); !bytes.Equal(a, b) {
		t.Fatal("two encodings of the same File differ")
	}
	shuffled := sampleFile()
	slices.Reverse(shuffled.Tensors)
	if b := encodeBytes(t, shuffled); !bytes.Equal(a, b) {
		t.Fatal("encoding depends on the order of File.Tensors")
	}
}

// TestEncodeExactBytes pins the header layout. The expected header is what
// Python's json.dumps(h, sort_keys=True, separators=(",", ":")) returns for
// the same dict (checked with CPython 3.11), padded with spaces.
func TestEncodeExactBytes(t *testing.T) {
	f := &File{
		Tensors: []Tensor{
			{Name: "b", Shape: []int{2}, Data: []float32{1, -2}},
			{Name: "a", Shape: []int{}, Data: []float32{0.5}},
			{Name: "é<", Shape: []int{1, 0}, Data: nil},
		},
		Metadata: map[string]string{"script": "x.py", "torch": "1.13"},
	}
	header := `{"__metadata__":{"script":"x.py","torch":"1.13"},` +
		`"a":{"data_offsets":[0,4],"dtype":"F32","shape":[]},` +
		`"b":{"data_offsets":[4,12],"dtype":"F32","shape":[2]},` +
		`"\u00e9<":{"data_offsets":[12,12],"dtype":"F32","shape":[1,0]}}`
	header += strings.Repeat(" ", (8-len(header)%8)%8)
	want := rawFile(header, f32Bytes(0.5, 1, -2))
	got := encodeBytes(t, f)
	if !bytes.Equal(got, want) {
		t.Errorf("Encode =\n%q\nwant\n%q", got, want)
	}
	if n := binary.LittleEndian.Uint64(got); n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
}

func TestWriteJSONStringEscapes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", `"plain"`},
		{"q\"b\\s/", `"q\"b\\s/"`},
		{"\b\f\n\r\t\x01\x7f~", `"\b\f\n\r\t\u0001\u007f~"`},
		{"é€", `"\u00e9\u20ac"`},
		{"😀", `"\ud83d\ude00"`},
	} {
		var b bytes.Buffer
		writeJSONString(&b, tc.in)
		if b.String() != tc.want {
			t.Errorf("writeJSONString(%q) = %s, want %s", tc.in, b.String(), tc.want)
		}
	}
}

// errWriter counts bytes written and fails after limit bytes.
type errWriter struct{ n, limit int }

func (w *errWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		return 0, errors.New("disk full")
	}
	w.n += len(p)
	return len(p), nil
}

func TestEncodeInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *File
		want string
	}{
		{"nil", nil, "nil File"},
		{"shape mismatch", &File{Tensors: []Tensor{{Name: "x", Shape: []int{2, 3}, Data: make([]float32, 5)}}}, "shape [2 3] has 6 elements, but len(Data) is 5"},
		{"negative dim", &File{Tensors: []Tensor{{Name: "x", Shape: []int{-1}, Data: nil}}}, "invalid shape"},
		{"duplicate", &File{Tensors: []Tensor{{Name: "x", Shape: []int{}, Data: []float32{1}}, {Name: "x", Shape: []int{}, Data: []float32{2}}}}, `duplicate tensor name "x"`},
		{"reserved", &File{Tensors: []Tensor{{Name: metadataKey, Shape: []int{}, Data: []float32{1}}}}, "reserved"},
		{"bad utf8 name", &File{Tensors: []Tensor{{Name: "\xff", Shape: []int{}, Data: []float32{1}}}}, "not valid UTF-8"},
		{"bad utf8 metadata", &File{Metadata: map[string]string{"k": "\xfe"}}, "not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &errWriter{limit: 1 << 20}
			err := Encode(w, tc.f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Encode error = %v, want one containing %q", err, tc.want)
			}
			if w.n != 0 {
				t.Errorf("Encode wrote %d bytes for an invalid File", w.n)
			}
		})
	}
}

func TestEncodeWriteError(t *testing.T) {
	f := &File{Tensors: []Tensor{{Name: "big", Shape: []int{100000}, Data: make([]float32, 100000)}}}
	for _, limit := range []int{0, 8, 100, 200000} {
		err := Encode(&errWriter{limit: limit}, f)
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("limit %d: error = %v, want the writer's error", limit, err)
		}
	}
}
