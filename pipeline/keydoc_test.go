package pipeline

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite keydoc.go from the comments of the configuration's fields")

// TestKeyDocs checks that keydoc.go holds the descriptions the fields'
// comments give today (with -update, rewrites it).
func TestKeyDocs(t *testing.T) {
	docs, err := fieldDocs()
	if err != nil {
		t.Fatal(err)
	}
	src, err := keyDocSource(docs)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("keydoc.go", src, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile("keydoc.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, src) {
		t.Fatal("keydoc.go is out of date with the fields' comments: run go test ./pipeline -run TestKeyDocs -update")
	}
	if len(keyDocs) < 50 || keyDocs["pipeline.Config.Seed"] == "" || keyDocs["convert.Settings.Timesteps"] == "" {
		t.Errorf("%d descriptions; want the documented keys: %v", len(keyDocs), keyDocs)
	}
}

// configStructs returns every struct type of Config's keys, Config
// included.
func configStructs() []reflect.Type {
	seen := map[reflect.Type]bool{}
	var out []reflect.Type
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for _, k := range keysOf(t) {
			if !seen[k.Owner] {
				seen[k.Owner] = true
				out = append(out, k.Owner)
			}
			switch {
			case k.Table():
				tt := k.Type
				if tt.Kind() == reflect.Pointer {
					tt = tt.Elem()
				}
				walk(tt)
			case k.TableArray():
				walk(k.Type.Elem())
			}
		}
	}
	walk(reflect.TypeFor[Config]())
	return out
}

// fieldDocs returns the description of every field of the configuration
// that has one, keyed as keyDocs is: the first sentence of its comment (or
// of the comment of an earlier field in its group that names it), with the
// struct's Go field names written as their keys.
func fieldDocs() (map[string]string, error) {
	const module = "github.com/privatesnn/privatesnn"
	out := map[string]string{}
	files := map[string][]*ast.File{}
	for _, t := range configStructs() {
		dir := filepath.Join("..", strings.TrimPrefix(strings.TrimPrefix(t.PkgPath(), module), "/"))
		if _, ok := files[dir]; !ok {
			fs, err := parseDir(dir)
			if err != nil {
				return nil, err
			}
			files[dir] = fs
		}
		st := findStruct(files[dir], t.Name())
		if st == nil {
			return nil, fmt.Errorf("no struct %s in %s", t, dir)
		}
		names := map[string]string{}
		for _, k := range keysOf(t) {
			names[k.GoName] = k.Name
		}
		for name, doc := range structDocs(st) {
			if _, ok := names[name]; ok {
				out[t.String()+"."+name] = asKeys(firstSentence(doc), names)
			}
		}
	}
	return out, nil
}

func parseDir(dir string) ([]*ast.File, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var out []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func findStruct(files []*ast.File, name string) *ast.StructType {
	for _, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, s := range g.Specs {
				if ts, ok := s.(*ast.TypeSpec); ok && ts.Name.Name == name {
					st, _ := ts.Type.(*ast.StructType)
					return st
				}
			}
		}
	}
	return nil
}

// structDocs returns the comment of each named field of st; a field
// without one takes the comment of the nearest earlier field that has one
// when that comment names it as a subject (at its start, or after "; ",
// ", " or " and ").
func structDocs(st *ast.StructType) map[string]string {
	out := map[string]string{}
	last := ""
	for _, f := range st.Fields.List {
		doc := strings.TrimSpace(f.Doc.Text())
		if doc == "" {
			doc = strings.TrimSpace(f.Comment.Text())
		}
		if doc != "" {
			last = doc
		}
		for _, n := range f.Names {
			switch {
			case doc != "":
				out[n.Name] = doc
			case last != "" && regexp.MustCompile(`(^|; |, | and )`+n.Name+`\b`).MatchString(last):
				out[n.Name] = last
			}
		}
	}
	return out
}

// firstSentence returns the first sentence of a comment, on one line.
func firstSentence(doc string) string {
	s := regexp.MustCompile(`([a-z])-\n\s*([a-z])`).ReplaceAllString(doc, "$1-$2")
	s = strings.Join(strings.Fields(s), " ")
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '.' && s[i+1] == ' ' && s[i+2] >= 'A' && s[i+2] <= 'Z' {
			return s[:i+1]
		}
	}
	return s
}

// asKeys writes the struct's Go field names in s as their keys: the names
// with a lower-case letter (not acronyms such as ANN, which are also
// words) that do not follow a dot (a qualified name).
func asKeys(s string, names map[string]string) string {
	goNames := make([]string, 0, len(names))
	for g, k := range names {
		if g != k && strings.ToUpper(g) != g {
			goNames = append(goNames, regexp.QuoteMeta(g))
		}
	}
	if len(goNames) == 0 {
		return s
	}
	sort.Strings(goNames)
	re := regexp.MustCompile(`(^|[^.\w])(` + strings.Join(goNames, "|") + `)\b`)
	return re.ReplaceAllStringFunc(s, func(m string) string {
		i := strings.IndexFunc(m, func(r rune) bool { return r >= 'A' && r <= 'Z' })
		return m[:i] + names[m[i:]]
	})
}

// keyDocSource returns keydoc.go holding docs.
func keyDocSource(docs map[string]string) ([]byte, error) {
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString("// Code generated by TestKeyDocs (go test ./pipeline -run TestKeyDocs -update); DO NOT EDIT.\n\n")
	b.WriteString("package pipeline\n\n")
	b.WriteString("// keyDocs describes the configuration keys, by the Go type and field\n")
	b.WriteString("// that hold them: the first sentence of the field's comment, field names\n")
	b.WriteString("// written as keys.\n")
	b.WriteString("var keyDocs = map[string]string{\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "\t%s: %s,\n", strconv.Quote(k), strconv.Quote(docs[k]))
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
