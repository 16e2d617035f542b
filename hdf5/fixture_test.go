package hdf5

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixtureSide is the JSON sidecar scripts/hdf5_fixtures.py writes next to
// every fixture.
type fixtureSide struct {
	Error      string
	Groups     []string
	Datasets   []fixtureValue
	Attributes []fixtureValue
}

// fixtureValue is one dataset or attribute as h5py read it.
type fixtureValue struct {
	Path   string
	Name   string
	Kind   string
	Shape  []int
	Values json.RawMessage
}

// fixtures returns the paths of the .h5 fixtures.
func fixtures(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.h5"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	return paths
}

// checkValue compares a decoded dataset or attribute with its sidecar entry.
func checkValue(t *testing.T, where string, want fixtureValue, got *Dataset) {
	t.Helper()
	if got.Kind.String() != want.Kind || !slices.Equal(got.Shape, want.Shape) && len(got.Shape)+len(want.Shape) > 0 {
		t.Errorf("%s: got %v %v, want %s %v", where, got.Kind, got.Shape, want.Kind, want.Shape)
		return
	}
	var ok bool
	switch got.Kind {
	case Int64:
		var v []int64
		ok = json.Unmarshal(want.Values, &v) == nil && slices.Equal(v, got.I64)
	case String:
		var v []string
		ok = json.Unmarshal(want.Values, &v) == nil && slices.Equal(v, got.Str)
	default:
		ok = checkFloats(t, want.Values, got)
	}
	if !ok {
		t.Errorf("%s: values differ: got %v%v%v%v, want %s", where, got.F32, got.F64, got.I64, got.Str, want.Values)
	}
}

// checkFloats compares float values, non-finite ones written as strings.
func checkFloats(t *testing.T, raw json.RawMessage, got *Dataset) bool {
	var vs []any
	if err := json.Unmarshal(raw, &vs); err != nil || len(vs) != got.Len() {
		return false
	}
	for i, v := range vs {
		var f float64
		switch v := v.(type) {
		case float64:
			f = v
		case string:
			f = map[string]float64{"NaN": math.NaN(), "Infinity": math.Inf(1), "-Infinity": math.Inf(-1)}[v]
		}
		if got.Kind == Float32 && !sameFloat32(float32(f), got.F32[i]) ||
			got.Kind == Float64 && !sameFloat64(f, got.F64[i]) {
			return false
		}
	}
	return true
}

func TestFixtures(t *testing.T) {
	for _, path := range fixtures(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".h5")
		t.Run(name, func(t *testing.T) {
			var side fixtureSide
			js, err := os.ReadFile(strings.TrimSuffix(path, ".h5") + ".json")
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(js, &side); err != nil {
				t.Fatal(err)
			}
			g, err := ReadFile(path, Limits{})
			if side.Error != "" {
				if err == nil || !strings.Contains(err.Error(), side.Error) {
					t.Fatalf("got error %v, want one containing %q", err, side.Error)
				}
				t.Logf("%v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			compareFixture(t, g, &side)
		})
	}
}

// compareFixture checks a decoded tree against its sidecar: the same groups,
// datasets and attributes, with equal values.
func compareFixture(t *testing.T, g *Group, side *fixtureSide) {
	var groups []string
	dsets := map[string]*Dataset{}
	attrs := map[string]*Dataset{}
	walkTree(g, "/", func(path string, g *Group) {
		groups = append(groups, path)
		for _, a := range g.Attrs {
			attrs[path+"@"+a.Name] = a
		}
		for _, d := range g.Datasets {
			p := joinPath(path, d.Name)
			dsets[p] = d
			for _, a := range d.Attrs {
				attrs[p+"@"+a.Name] = a
			}
		}
	})
	slices.Sort(groups)
	if !slices.Equal(groups, side.Groups) {
		t.Errorf("groups %q, want %q", groups, side.Groups)
	}
	if len(dsets) != len(side.Datasets) || len(attrs) != len(side.Attributes) {
		t.Errorf("%d datasets and %d attributes, want %d and %d", len(dsets), len(attrs), len(side.Datasets), len(side.Attributes))
	}
	for _, w := range side.Datasets {
		if d := dsets[w.Path]; d == nil {
			t.Errorf("dataset %s missing", w.Path)
		} else {
			checkValue(t, w.Path, w, d)
		}
	}
	for _, w := range side.Attributes {
		key := w.Path + "@" + w.Name
		if a := attrs[key]; a == nil {
			t.Errorf("attribute %s missing", key)
		} else {
			checkValue(t, key, w, a)
		}
	}
}
