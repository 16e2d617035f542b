package data

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

// TestWriteImageFolderBytes pins the bytes WriteImageFolder writes: the
// digest of the tree listing (folders, file names and file digests) for a
// grey and a colour set with empty classes. The digests were taken from the
// writer's output at commit c5154ef.
func TestWriteImageFolderBytes(t *testing.T) {
	for _, c := range []struct {
		channels int
		want     string
	}{
		{1, "73c7b149186939b787bdd67874638e746367096ed9ae572d30b77092f31efb48"},
		{3, "ad106a62990b418e122f7380be3b0c63a8023ff6afc82dd0b295de67977a82ea"},
	} {
		s := &Set{Name: "pinned", Channels: c.channels, Height: 5, Width: 7, Classes: 6, ClassNames: genericNames(6)}
		for i := range 13 {
			s.Labels = append(s.Labels, int32(i*5%4))
			for j := range s.ImageSize() {
				s.Pixels = append(s.Pixels, uint8(i*37+j*11))
			}
		}
		dir := filepath.Join(t.TempDir(), "out")
		if err := WriteImageFolder(dir, s); err != nil {
			t.Fatal(err)
		}
		list := treeListing(t, dir)
		if got := fmt.Sprintf("%x", sha256.Sum256([]byte(list))); got != c.want {
			t.Errorf("%d channels: tree digest %s, want %s; tree:\n%s", c.channels, got, c.want, list)
		}
	}
}
