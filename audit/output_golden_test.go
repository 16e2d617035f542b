package audit

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/attack"
	"github.com/privatesnn/privatesnn/imageset"
)

// treeListing returns one line per directory ("d path") and per file
// ("f path sha256") under dir, in the lexical order of filepath.WalkDir.
func treeListing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			fmt.Fprintf(&b, "d %s\n", filepath.ToSlash(rel))
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "f %s %x\n", filepath.ToSlash(rel), sha256.Sum256(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// pinnedPixels returns n images of c×h×w with fixed pixel values.
func pinnedPixels(n, c, h, w, seed int) []uint8 {
	p := make([]uint8, n*c*h*w)
	for i := range p {
		p[i] = uint8(i*31 + i/5 + seed)
	}
	return p
}

// pinnedImages returns images of c×h×w in the given number of classes
// with the given labels.
func pinnedImages(c, h, w, classes int, labels []int32) *imageset.Set {
	return &imageset.Set{Channels: c, Height: h, Width: w, Classes: classes, ClassNames: imageset.GenericNames(classes),
		Labels: labels, Pixels: pinnedPixels(len(labels), c, h, w, 3)}
}

// checkTree fails unless the digest of dir's tree listing is want.
func checkTree(t *testing.T, what, dir, want string) {
	t.Helper()
	list := treeListing(t, dir)
	if got := fmt.Sprintf("%x", sha256.Sum256([]byte(list))); got != want {
		t.Errorf("%s: tree digest %s, want %s; tree:\n%s", what, got, want, list)
	}
}

// TestWriteImagesBytes pins the bytes WriteImages writes (grid and one PNG
// per image) for grey, two-channel and colour images, with and without
// class names. The digests were taken from WriteImages' output at commit
// c5154ef.
func TestWriteImagesBytes(t *testing.T) {
	for _, c := range []struct {
		channels, h, w int
		labels         []int32
		names          []string
		want           string
	}{
		{1, 8, 8, []int32{0, 0, 1, 2, 2, 2}, nil, "c21790bb5bde31382bfbabc25b644f470d8a57a614a4ddafab2a214304649e04"},
		{2, 4, 5, []int32{1, 0, 1}, []string{"a", "b", "c"}, "6d4b94e8a9311c3243b5ea81896bc4448f79cce61eaef9a3536d7bd40dd39d52"},
		{3, 14, 6, []int32{2, 2, 0, 1, 1, 2, 0}, []string{"zero", "", "two"}, "be265ad78d69d2441807e3c62e775b0debfd02b3e0b89aa9c2b25288dba5eee2"},
	} {
		dir := filepath.Join(t.TempDir(), "out")
		if err := WriteImages(dir, pinnedImages(c.channels, c.h, c.w, 4, c.labels), c.names); err != nil {
			t.Fatal(err)
		}
		checkTree(t, fmt.Sprintf("%d channels", c.channels), dir, c.want)
	}
}

// TestWriteDirBytes pins the bytes Report.WriteDir writes for a report
// built by hand (no attack runs, so no floating-point results): an attack
// row and two reference rows, the table and the JSON record. The digest
// was taken from WriteDir's output when the table gained intervals,
// evaluators and the worst case, and again when the default attacks gained
// the aware forms of Attack 3 (audit.json records them; the images' bytes
// are those of commit c5154ef, which TestWriteImagesBytes pins).
func TestWriteDirBytes(t *testing.T) {
	self := 0.5
	res := &attack.Result{Method: attack.SNNGradient, Targets: []int{0, 0, 1, 1, 2, 2},
		Pixels: pinnedPixels(6, 1, 8, 8, 11), Shape: [4]int{6, 1, 8, 8}}
	r := &Report{Options: Defaults(), Reference: 24, Chance: 1.0 / 3, EvaluatorAccuracy: 0.75,
		Rows: []Row{
			{Model: "DC + CET", Set: "attack2", Self: &self, Result: res},
			{Set: "real", RefImages: pinnedImages(1, 8, 8, 3, []int32{0, 0, 1, 1, 2, 2})},
			{Set: "noise", RefImages: &imageset.Set{Channels: 1, Height: 8, Width: 8, Classes: 3, ClassNames: imageset.GenericNames(3),
				Labels: []int32{0, 1, 2}, Pixels: pinnedPixels(3, 1, 8, 8, 5)}},
		},
		Skipped: []string{"attack3 on x: why"}}
	dir := t.TempDir()
	grids, err := r.WriteDir(dir, 3, []string{"zero", "one", "two"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(grids) != 3 || grids["DC + CET/attack2"] != filepath.Join("DC-CET", "attack2", GridFile) {
		t.Errorf("grids %v", grids)
	}
	checkTree(t, "report", dir, "19fa5769fa53d6848f36d6c68b163790b5feb30ce0a4436370b699d12369e9a7")
}
