package pipeline

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// configKey is one key of a configuration section: a value, or a table of
// keys (a struct without its own JSON or text form).
type configKey struct {
	Name   string
	GoName string
	Type   reflect.Type
	// Owner is the struct type that declares the field (whose comment
	// describes it, keyDocs).
	Owner reflect.Type
	// Index leads to the field from the section's struct, through embedded
	// structs.
	Index []int
}

// Table reports whether the key holds a table of keys.
func (k configKey) Table() bool { return isTable(k.Type) }

// TableArray reports whether the key holds an array of tables of keys
// ([[section]] in TOML): a slice of structs that do not decode themselves
// from text (one that decodes itself from JSON, over defaults of its own,
// still reads an object of its keys).
func (k configKey) TableArray() bool {
	if k.Type.Kind() != reflect.Slice {
		return false
	}
	t := k.Type.Elem()
	return t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(textUnmarshaler)
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// isTable reports whether values of type t are tables of keys: structs
// (or pointers to them) that do not decode themselves.
func isTable(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	p := reflect.PointerTo(t)
	return t.Kind() == reflect.Struct && !p.Implements(jsonUnmarshaler) && !p.Implements(textUnmarshaler)
}

// keysOf returns the keys of struct type t as encoding/json sees them:
// fields of embedded structs without a name are promoted, the shallowest
// of equal names wins (a tagged one among equals), and the rest are
// dropped. The keys come in field order (depth first).
func keysOf(t reflect.Type) []configKey {
	type candidate struct {
		configKey
		depth  int
		tagged bool
	}
	var all []candidate
	var walk func(t reflect.Type, index []int, depth int)
	walk = func(t reflect.Type, index []int, depth int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), index...), i)
			ft := f.Type
			if f.Anonymous && name == "" {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft, idx, depth+1)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			all = append(all, candidate{configKey{Name: name, GoName: f.Name, Type: f.Type, Owner: t, Index: idx}, depth, name != f.Name || tag != ""})
		}
	}
	walk(t, nil, 0)
	var out []configKey
	for i, c := range all {
		dominant := true
		for j, o := range all {
			if i == j || o.Name != c.Name {
				continue
			}
			if o.depth < c.depth || (o.depth == c.depth && (o.tagged || !c.tagged)) {
				dominant = false
			}
		}
		if dominant {
			out = append(out, c.configKey)
		}
	}
	return out
}

// keyNamed returns the key of struct type t called name.
func keyNamed(t reflect.Type, name string) (configKey, bool) {
	for _, k := range keysOf(t) {
		if k.Name == name {
			return k, true
		}
	}
	return configKey{}, false
}

// fieldOf returns the field of struct value v that k names, and false when
// an embedded pointer on the way is nil.
func fieldOf(v reflect.Value, k configKey) (reflect.Value, bool) {
	f, err := v.FieldByIndexErr(k.Index)
	return f, err == nil
}

// tomlValue writes v (of a value key) as a TOML value; false when v is not
// set (a nil pointer, slice or map).
func tomlValue(v reflect.Value) (string, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v.Interface()); err != nil {
		return "", false
	}
	dec := json.NewDecoder(&b)
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil || x == nil {
		return "", false
	}
	return tomlOf(x, isFloat(v.Type())), true
}

// isFloat reports whether t holds floating-point numbers (itself, or its
// elements).
func isFloat(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	return t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64
}

// tomlOf writes a decoded JSON value (numbers as json.Number) in TOML;
// float writes whole numbers with a decimal point.
func tomlOf(x any, float bool) string {
	switch x := x.(type) {
	case string:
		return jsonString(x)
	case json.Number:
		s := x.String()
		if float && !strings.ContainsAny(s, ".eE") {
			s += ".0"
		}
		return s
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEnI") {
			s += ".0"
		}
		return s
	case []map[string]any: // a TOML array of tables
		list := make([]any, len(x))
		for i, m := range x {
			list[i] = m
		}
		return tomlOf(list, float)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = tomlOf(e, float)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = tomlKey(k) + " = " + tomlOf(x[k], false)
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	case nil:
		return `""`
	}
	return jsonString(fmt.Sprint(x))
}

// jsonString quotes s as JSON does without escaping HTML, which is also a
// TOML basic string.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// tomlKey writes a key bare when TOML allows it, else quoted.
func tomlKey(k string) string {
	if k == "" {
		return `""`
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return jsonString(k)
		}
	}
	return k
}
