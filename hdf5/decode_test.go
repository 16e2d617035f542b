package hdf5

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestChecksumMismatch(t *testing.T) {
	b := readFixture(t, "latest.h5")
	// Superblock version 2/3: one byte of the root address field.
	sb := bytes.Clone(b)
	sb[8+4+3*8] ^= 1
	// Object header: a byte inside the root group's OHDR chunk.
	oh := bytes.Clone(b)
	i := bytes.Index(oh[48:], []byte("OHDR")) + 48
	oh[i+8] ^= 0x40
	// Fixed array header of a chunk index.
	fa := bytes.Clone(b)
	fa[bytes.Index(fa, []byte("FAHD"))+6] ^= 1
	for name, p := range map[string][]byte{"superblock": sb, "object header": oh, "fixed array": fa} {
		_, err := Decode(p, Limits{})
		if !errors.Is(err, ErrChecksum) {
			t.Errorf("%s: got %v, want a checksum error", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestTruncated(t *testing.T) {
	for _, path := range fixtures(t) {
		b := readFixture(t, strings.TrimPrefix(path, "testdata/"))
		for n := range len(b) {
			if _, err := Decode(b[:n], Limits{}); err == nil {
				t.Fatalf("%s: the %d-byte prefix decoded without error", path, n)
			}
		}
	}
}

// patchEOF sets the end-of-file address of a superblock at offset 0 to n,
// recomputing the checksum of version 2 and 3 superblocks.
func patchEOF(b []byte, n int) {
	switch b[8] {
	case superblockV0:
		binary.LittleEndian.PutUint64(b[40:], uint64(n))
	case superblockV2, superblockV3:
		binary.LittleEndian.PutUint64(b[28:], uint64(n))
		binary.LittleEndian.PutUint32(b[44:], checksum(b[:44]))
	}
}

// TestTruncatedDeep cuts fixtures but patches the superblock's end-of-file
// address, so that decoding gets past the superblock and meets missing
// structures: it must not panic, and a tree it returns must re-encode.
func TestTruncatedDeep(t *testing.T) {
	for _, name := range []string{"nir.h5", "latest.h5", "misc.h5", "attrs.h5"} {
		b := readFixture(t, name)
		step := max(1, len(b)/3000)
		for n := 64; n < len(b); n += step {
			p := bytes.Clone(b[:n])
			patchEOF(p, n)
			checkDecoded(t, p)
		}
	}
}

// checkDecoded decodes p with small limits and, on success, checks that
// the tree re-encodes and decodes to itself.
func checkDecoded(t *testing.T, p []byte) {
	t.Helper()
	g, err := Decode(p, Limits{MaxBytes: 1 << 22, MaxObjects: 1 << 12, MaxDepth: 16})
	if err != nil {
		if !strings.HasPrefix(err.Error(), "hdf5: ") {
			t.Fatalf("error without prefix: %v", err)
		}
		return
	}
	if treeBytes(g) > 64<<20 {
		return // fixed-length strings would make the file too large to test
	}
	e, err := Encode(g)
	if err != nil {
		if errors.Is(err, ErrInvalid) && strings.Contains(err.Error(), "object header") {
			return // an attribute too large for a version 1 object header
		}
		t.Fatalf("decoded tree does not re-encode: %v", err)
	}
	g2, err := Decode(e, Limits{})
	if err != nil {
		t.Fatalf("re-encoded tree does not decode: %v", err)
	}
	if d := diffGroup(g, g2, "/"); d != "" {
		t.Fatalf("re-encoded tree differs: %s", d)
	}
}

func TestLimits(t *testing.T) {
	b := readFixture(t, "nir.h5")
	cases := []struct {
		lim  Limits
		want string
	}{
		{Limits{MaxBytes: 100}, "Limits.MaxBytes"},
		{Limits{MaxObjects: 10}, "Limits.MaxObjects"},
		{Limits{MaxDepth: 2}, "Limits.MaxDepth"},
	}
	for _, c := range cases {
		_, err := Decode(b, c.lim)
		if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v", c.lim, err)
		}
	}
	if _, err := Decode(b, Limits{MaxDepth: 3}); err != nil {
		t.Errorf("depth 3 suffices: %v", err)
	}
	// A huge declared dataspace fails on the limit, before allocating.
	g := &Group{Datasets: []*Dataset{{Name: "x", Kind: Int64, Shape: []int{1}, I64: []int64{1}}}}
	e, _ := Encode(g)
	i := bytes.Index(e, []byte{dataspaceV1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0})
	binary.LittleEndian.PutUint64(e[i+8:], 1<<60)
	if _, err := Decode(e, Limits{}); !errors.Is(err, ErrLimit) {
		t.Errorf("huge dataspace: got %v", err)
	}
}

func TestCycle(t *testing.T) {
	e, err := Encode(&Group{Groups: []*Group{{Name: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	root := binary.LittleEndian.Uint64(e[64:])
	// The root's symbol table node comes first; point its one entry ("a")
	// at the root group itself.
	i := bytes.Index(e, []byte("SNOD"))
	binary.LittleEndian.PutUint64(e[i+snodHeaderSize+8:], root)
	_, err = Decode(e, Limits{})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("got %v, want a cycle error", err)
	}
	t.Log(err)
}

func TestNotHDF5(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("hello"), make([]byte, 4096)} {
		if _, err := Decode(b, Limits{}); !errors.Is(err, ErrFormat) {
			t.Errorf("got %v", err)
		}
	}
	b := append([]byte(signature), 9)
	if _, err := Decode(b, Limits{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("superblock version 9: got %v", err)
	}
}

func TestErrorContext(t *testing.T) {
	_, err := ReadFile("testdata/unsupported_lzf.h5", Limits{})
	if miss := containsAll(err.Error(), "read testdata/unsupported_lzf.h5: hdf5: /z: object header at 0x", "unsupported filter 32000"); miss != "" || !errors.Is(err, ErrUnsupported) {
		t.Errorf("error %q lacks %q", err, miss)
	}
}

func TestChecksumFunctions(t *testing.T) {
	// Values of the Jenkins lookup3 hashlittle (initial value 0) and of the
	// HDF5 Fletcher-32 for short inputs, computed by hand from their
	// definitions and cross-checked against the fixtures.
	if got := checksum(nil); got != 0xdeadbeef {
		t.Errorf("lookup3(\"\") = %#x", got)
	}
	if got := fletcher32([]byte{0x01, 0x02}); got != 0x01020102 {
		t.Errorf("fletcher32(01 02) = %#x", got)
	}
	if got := fletcher32([]byte{0x01, 0x02, 0x03}); got != 0x05040402 {
		t.Errorf("fletcher32(01 02 03) = %#x", got)
	}
}
