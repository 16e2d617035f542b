package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// ConfigError is a configuration that cannot be used, said in the file's
// own terms: the file, the line, the key with its section and the value
// as written, and why.
type ConfigError struct {
	File string // "" when parsed from bytes
	Line int    // from 1; 0 when not known
	TOML bool
	// Key is the key's path, its sections then its name; nil for the whole
	// configuration.
	Key    []string
	Value  string // as written; "" for none
	Reason string
	Err    error // the underlying error, if any
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		if e.File == "" {
			b.WriteString("line ")
		} else {
			b.WriteString(":")
		}
		b.WriteString(strconv.Itoa(e.Line))
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if len(e.Key) > 0 {
		b.WriteString(e.Where())
		if e.Value != "" {
			if e.TOML {
				b.WriteString(" = " + e.Value)
			} else {
				b.WriteString(": " + e.Value)
			}
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Where names the key: "[audit.attack1] iterations" or "seed (top level)"
// in TOML, ".audit.attack1.iterations" in JSON.
func (e *ConfigError) Where() string {
	n := len(e.Key)
	switch {
	case n == 0:
		return ""
	case !e.TOML:
		return "." + strings.Join(e.Key, ".")
	case n == 1:
		return tomlKey(e.Key[0]) + " (top level)"
	}
	return sectionName(e.Key[:n-1], true) + " " + tomlKey(e.Key[n-1])
}

// sectionName names a section: "[audit.attack1]" in TOML, ".audit" in
// JSON, "the top level" for none.
func sectionName(path []string, isTOML bool) string {
	switch {
	case len(path) == 0:
		return "the top level"
	case !isTOML:
		return "." + strings.Join(path, ".")
	}
	parts := make([]string, len(path))
	for i, k := range path {
		parts[i] = tomlKey(k)
	}
	return "[" + strings.Join(parts, ".") + "]"
}

// document is a configuration file decoded to maps, with the line of each
// key.
type document struct {
	toml  bool
	keys  map[string]any
	lines map[string]int // joined key path → line
}

// decodeDocument decodes a TOML or JSON configuration into maps.
func decodeDocument(b []byte, isTOML bool) (*document, error) {
	d := &document{toml: isTOML}
	if isTOML {
		if _, err := toml.Decode(string(b), &d.keys); err != nil {
			var pe toml.ParseError
			if errors.As(err, &pe) {
				return nil, &ConfigError{TOML: true, Line: pe.Position.Line, Reason: pe.Message, Err: err}
			}
			return nil, &ConfigError{TOML: true, Reason: err.Error(), Err: err}
		}
		d.lines = tomlKeyLines(string(b))
		return d, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&d.keys); err != nil {
		ce := &ConfigError{Reason: strings.TrimPrefix(err.Error(), "json: "), Err: err}
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			ce.Line = lineAt(b, se.Offset)
		case errors.As(err, &te):
			ce.Line, ce.Reason = lineAt(b, te.Offset), "want an object of keys"
		case errors.Is(err, io.EOF):
			ce.Reason = "empty file; want an object of keys"
		}
		return nil, ce
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &ConfigError{Line: lineAt(b, dec.InputOffset()), Reason: "trailing data after the configuration"}
	}
	d.lines = jsonKeyLines(b)
	return d, nil
}

// lineAt returns the line (from 1) of byte offset off.
func lineAt(b []byte, off int64) int {
	off = min(max(off, 0), int64(len(b)))
	return 1 + bytes.Count(b[:off], []byte("\n"))
}

// line returns the line of the key at path, or of the nearest section
// above it that has one; 0 if none.
func (d *document) line(path []string) int {
	for n := len(path); n > 0; n-- {
		if l, ok := d.lines[strings.Join(path[:n], "\x00")]; ok {
			return l
		}
	}
	return 0
}

// check refuses an empty configuration, one without a name, unknown keys
// and values of the wrong type, naming the first such key in the file.
func (d *document) check() error {
	lang := map[bool]string{true: `name = "…"`, false: `"name": "…"`}[d.toml]
	if len(d.keys) == 0 {
		return &ConfigError{TOML: d.toml, Reason: "no keys: a configuration needs at least " + lang +
			" (the run's name; every other key has a default)"}
	}
	if _, ok := d.keys["name"]; !ok {
		return &ConfigError{TOML: d.toml, Reason: "no name: add " + lang +
			" at the top level (it names the run, and its work directory runs/<name>)"}
	}
	return d.checkTable(d.keys, reflect.TypeFor[Config](), nil)
}

// checkTable checks the keys of table m against struct type t, in the
// order of their lines.
func (d *document) checkTable(m map[string]any, t reflect.Type, path []string) error {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	at := func(k string) []string { return append(path[:len(path):len(path)], k) }
	sort.Slice(names, func(i, j int) bool {
		li, lj := d.line(at(names[i])), d.line(at(names[j]))
		return li < lj || li == lj && names[i] < names[j]
	})
	for _, name := range names {
		p, v := at(name), m[name]
		k, ok := keyNamed(t, name)
		if !ok {
			return &ConfigError{TOML: d.toml, Line: d.line(p), Key: p, Reason: "unknown key" + suggest(t, name, path, d.toml)}
		}
		if k.Table() {
			sub, ok := v.(map[string]any)
			if !ok {
				return &ConfigError{TOML: d.toml, Line: d.line(p), Key: p, Value: d.show(v), Reason: "want " + want(k.Type, d.toml)}
			}
			tt := k.Type
			if tt.Kind() == reflect.Pointer {
				tt = tt.Elem()
			}
			if err := d.checkTable(sub, tt, p); err != nil {
				return err
			}
			continue
		}
		if reason := d.checkValue(v, k.Type); reason != "" {
			return &ConfigError{TOML: d.toml, Line: d.line(p), Key: p, Value: d.show(v), Reason: reason}
		}
	}
	return nil
}

// checkValue decodes v into a value of type t as the configuration will,
// and returns why it does not fit ("" when it does).
func (d *document) checkValue(v any, t reflect.Type) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(reflect.New(t).Interface()); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return "want " + want(t, d.toml)
		}
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return ""
}

// show writes a value as the file does.
func (d *document) show(v any) string {
	if d.toml {
		return tomlOf(v, false)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// want says what a value of type t is written as.
func want(t reflect.Type, isTOML bool) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	p := reflect.PointerTo(t)
	if p.Implements(textUnmarshaler) && !p.Implements(jsonUnmarshaler) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		e := want(t.Elem(), isTOML)
		if e == "true or false" {
			return "an array of booleans"
		}
		_, e, _ = strings.Cut(e, " ")
		if head, tail, ok := strings.Cut(e, " of "); ok { // "table of keys": "tables of keys"
			return "an array of " + head + "s of " + tail
		}
		return "an array of " + e + "s"
	case reflect.Struct, reflect.Map:
		if isTOML {
			return "a table of keys"
		}
		return "an object of keys"
	}
	return "a " + t.String()
}

// suggest names the closest key of struct type t to an unknown name, or
// lists t's keys when there are few.
func suggest(t reflect.Type, name string, path []string, isTOML bool) string {
	keys := keysOf(t)
	best, bestD := "", len(name)/3+2
	var names []string
	for _, k := range keys {
		names = append(names, k.Name)
		if d := editDistance(strings.ToLower(name), strings.ToLower(k.Name)); d < bestD {
			best, bestD = k.Name, d
		}
	}
	switch {
	case best != "":
		return " (did you mean " + best + "?)"
	case len(names) <= 20:
		return "; " + sectionName(path, isTOML) + " takes " + strings.Join(names, ", ")
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// tomlKeyLines returns the line of every key and table header of a TOML
// text, by key path joined with "\x00" (the first definition). Keys inside
// inline tables and arrays take the line of the key that holds them.
func tomlKeyLines(text string) map[string]int {
	lines := map[string]int{}
	record := func(path []string, n int) {
		for i := 1; i <= len(path); i++ {
			if k := strings.Join(path[:i], "\x00"); lines[k] == 0 {
				lines[k] = n
			}
		}
	}
	var table []string
	multi := "" // the quotes of an open multi-line string
	for i, line := range strings.Split(text, "\n") {
		s := strings.TrimSpace(line)
		if multi != "" {
			if strings.Count(s, multi)%2 == 1 {
				multi = ""
			}
			continue
		}
		if s == "" || s[0] == '#' {
			continue
		}
		if s[0] == '[' {
			h := strings.TrimLeft(s, "[")
			if end := closing(h, ']'); end >= 0 {
				table = splitKey(h[:end])
				record(table, i+1)
			}
			continue
		}
		eq := closing(s, '=')
		if eq < 0 {
			continue // inside a multi-line array
		}
		record(append(table[:len(table):len(table)], splitKey(s[:eq])...), i+1)
		for _, q := range []string{`"""`, `'''`} {
			if strings.Count(s[eq+1:], q)%2 == 1 {
				multi = q
			}
		}
	}
	return lines
}

// closing returns the index of the first c in s outside quotes, or -1.
func closing(s string, c byte) int {
	var quote byte
	for i := 0; i < len(s); i++ {
		switch {
		case quote != 0 && s[i] == '\\' && quote == '"':
			i++
		case quote != 0 && s[i] == quote:
			quote = 0
		case quote == 0 && (s[i] == '"' || s[i] == '\''):
			quote = s[i]
		case quote == 0 && s[i] == c:
			return i
		}
	}
	return -1
}

// splitKey splits a dotted TOML key into its parts, unquoted.
func splitKey(s string) []string {
	var parts []string
	for {
		dot := closing(s, '.')
		part := s
		if dot >= 0 {
			part = s[:dot]
		}
		part = strings.TrimSpace(part)
		if u, err := strconv.Unquote(part); err == nil && part[0] == '"' {
			part = u
		} else {
			part = strings.Trim(part, `'`)
		}
		parts = append(parts, part)
		if dot < 0 {
			return parts
		}
		s = s[dot+1:]
	}
}

// jsonKeyLines returns the line of every object key of a JSON text, by key
// path joined with "\x00".
func jsonKeyLines(b []byte) map[string]int {
	lines := map[string]int{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type frame struct{ object, wantKey bool }
	var stack []frame
	var path []string
	// valueDone ends the value of the innermost key, if in an object.
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
			path = path[:max(len(path)-1, 0)]
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return lines
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			stack = append(stack, frame{object: tok == json.Delim('{'), wantKey: true})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			path = append(path, tok.(string))
			stack[n-1].wantKey = false
			if k := strings.Join(path, "\x00"); lines[k] == 0 {
				lines[k] = lineAt(b, dec.InputOffset())
			}
			continue
		}
		valueDone()
	}
}
