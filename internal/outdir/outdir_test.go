package outdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// write creates the files (paths relative to dir) with their names as
// content.
func write(t *testing.T, dir string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "file", "model/model.json", "model/checkpoint.json", "set/manifest.json", "empty/.keep")
	p := func(s string) string { return filepath.Join(dir, s) }
	for _, c := range []struct {
		dir    string
		accept []Kind
		want   string // a part of the error; "" for none
	}{
		{p("new"), []Kind{Synthetic}, ""},
		{p("new/deeper"), []Kind{Model}, ""},
		{p("empty"), []Kind{Attack}, ""},
		{p("file"), nil, "is a file, not a directory"},
		{p("file"), []Kind{Model}, "is a file, not a directory"},
		{p("file/sub"), []Kind{Model}, "lies under " + p("file") + ", a file, not a directory"},
		{p("file/sub/deeper"), nil, "lies under " + p("file") + ", a file"},
		{p("model"), []Kind{Model, Run}, ""},
		{p("model"), nil, ""},
		{p("model"), []Kind{Synthetic}, "holds a model, not a synthetic image set"},
		{p("model"), []Kind{Model}, "holds an interrupted training run, not a model"},
		{p("set"), []Kind{Audit}, "holds a synthetic image set, not an audit"},
		{p("set"), []Kind{Synthetic}, ""},
	} {
		err := Check(c.dir, c.accept...)
		var e *Error
		switch {
		case c.want == "" && err != nil:
			t.Errorf("Check(%s, %v): %v", c.dir, c.accept, err)
		case c.want != "" && (!errors.As(err, &e) || e.Dir != c.dir || !strings.Contains(err.Error(), c.want)):
			t.Errorf("Check(%s, %v): %v, want an *Error with %q", c.dir, c.accept, err, c.want)
		}
	}
}

func TestForeign(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "grid.png", "images/000-class0.png", "images/001-class0.png", "notes.txt")
	planned := []string{"grid.png", "images/000-class0.png", "images/001-class0.png", "images/002-class1.png", "attack.json"}
	if err := Foreign(dir, Attack, planned, []string{"attack.json", "grid.png", "images/000-class0.png", "images/001-class0.png"}); err != nil {
		t.Errorf("recorded files: %v", err)
	}
	err := Foreign(dir, Attack, planned, []string{"images/000-class0.png", "images/001-class0.png"})
	if err == nil || err.Error() != dir+" holds grid.png, which no attack's attack.json there lists" {
		t.Errorf("one unrecorded file: %v", err)
	}
	err = Foreign(dir, Synthetic, planned, nil)
	if err == nil || err.Error() != dir+" holds grid.png and 2 more files that no synthetic image set's manifest.json there lists" {
		t.Errorf("unrecorded files: %v", err)
	}
}

func TestRemoveStale(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	outside := filepath.Join(filepath.Dir(dir), "outside.txt")
	write(t, filepath.Dir(dir), "outside.txt")
	write(t, dir, "a/x/grid.png", "a/x/images/000-class0.png", "b/y/grid.png", "b/y/notes.txt", "grid.png", "images/000-class0.png")
	recorded := []string{"a/x/grid.png", "a/x/images/000-class0.png", "b/y/grid.png", "grid.png", "images/000-class0.png", "../outside.txt", "missing.png"}
	if err := RemoveStale(dir, recorded, []string{"grid.png", "images/000-class0.png"}); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"a", "b/y/grid.png"} {
		if _, err := os.Stat(filepath.Join(dir, gone)); err == nil {
			t.Errorf("%s survived", gone)
		}
	}
	for _, kept := range []string{"b/y/notes.txt", "grid.png", "images/000-class0.png"} {
		if _, err := os.Stat(filepath.Join(dir, kept)); err != nil {
			t.Errorf("%s: %v", kept, err)
		}
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("a path outside the directory was removed: %v", err)
	}
}

func TestKinds(t *testing.T) {
	if Model.String() != "a model" || Attack.String() != "an attack" || Synthetic.Record() != "manifest.json" {
		t.Errorf("kinds: %s, %s, %s", Model, Attack, Synthetic.Record())
	}
}

// Replace writes a new or empty dir whole through a temporary sibling,
// and into a dir with files after removing the stale recorded ones.
func TestReplace(t *testing.T) {
	root := t.TempDir()
	fill := func(files ...string) func(string) error {
		return func(d string) error {
			write(t, d, files...)
			return nil
		}
	}
	empty := filepath.Join(root, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Join(root, "new"), empty} {
		if !Empty(dir) {
			t.Errorf("%s is not Empty", dir)
		}
		if err := Replace(dir, nil, []string{"a/x.png"}, fill("a/x.png")); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "a/x.png")); err != nil {
			t.Error(err)
		}
	}
	if Empty(empty) {
		t.Errorf("%s with files is Empty", empty)
	}
	write(t, empty, "notes.txt")
	if err := Replace(empty, []string{"a/x.png"}, []string{"b/y.png"}, fill("b/y.png")); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]bool{"a": false, "b/y.png": true, "notes.txt": true} {
		if _, err := os.Stat(filepath.Join(empty, f)); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", f, err == nil, want)
		}
	}
	if entries, _ := os.ReadDir(root); len(entries) != 2 {
		t.Errorf("temporary directories left behind: %v", entries)
	}
	if err := Replace(filepath.Join(root, "failed"), nil, nil, func(string) error { return os.ErrInvalid }); err == nil || !Empty(filepath.Join(root, "failed")) {
		t.Errorf("a failed write: %v, or left files", err)
	}
}
