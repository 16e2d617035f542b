package hdf5

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// nameRunes are the characters random names and strings are drawn from.
var nameRunes = []rune("abcxyzAB_-. 019é€😀")

func randString(r *rand.Rand, minLen, maxLen int) string {
	n := minLen + r.IntN(maxLen-minLen+1)
	var b strings.Builder
	for range n {
		b.WriteRune(nameRunes[r.IntN(len(nameRunes))])
	}
	return b.String()
}

// randName returns a valid name not yet in used, and records it.
func randName(r *rand.Rand, used map[string]bool) string {
	for {
		s := randString(r, 1, 8)
		if validName(s) == "" && !used[s] {
			used[s] = true
			return s
		}
	}
}

// randFloat64 returns a random float64, sometimes a special value.
func randFloat64(r *rand.Rand) float64 {
	switch r.IntN(12) {
	case 0:
		return math.NaN()
	case 1:
		return math.Inf(1 - 2*r.IntN(2))
	case 2:
		return math.Copysign(0, -1)
	case 3:
		return math.SmallestNonzeroFloat64
	}
	return r.NormFloat64() * math.Pow(10, float64(r.IntN(20)-10))
}

// randDataset returns a dataset (an attribute when attr) of a random kind
// and shape.
func randDataset(r *rand.Rand, name string, attr bool) *Dataset {
	d := &Dataset{Name: name, Kind: Kind(1 + r.IntN(4))}
	for range r.IntN(4) {
		d.Shape = append(d.Shape, r.IntN(5))
	}
	n, _ := elemCount(d.Shape)
	for range n {
		switch d.Kind {
		case Float32:
			d.F32 = append(d.F32, float32(randFloat64(r)))
		case Float64:
			d.F64 = append(d.F64, randFloat64(r))
		case Int64:
			d.I64 = append(d.I64, int64(r.Uint64()>>r.IntN(64)))
		case String:
			d.Str = append(d.Str, randString(r, 0, 12))
		}
	}
	if !attr {
		d.Attrs = randAttrs(r)
	}
	return d
}

func randAttrs(r *rand.Rand) []*Dataset {
	var as []*Dataset
	used := map[string]bool{}
	for range r.IntN(4) {
		as = append(as, randDataset(r, randName(r, used), true))
	}
	return as
}

// randGroup returns a random tree of at most depth levels; now and then a
// group gets hundreds of members so that its B-tree has several levels.
func randGroup(r *rand.Rand, name string, depth int) *Group {
	g := &Group{Name: name, Attrs: randAttrs(r)}
	used := map[string]bool{}
	ngroups, ndsets := r.IntN(4), r.IntN(5)
	if r.IntN(15) == 0 {
		ndsets = 40 + r.IntN(300)
	}
	for range ndsets {
		g.Datasets = append(g.Datasets, randDataset(r, randName(r, used), false))
	}
	if depth > 0 {
		for range ngroups {
			g.Groups = append(g.Groups, randGroup(r, randName(r, used), depth-1))
		}
	}
	return g
}

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 150 {
		g := randGroup(r, "", 3)
		b, err := Encode(g)
		if err != nil {
			t.Fatalf("tree %d: %v", i, err)
		}
		got, err := Decode(b, Limits{})
		if err != nil {
			t.Fatalf("tree %d: %v", i, err)
		}
		if d := diffGroup(g, got, "/"); d != "" {
			t.Fatalf("tree %d: %s", i, d)
		}
	}
}

// nirTree returns a tree shaped like a NIR graph, with nodes children in
// the "nodes" group.
func nirTree(nodes int) *Group {
	ns := &Group{Name: "nodes"}
	var edges []string
	for i := range nodes {
		name := fmt.Sprintf("lif%02d", i)
		ns.Groups = append(ns.Groups, &Group{Name: name, Datasets: []*Dataset{
			{Name: "type", Kind: String, Str: []string{"LIF"}},
			{Name: "tau", Shape: []int{3}, Kind: Float32, F32: []float32{0.02, 0.03, float32(i)}},
			{Name: "v_threshold", Shape: []int{3}, Kind: Float64, F64: []float64{1, 1.5, 2}},
			{Name: "shape", Shape: []int{1}, Kind: Int64, I64: []int64{3}},
		}})
		edges = append(edges, "input", name)
	}
	return &Group{
		Attrs:    []*Dataset{{Name: "creator", Kind: String, Str: []string{"privatesnn"}}},
		Datasets: []*Dataset{{Name: "version", Kind: String, Str: []string{"1.0.4"}}},
		Groups: []*Group{{Name: "node", Groups: []*Group{ns}, Datasets: []*Dataset{
			{Name: "type", Kind: String, Str: []string{"NIRGraph"}},
			{Name: "edges", Shape: []int{nodes, 2}, Kind: String, Str: edges},
			{Name: "dt", Kind: Float64, F64: []float64{1e-3},
				Attrs: []*Dataset{{Name: "unit", Kind: String, Str: []string{"s"}}}},
		}}},
	}
}

func TestEncodeDeterministic(t *testing.T) {
	g := nirTree(30)
	a, err := Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	// The same tree with its lists in another order encodes the same.
	ns := g.Group("node").Group("nodes")
	slices.Reverse(ns.Groups)
	g.Group("node").Datasets = append(g.Group("node").Datasets[1:], g.Group("node").Datasets[0])
	b, err := Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("the same tree encoded to different bytes")
	}
}

func TestEncodeErrors(t *testing.T) {
	ds := func(name string) *Dataset { return &Dataset{Name: name, Kind: Int64, I64: []int64{1}} }
	cases := []struct {
		name string
		root *Group
		want string
	}{
		{"nil root", nil, "nil root"},
		{"empty name", &Group{Datasets: []*Dataset{ds("")}}, "empty name"},
		{"dot", &Group{Groups: []*Group{{Name: "."}}}, `name "."`},
		{"slash", &Group{Datasets: []*Dataset{ds("a/b")}}, "'/'"},
		{"nul", &Group{Datasets: []*Dataset{ds("a\x00")}}, "NUL"},
		{"non-UTF-8 name", &Group{Datasets: []*Dataset{ds("\xff")}}, "UTF-8"},
		{"duplicate", &Group{Groups: []*Group{{Name: "x"}}, Datasets: []*Dataset{ds("x")}}, "duplicate"},
		{"duplicate attribute", &Group{Attrs: []*Dataset{ds("a"), ds("a")}}, "duplicate attribute"},
		{"length", &Group{Datasets: []*Dataset{{Name: "a", Kind: Float32, Shape: []int{2}, F32: []float32{1}}}}, "needs 2 elements"},
		{"negative", &Group{Datasets: []*Dataset{{Name: "a", Kind: Float32, Shape: []int{-1}}}}, "negative"},
		{"kind", &Group{Datasets: []*Dataset{{Name: "a", Kind: 9, I64: []int64{1}}}}, "unknown kind"},
		{"zero kind", &Group{Datasets: []*Dataset{{Name: "a"}}}, "unknown kind"},
		{"two slices", &Group{Datasets: []*Dataset{{Name: "a", Kind: Int64, I64: []int64{1}, F64: []float64{1}}}}, "slice is set"},
		{"bad string", &Group{Datasets: []*Dataset{{Name: "a", Kind: String, Str: []string{"\xc3"}}}}, "not valid UTF-8"},
		{"nul string", &Group{Datasets: []*Dataset{{Name: "a", Kind: String, Str: []string{"a\x00b"}}}}, "contains NUL"},
		{"nil dataset", &Group{Datasets: []*Dataset{nil}}, "nil dataset"},
		{"nested attrs", &Group{Attrs: []*Dataset{{Name: "a", Kind: Int64, I64: []int64{1}, Attrs: []*Dataset{ds("b")}}}}, "has attributes"},
		{"huge attribute", &Group{Attrs: []*Dataset{{Name: "a", Kind: Float64, Shape: []int{9000}, F64: make([]float64, 9000)}}}, "object header message"},
		{"rank", &Group{Datasets: []*Dataset{{Name: "a", Kind: Int64, Shape: make([]int, 33)}}}, "rank"},
		{"overflow", &Group{Datasets: []*Dataset{{Name: "a", Kind: Int64, Shape: []int{1 << 40, 1 << 40}}}}, "overflows"},
	}
	for _, c := range cases {
		_, err := Encode(c.root)
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an ErrInvalid containing %q", c.name, err, c.want)
		}
	}
	loop := &Group{Name: "loop"}
	loop.Groups = []*Group{loop}
	if _, err := Encode(&Group{Groups: []*Group{loop}}); err == nil || !strings.Contains(err.Error(), "contains itself") {
		t.Errorf("cycle: got %v", err)
	}
}

func TestEncodedSize(t *testing.T) {
	const n = 1 << 18 // 1 MiB of float32
	d := &Dataset{Name: "w", Kind: Float32, Shape: []int{512, 512}, F32: make([]float32, n)}
	for i := range d.F32 {
		d.F32[i] = float32(i)
	}
	b, err := Encode(&Group{Datasets: []*Dataset{d}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bytes of float32 encode to %d bytes (%d bytes of metadata)", 4*n, len(b), len(b)-4*n)
	if len(b)-4*n > 2048 {
		t.Errorf("overhead %d bytes", len(b)-4*n)
	}
}

func TestAccessors(t *testing.T) {
	g := nirTree(3)
	if g.Group("node") == nil || g.Group("nope") != nil || g.Dataset("version") == nil || g.Dataset("node") != nil {
		t.Error("Group/Dataset lookups")
	}
	if g.Attr("creator") == nil || g.Group("node").Dataset("dt").Attr("unit") == nil {
		t.Error("Attr lookups")
	}
	if Float32.String() != "float32" || Kind(0).String() != "Kind(0)" || (&Dataset{}).Len() != -1 {
		t.Error("Kind.String / Len")
	}
	if l := (Limits{MaxDepth: 3}).withDefaults(); l.MaxDepth != 3 || l != (Limits{MaxBytes: defaultMaxBytes, MaxObjects: defaultMaxObjects, MaxDepth: 3}) {
		t.Errorf("withDefaults: %+v", l)
	}
}
