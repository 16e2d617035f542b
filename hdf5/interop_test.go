package hdf5

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// python is the interpreter whose h5py the interoperability test uses.
const python = "/usr/bin/python3"

// writeTemp encodes g into a temporary file and returns its path.
func writeTemp(t *testing.T, g *Group) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tree.h5")
	if err := WriteFile(path, g); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestH5dump(t *testing.T) {
	if _, err := exec.LookPath("h5dump"); err != nil {
		t.Skip("h5dump not on PATH")
	}
	g := nirTree(40)
	g.Datasets = append(g.Datasets,
		&Dataset{Name: "empty", Shape: []int{0, 3}, Kind: Float32},
		&Dataset{Name: "ints", Shape: []int{2, 2}, Kind: Int64, I64: []int64{-9223372036854775808, 1, 2, 9223372036854775807}})
	out, err := exec.Command("h5dump", writeTemp(t, g)).CombinedOutput()
	if err != nil {
		t.Fatalf("h5dump: %v\n%s", err, out)
	}
	s := string(out)
	if strings.Contains(strings.ToLower(s), "error") || strings.Contains(strings.ToLower(s), "warning") {
		t.Fatalf("h5dump reports a problem:\n%s", s)
	}
	if miss := containsAll(s, `GROUP "lif39"`, `(0): "1.0.4"`, `(0): "NIRGraph"`, `(0,0): "input", "lif00"`,
		"(0): 0.02, 0.03, 7", "-9223372036854775808, 1", "ATTRIBUTE \"unit\"", "SIMPLE { ( 0, 3 ) / ( 0, 3 ) }",
		`(0): "privatesnn"`); miss != "" {
		t.Fatalf("h5dump output lacks %q:\n%s", miss, s)
	}
}

// h5pyDescribe is a Python program that prints, as JSON in the format of
// the fixture sidecars, what h5py reads from the file named by argv[1]. It
// also reads the file the way NIR's reader does.
const h5pyDescribe = `
import json, math, sys
import h5py, numpy as np
out = {"groups": [], "datasets": [], "attributes": []}
def kind(dt):
    if h5py.check_string_dtype(dt) is not None or dt.kind == "S": return "string"
    if dt.kind == "f": return {4: "float32", 8: "float64"}[dt.itemsize]
    return "int64"
def val(k, v):
    if k == "string": return v.decode("utf-8")
    if k == "int64": return int(v)
    x = float(v)
    if math.isnan(x): return "NaN"
    if math.isinf(x): return "Infinity" if x > 0 else "-Infinity"
    return x
def desc(v, dt):
    k, a = kind(dt), np.asarray(v)
    return {"kind": k, "shape": list(a.shape), "values": [val(k, x) for x in a.reshape(-1)]}
def attrs(o, p):
    for n in o.attrs:
        e = {"path": p, "name": n}; e.update(desc(o.attrs[n], o.attrs.get_id(n).dtype)); out["attributes"].append(e)
with h5py.File(sys.argv[1], "r") as f:
    out["groups"].append("/"); attrs(f, "/")
    def visit(n, o):
        p = "/" + n
        if isinstance(o, h5py.Group): out["groups"].append(p)
        else:
            e = {"path": p}; e.update(desc(o[()], o.dtype)); out["datasets"].append(e)
        attrs(o, p)
    f.visititems(visit)
    if "node" in f:
        assert f["version"][()].decode("utf8") == "1.0.4"
        assert f["node"]["type"][()] == b"NIRGraph"
        edges = [(a.decode("utf8"), b.decode("utf8")) for a, b in f["node"]["edges"][()]]
        assert edges[0] == ("input", "lif00"), edges[0]
out["groups"].sort()
print(json.dumps(out))
`

func TestH5py(t *testing.T) {
	if err := exec.Command(python, "-c", "import h5py").Run(); err != nil {
		t.Skipf("%s cannot import h5py: %v", python, err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	trees := []*Group{nirTree(25)}
	for range 5 {
		trees = append(trees, randGroup(r, "", 3))
	}
	for i, g := range trees {
		out, err := exec.Command(python, "-c", h5pyDescribe, writeTemp(t, g)).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("tree %d: h5py: %v\n%s", i, err, stderr)
		}
		var side fixtureSide
		if err := json.Unmarshal(out, &side); err != nil {
			t.Fatalf("tree %d: %v", i, err)
		}
		compareFixture(t, g, &side)
	}
}

func TestReadWriteFile(t *testing.T) {
	g := nirTree(2)
	path := writeTemp(t, g)
	got, err := ReadFile(path, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if d := diffGroup(g, got, "/"); d != "" {
		t.Fatal(d)
	}
	before, _ := os.ReadFile(path)
	if err := WriteFile(path, &Group{Datasets: []*Dataset{{Name: "", Kind: Int64}}}); err == nil {
		t.Fatal("WriteFile accepted an invalid tree")
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("a failed WriteFile changed the file")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	if _, err := ReadFile(path, Limits{MaxBytes: 16}); !errors.Is(err, ErrLimit) {
		t.Fatalf("small MaxBytes: %v", err)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.h5"), Limits{}); err == nil {
		t.Fatal("ReadFile of a missing file succeeded")
	}
	if _, err := ReadFile(t.TempDir(), Limits{}); err == nil {
		t.Fatal("ReadFile of a directory succeeded")
	}
}
