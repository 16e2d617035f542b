package synth

import (
	"bytes"
	"testing"
)

// FuzzReadBinary checks that ReadBinary never panics, and that whatever it
// accepts is a valid set that writes back to the same bytes.
func FuzzReadBinary(f *testing.F) {
	s := testSet(1, 2, 2, 2, []int32{0, 1}, []uint8{1, 2, 3, 4, 5, 6, 7, 8}, []float32{0.25, 0.75, 1, 0})
	var b bytes.Buffer
	if err := s.WriteBinary(&b); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add(b.Bytes()[:40])
	f.Add([]byte(binaryMagic))
	f.Fuzz(func(t *testing.T, in []byte) {
		set, err := ReadBinary(bytes.NewReader(in))
		if err != nil {
			return
		}
		if err := set.Validate(); err != nil {
			t.Fatalf("accepted an invalid set: %v", err)
		}
		var out bytes.Buffer
		if err := set.WriteBinary(&out); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), in) {
			t.Fatal("accepted file does not round-trip")
		}
	})
}
