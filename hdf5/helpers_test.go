package hdf5

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// walkTree calls fn for every group (with its path) below and including g.
func walkTree(g *Group, path string, fn func(path string, g *Group)) {
	fn(path, g)
	for _, s := range g.Groups {
		walkTree(s, joinPath(path, s.Name), fn)
	}
}

// sameFloat32 reports whether a and b are equal bit for bit, or both NaN.
func sameFloat32(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// sameFloat64 reports whether a and b are equal bit for bit, or both NaN.
func sameFloat64(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b)
}

// diffDataset describes how got differs from want ("" if equal). A nil and
// an empty slice or shape are equal.
func diffDataset(want, got *Dataset) string {
	if want.Name != got.Name || want.Kind != got.Kind || !slices.Equal(want.Shape, got.Shape) {
		return fmt.Sprintf("got %q %v %v, want %q %v %v", got.Name, got.Kind, got.Shape, want.Name, want.Kind, want.Shape)
	}
	if want.Len() != got.Len() {
		return fmt.Sprintf("%q: got %d elements, want %d", want.Name, got.Len(), want.Len())
	}
	for i := range want.Len() {
		ok := true
		switch want.Kind {
		case Float32:
			ok = sameFloat32(want.F32[i], got.F32[i])
		case Float64:
			ok = sameFloat64(want.F64[i], got.F64[i])
		case Int64:
			ok = want.I64[i] == got.I64[i]
		case String:
			ok = want.Str[i] == got.Str[i]
		}
		if !ok {
			return fmt.Sprintf("%q: element %d differs", want.Name, i)
		}
	}
	return diffAttrs(want.Attrs, got.Attrs)
}

// diffAttrs compares attribute lists, want in any order, got sorted.
func diffAttrs(want, got []*Dataset) string {
	w := sortedAttrs(want)
	if len(w) != len(got) {
		return fmt.Sprintf("got %d attributes, want %d", len(got), len(w))
	}
	for i := range w {
		if d := diffDataset(w[i], got[i]); d != "" {
			return "attribute " + d
		}
	}
	return ""
}

// diffGroup describes how got differs from want, whose children may be in
// any order ("" if equal).
func diffGroup(want, got *Group, path string) string {
	if d := diffAttrs(want.Attrs, got.Attrs); d != "" {
		return path + ": " + d
	}
	wg := slices.Clone(want.Groups)
	sort.Slice(wg, func(i, j int) bool { return wg[i].Name < wg[j].Name })
	if len(wg) != len(got.Groups) {
		return fmt.Sprintf("%s: got %d groups, want %d", path, len(got.Groups), len(wg))
	}
	for i := range wg {
		if wg[i].Name != got.Groups[i].Name {
			return fmt.Sprintf("%s: group %d is %q, want %q", path, i, got.Groups[i].Name, wg[i].Name)
		}
		if d := diffGroup(wg[i], got.Groups[i], joinPath(path, wg[i].Name)); d != "" {
			return d
		}
	}
	wd := sortedAttrs(want.Datasets)
	if len(wd) != len(got.Datasets) {
		return fmt.Sprintf("%s: got %d datasets, want %d", path, len(got.Datasets), len(wd))
	}
	for i := range wd {
		if d := diffDataset(wd[i], got.Datasets[i]); d != "" {
			return path + ": " + d
		}
	}
	return ""
}

// containsAll reports the first of subs missing from s, or "".
func containsAll(s string, subs ...string) string {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return sub
		}
	}
	return ""
}
