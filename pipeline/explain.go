package pipeline

import (
	"io"
	"reflect"
	"strings"
)

// Explain writes every key of a configuration in TOML, grouped by
// section (an array of tables, such as compare, as one [[section]] per
// entry), with c's values: the reference of the configuration keys.
// Each key's description, where its field has a comment (keyDocs), comes
// above it; a key that is not set (its value comes from elsewhere, as its
// description says) is a comment; a value other than Defaults()' is
// followed by the default. The text parses back to c.
func Explain(w io.Writer, c Config) error {
	var b strings.Builder
	d := Defaults()
	if reflect.DeepEqual(c, d) {
		b.WriteString("# Every configuration key with its default, by section. A configuration\n" +
			"# needs name; every other key is optional. A key shown as \"not set\" takes\n" +
			"# its value from elsewhere, as its description says.\n")
	} else {
		b.WriteString("# Every configuration key with this configuration's value, by section;\n" +
			"# \"# default:\" follows a value that is not the default. A key shown as\n" +
			"# \"not set\" takes its value from elsewhere, as its description says.\n")
	}
	explainTable(&b, nil, reflect.ValueOf(c), reflect.ValueOf(d), true, false)
	_, err := io.WriteString(w, b.String())
	return err
}

// explainTable writes the keys of struct v (defaults d; set false when v
// is a table that is not set): its values, then its tables, then its
// arrays of tables; quiet leaves out the descriptions.
func explainTable(b *strings.Builder, path []string, v, d reflect.Value, set, quiet bool) {
	var tables, arrays []configKey
	prev := "" // a description shared by consecutive keys comes once
	for _, k := range keysOf(v.Type()) {
		if k.Table() {
			tables = append(tables, k)
			continue
		}
		if k.TableArray() {
			arrays = append(arrays, k)
			continue
		}
		if !quiet {
			prev = describe(b, k, prev)
		}
		val, ok := valueOf(v, k, set)
		if !ok {
			b.WriteString("# " + tomlKey(k.Name) + ": not set\n")
			continue
		}
		b.WriteString(tomlKey(k.Name) + " = " + val)
		if def, ok := valueOf(d, k, true); !ok {
			b.WriteString("  # default: not set")
		} else if def != val {
			b.WriteString("  # default: " + def)
		}
		b.WriteString("\n")
	}
	for _, k := range tables {
		sub := append(path[:len(path):len(path)], k.Name)
		tv, tset := tableOf(v, k, set)
		td, _ := tableOf(d, k, true)
		b.WriteString("\n")
		if !quiet {
			describe(b, k, "")
		}
		if tset {
			b.WriteString(sectionName(sub, true) + "\n")
		} else {
			b.WriteString("# " + sectionName(sub, true) + ": not set\n")
		}
		explainTable(b, sub, tv, td, tset, quiet)
	}
	for _, k := range arrays {
		explainArray(b, append(path[:len(path):len(path)], k.Name), v, k, set, quiet)
	}
}

// explainArray writes the array of tables k of struct v: one [[section]]
// per entry, with the keys' descriptions before the first only, and no
// defaults (an entry's unset key takes its value from elsewhere, as the
// array's description says). With no entries it describes the keys an
// entry takes.
func explainArray(b *strings.Builder, path []string, v reflect.Value, k configKey, set, quiet bool) {
	b.WriteString("\n")
	if !quiet {
		describe(b, k, "")
	}
	header := "[" + sectionName(path, true) + "]"
	f, ok := fieldOf(v, k)
	if !set || !ok || f.Len() == 0 {
		b.WriteString("# " + header + ": none; an entry's keys:\n")
		zero := reflect.New(k.Type.Elem()).Elem()
		explainTable(b, path, zero, zero, false, quiet)
		return
	}
	for i := range f.Len() {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(header + "\n")
		e := f.Index(i)
		explainTable(b, path, e, e, true, quiet || i > 0)
	}
}

// valueOf returns the TOML value of key k of struct v; false when it is
// not set.
func valueOf(v reflect.Value, k configKey, set bool) (string, bool) {
	f, ok := fieldOf(v, k)
	if !set || !ok {
		return "", false
	}
	return tomlValue(f)
}

// tableOf returns the struct of table key k of v (a zero one when it is
// not set), and whether it is set.
func tableOf(v reflect.Value, k configKey, set bool) (reflect.Value, bool) {
	t := k.Type
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	f, ok := fieldOf(v, k)
	if ok && f.Kind() == reflect.Pointer {
		ok = !f.IsNil()
		if ok {
			f = f.Elem()
		}
	}
	if !set || !ok {
		return reflect.New(t).Elem(), false
	}
	return f, true
}

// describe writes k's description as comment lines of at most 78
// characters, unless it is prev, and returns it.
func describe(b *strings.Builder, k configKey, prev string) string {
	doc := keyDocs[k.Owner.String()+"."+k.GoName]
	if doc == "" || doc == prev {
		return doc
	}
	n := 0
	for i, w := range strings.Fields(doc) {
		switch {
		case i == 0:
			b.WriteString("#")
			n = 1
		case n+1+len([]rune(w)) > 78:
			b.WriteString("\n#")
			n = 1
		}
		b.WriteString(" " + w)
		n += 1 + len([]rune(w))
	}
	b.WriteString("\n")
	return doc
}
