package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/leakage"
	"github.com/privatesnn/privatesnn/snn"
	"github.com/privatesnn/privatesnn/tensor"
)

// handReport returns a report with one attack row on the named model and
// a "real" reference row, n images each in 3 classes.
func handReport(model string, n int) *Report {
	self := 0.5
	targets, labels := make([]int, n), make([]int32, n)
	for i := range targets {
		targets[i], labels[i] = i%3, int32(i%3)
	}
	res := &attack.Result{Method: attack.Visualize, Targets: targets, Pixels: pinnedPixels(n, 1, 8, 8, 1), Shape: [4]int{n, 1, 8, 8}}
	return &Report{Options: Defaults(), Reference: 24, Chance: 1.0 / 3, Rows: []Row{
		{Model: model, Set: "attack1", Self: &self, Result: res, Score: leakage.Score{Images: n}},
		{Set: "real", RefImages: pinnedImages(1, 8, 8, 3, labels), Score: leakage.Score{Images: n}},
	}}
}

// TestWriteDirReplaces: an audit written again into its folder removes
// the files the earlier record lists and it does not write (another
// model's folder, surplus images), and nothing else.
func TestWriteDirReplaces(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	if _, err := handReport("OLD", 6).WriteDir(dir, 3, nil, nil); err != nil {
		t.Fatal(err)
	}
	user := []string{"notes.txt", filepath.Join("reference", "real", "notes.txt")}
	for _, f := range user {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("user's"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := CheckDir(dir, []string{"NEW"}, 3, Options{Methods: Of(attack.Visualize), PerClass: 1}); err != nil {
		t.Fatalf("CheckDir before a second audit: %v", err)
	}
	if _, err := handReport("NEW", 3).WriteDir(dir, 3, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"OLD", filepath.Join("reference", "real", "images", "003-class0.png")} {
		if _, err := os.Stat(filepath.Join(dir, gone)); err == nil {
			t.Errorf("%s survived", gone)
		}
	}
	for _, kept := range append(user, filepath.Join("NEW", "attack1", "images", "002-class2.png"), filepath.Join("reference", "real", GridFile)) {
		if _, err := os.Stat(filepath.Join(dir, kept)); err != nil {
			t.Errorf("%s: %v", kept, err)
		}
	}
}

// TestWriteDirRefuses: a file of the audit's names that no record lists,
// and a folder of another kind, are refused before and at writing, and
// left as they were.
func TestWriteDirRefuses(t *testing.T) {
	root := t.TempDir()
	o := Options{Methods: Of(attack.Visualize), PerClass: 2}
	for _, c := range []struct{ file, want string }{
		{TableFile, "holds table.md, which no audit's audit.json there lists"},
		{filepath.Join("M", "attack1", "images", "005-class2.png"), "holds M/attack1/images/005-class2.png, which no audit's"},
		{"manifest.json", "holds a synthetic image set, not an audit"},
	} {
		dir := filepath.Join(root, strings.ReplaceAll(c.file, string(filepath.Separator), "_"))
		p := filepath.Join(dir, c.file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("user's"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := CheckDir(dir, []string{"M"}, 3, o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckDir with %s: %v, want %q", c.file, err, c.want)
		}
		if _, err := handReport("M", 6).WriteDir(dir, 3, nil, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("WriteDir with %s: %v, want %q", c.file, err, c.want)
		}
		if b, err := os.ReadFile(p); err != nil || string(b) != "user's" {
			t.Errorf("%s: %q, %v", c.file, b, err)
		}
	}
}

func TestApplies(t *testing.T) {
	ann, sn := Model{}, Model{SNN: &snn.Network{}}
	trap := Model{SNN: &snn.Network{}, Avoid: tensor.New(1, 1, 2, 2)}
	m := func(method attack.Method) Attack { return Attack{Method: method} }
	aware := Attack{Method: attack.SNNInversion, Aware: true}
	if !ann.Applies(m(attack.Visualize)) || ann.Applies(m(attack.SNNGradient)) || ann.Applies(m(attack.SNNInversion)) ||
		!sn.Applies(m(attack.SNNGradient)) || !sn.Applies(m(attack.Visualize)) {
		t.Error("Applies: only Attacks 1 and 4 apply to an ANN, every plain attack to an SNN")
	}
	if ann.Applies(aware) || sn.Applies(aware) || !trap.Applies(aware) || !trap.Applies(m(attack.SNNInversion)) {
		t.Error("Applies: the aware attack applies only to an SNN with defence patterns")
	}
}
