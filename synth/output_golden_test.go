package synth

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

// TestWriteDirBytes pins the bytes WriteDir writes (class folders, binary
// file, grid and manifest) for grey, two-channel and colour sets, with and
// without class names, rows shorter and taller than the grid's label font
// and classes with fewer images than others or none. The digests of the
// tree listings were taken from WriteDir's output at commit c5154ef.
func TestWriteDirBytes(t *testing.T) {
	for _, c := range []struct {
		channels, h, w int
		counts         []int
		names          []string
		want           string
	}{
		{1, 5, 6, []int{3, 1, 0}, nil, "8a951cababd28c09bd9b489137e679b61c892aff72afd7c2897d67f096d25e63"},
		{2, 3, 3, []int{2, 2}, []string{"first", "second"}, "0f6135b2b5a2d9df26d6504a8f16766190cee486d5899ed99ca118ddf98aac30"},
		{3, 16, 4, []int{1, 12, 4}, []string{"a", "", "long name"}, "80fc74f808ccaab827554c54dd2e2f9c86cc48ba530301f5b252bc8722cdc3ca"},
	} {
		s := testSet(c.channels, c.h, c.w, len(c.counts), nil, nil, nil)
		for k, n := range c.counts {
			for range n {
				s.Labels = append(s.Labels, int32(k))
				soft := make([]float32, len(c.counts))
				soft[k] = 1
				s.Soft = append(s.Soft, soft...)
			}
		}
		s.Pixels = make([]uint8, len(s.Labels)*s.ImageSize())
		for i := range s.Pixels {
			s.Pixels[i] = uint8(i*29 + i/7)
		}
		m := Manifest{Format: ManifestFormat, Classes: len(c.counts), Images: s.Len(), ClassNames: c.names,
			Channels: c.channels, Height: c.h, Width: c.w}
		dir := filepath.Join(t.TempDir(), "out")
		if err := WriteDir(dir, s, m, false); err != nil {
			t.Fatal(err)
		}
		list := treeListing(t, dir)
		if got := fmt.Sprintf("%x", sha256.Sum256([]byte(list))); got != c.want {
			t.Errorf("%d channels: tree digest %s, want %s; tree:\n%s", c.channels, got, c.want, list)
		}
	}
}
