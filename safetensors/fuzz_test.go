package safetensors

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecode checks that Decode never panics, that it only fails with
// format or dtype errors on in-memory input, and that whatever it accepts
// survives an Encode/Decode round trip bit for bit.
func FuzzDecode(f *testing.F) {
	f.Add(encodeBytes(f, sampleFile()))
	f.Add(encodeBytes(f, &File{}))
	f.Add(encodeBytes(f, &File{Tensors: []Tensor{{Name: "w", Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}}}))
	f.Add(rawFile(`{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]},"d":{"dtype":"F64","shape":[],"data_offsets":[6,14]}}`,
		[]byte{0, 0x3c, 0xff, 0x7b, 0x80, 0x3f, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f}))
	f.Add(rawFile(`{"__metadata__":{"k":"v"},"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{}}`, make([]byte, 4)))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := decodeBytes(in)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupportedDType) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		total := 0
		for _, tn := range got.Tensors {
			n, ok := numElements(tn.Shape)
			if !ok || n != len(tn.Data) {
				t.Fatalf("tensor %q: shape %v with %d elements", tn.Name, tn.Shape, len(tn.Data))
			}
			total += n
		}
		if total > len(in) {
			t.Fatalf("%d elements decoded from %d bytes", total, len(in))
		}
		var buf bytes.Buffer
		if err := Encode(&buf, got); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := decodeBytes(buf.Bytes())
		if err != nil {
			t.Fatalf("decode of re-encoded file: %v", err)
		}
		if len(again.Tensors) != len(got.Tensors) || len(again.Metadata) != len(got.Metadata) {
			t.Fatalf("round trip changed the file: %d/%d tensors", len(again.Tensors), len(got.Tensors))
		}
		for k, v := range got.Metadata {
			if again.Metadata[k] != v {
				t.Fatalf("metadata %q: %q became %q", k, v, again.Metadata[k])
			}
		}
		for _, want := range got.Tensors {
			tn, ok := again.Get(want.Name)
			if !ok || !sameInts(tn.Shape, want.Shape) || !sameBits(tn.Data, want.Data) {
				t.Fatalf("tensor %q changed in the round trip", want.Name)
			}
		}
	})
}
