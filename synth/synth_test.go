package synth

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/privatesnn/privatesnn/imageset"
	"github.com/privatesnn/privatesnn/invert"
	"github.com/privatesnn/privatesnn/progress"
	"github.com/privatesnn/privatesnn/progress/progresstest"
	"github.com/privatesnn/privatesnn/tensor"
	"github.com/privatesnn/privatesnn/vgg"
)

// sigmas is how many standard errors a sample mean may stray from its
// expectation before a statistical test fails; with the fixed seeds the
// tests are deterministic, and 5σ would fail an honest sampler with
// probability ~6e-7 for a fresh seed.
const sigmas = 5

func TestGammaMoments(t *testing.T) {
	const n = 40000
	rng := rand.New(rand.NewPCG(1, 2))
	for _, a := range []float64{0.01, 0.1, 0.5, 1, 2.5, 10} {
		var s, s2 float64
		for range n {
			x := Gamma(rng, a)
			if !(x >= 0) || math.IsInf(x, 0) {
				t.Fatalf("Gamma(%g) drew %g", a, x)
			}
			s += x
			s2 += x * x
		}
		mean, v := s/n, s2/n-(s/n)*(s/n)
		// Gamma(a,1): mean a, variance a; the sample mean's standard error is sqrt(a/n).
		if d := math.Abs(mean - a); d > sigmas*math.Sqrt(a/n) {
			t.Errorf("Gamma(%g): mean %g, want %g ± %g", a, mean, a, sigmas*math.Sqrt(a/n))
		}
		// The variance estimate's standard error is sqrt((μ4 − σ⁴)/n) = sqrt((6a + 2a²)/n)
		// (μ4 = 3a² + 6a for Gamma(a,1)).
		if d := math.Abs(v - a); d > sigmas*math.Sqrt((6*a+2*a*a)/n) {
			t.Errorf("Gamma(%g): variance %g, want %g", a, v, a)
		}
	}
	if Gamma(rng, 0) != 0 {
		t.Error("Gamma(0) != 0")
	}
}

func TestDirichlet(t *testing.T) {
	const n = 20000
	rng := rand.New(rand.NewPCG(3, 4))
	for _, alpha := range [][]float64{
		{1, 0.3, 0},         // a zero concentration, as row normalisation produces
		{1, 0.02, 0.5, 0.7}, // a tiny one
		{1, 1},
		{1e-3, 1e-3, 1}, // boosted draws that would underflow without logs
	} {
		var sum float64
		for _, a := range alpha {
			sum += a
		}
		y := make([]float64, len(alpha))
		mean := make([]float64, len(alpha))
		for range n {
			if err := Dirichlet(rng, alpha, y); err != nil {
				t.Fatal(err)
			}
			var s float64
			for k, v := range y {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("alpha %v: component %d = %g", alpha, k, v)
				}
				if alpha[k] == 0 && v != 0 {
					t.Fatalf("alpha %v: zero concentration gave %g", alpha, v)
				}
				s += v
				mean[k] += v / n
			}
			if math.Abs(s-1) > 1e-12 {
				t.Fatalf("alpha %v: draw sums to %g", alpha, s)
			}
		}
		for k, a := range alpha {
			// E[y_k] = a/Σ, Var = a(Σ−a)/(Σ²(Σ+1)).
			want := a / sum
			se := math.Sqrt(a * (sum - a) / (sum * sum * (sum + 1)) / n)
			if math.Abs(mean[k]-want) > sigmas*se+1e-12 {
				t.Errorf("alpha %v: mean[%d] = %g, want %g ± %g", alpha, k, mean[k], want, sigmas*se)
			}
		}
	}
	y := make([]float64, 2)
	for _, bad := range [][]float64{{0, 0}, {1, -1}, {1, math.NaN()}, {1, math.Inf(1)}, {1}} {
		if err := Dirichlet(rng, bad, y); err == nil {
			t.Errorf("Dirichlet(%v) accepted", bad)
		}
	}
}

func TestSimilarity(t *testing.T) {
	w := tensor.FromData([]float32{
		1, 0, 0,
		1, 1, 0,
		-1, 0, 0,
		0, 0, 0, // a dead class
	}, 4, 3)
	S, err := ClassSimilarity(w)
	if err != nil {
		t.Fatal(err)
	}
	r := 1 / math.Sqrt2
	want := [][]float64{
		{1, r, -1, 0},
		{r, 1, -r, 0},
		{-1, -r, 1, 0},
		{0, 0, 0, 1},
	}
	// simTol: cosines are computed in float64 from exact float32 inputs.
	const simTol = 1e-12
	for i := range want {
		for j := range want[i] {
			if math.Abs(S[i][j]-want[i][j]) > simTol {
				t.Errorf("S[%d][%d] = %g, want %g", i, j, S[i][j], want[i][j])
			}
		}
	}
	A := Concentrations(S)
	for i, row := range A {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range row {
			lo, hi = min(lo, v), max(hi, v)
		}
		if row[i] != 1 || lo != 0 || hi != 1 {
			t.Errorf("row %d = %v: want diagonal 1, min 0, max 1", i, row)
		}
	}
	if math.Abs(A[0][1]-(r+1)/2) > simTol {
		t.Errorf("A[0][1] = %g, want %g", A[0][1], (r+1)/2)
	}
	if got := Concentrations([][]float64{{1, 1}, {1, 1}}); got[0][1] != 1 {
		t.Errorf("flat row → %v, want all ones", got)
	}
	for _, bad := range []*tensor.Tensor{nil, tensor.New(3), tensor.FromData([]float32{1, float32(math.NaN())}, 1, 2)} {
		if _, err := ClassSimilarity(bad); err == nil {
			t.Errorf("ClassSimilarity(%v) accepted", bad)
		}
	}
}

func tinyModel(t testing.TB) *vgg.Model {
	t.Helper()
	m, err := vgg.New(vgg.Config{Name: "tiny", Features: []vgg.Item{4, vgg.Pool, 8, vgg.Pool}, Hidden: []int{16}, Classes: 3,
		InChannels: 1, InHeight: 8, InWidth: 8, ConvDropout: 0.1, FCDropout: 0.5}, rand.New(rand.NewPCG(7, 7)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func tinyOptions() Options {
	o := Defaults()
	o.PerClass = 4
	o.Invert = invert.Options{Iterations: 30, LR: 0.05, Temperature: Temperature, Batch: 5}
	o.Seed = 9
	return o
}

func TestGenerateAndWrite(t *testing.T) {
	m := tinyModel(t)
	o := tinyOptions()
	var last int
	res, err := Generate(context.Background(), m, o, func(r progress.Report) error {
		if r.Total != 12 || r.Done <= last || r.Label != "images" {
			t.Errorf("progress %s %d/%d after %d", r.Label, r.Done, r.Total, last)
		}
		last = r.Done
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if last != 12 {
		t.Errorf("last progress %d, want 12", last)
	}
	checkGenerated(t, res)
	checkGenerateRepeatable(t, m, o, res.Set)
	checkWriteDir(t, res)
}

// checkGenerated checks the set and statistics of tinyOptions' run: 12
// valid images of 3 classes, 1×8×8, in class-major order, 4 per class,
// and every class's mean loss lower after the optimisation than before.
func checkGenerated(t *testing.T, res *Result) {
	s := res.Set
	if s.Len() != 12 || s.Classes != 3 || s.Channels != 1 || s.Height != 8 {
		t.Fatalf("set %d images %d classes %d×%d×%d", s.Len(), s.Classes, s.Channels, s.Height, s.Width)
	}
	for i, l := range s.Labels {
		if int(l) != i/4 {
			t.Fatalf("label %d = %d, want class-major %d", i, l, i/4)
		}
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	st := res.Stats
	if st.Images != 12 || len(st.PerClass) != 3 || st.PerClass[1].Images != 4 {
		t.Fatalf("stats %+v", st)
	}
	for _, c := range st.PerClass {
		if !(c.MeanFinalLoss < c.MeanInitialLoss) {
			t.Errorf("class %d: loss %g → %g", c.Class, c.MeanInitialLoss, c.MeanFinalLoss)
		}
	}
}

// checkGenerateRepeatable runs Generate again with m and o and checks that
// it gives s again, and that with Batch 1 it gives the same soft labels and
// pixels at most one level from s's.
func checkGenerateRepeatable(t *testing.T, m *vgg.Model, o Options, s *Set) {
	// The same seed gives the same set; the batch size does not change
	// the soft labels or initial pixels (only rounding in the optimisation).
	again, err := Generate(context.Background(), m, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Set.Pixels, s.Pixels) || !equal32(again.Set.Soft, s.Soft) {
		t.Error("same seed gave a different set")
	}
	o2 := o
	o2.Invert.Batch = 1
	one, err := Generate(context.Background(), m, o2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !equal32(one.Set.Soft, s.Soft) {
		t.Error("batch size changed the soft labels")
	}
	// 8-bit quantisation of nearly equal images differs by at most one level.
	for i := range s.Pixels {
		if d := int(one.Set.Pixels[i]) - int(s.Pixels[i]); d < -1 || d > 1 {
			t.Fatalf("pixel %d: %d with batch 1, %d with batch 5", i, one.Set.Pixels[i], s.Pixels[i])
		}
	}
}

// checkWriteDir writes res's set with WriteDir into a new directory, checks
// that a second write needs overwrite, and checks what is there: a class
// PNG (checkClassPNG), the binary file read back by Load, the grid's size,
// the manifest's fields, and no temporary directory left beside it.
func checkWriteDir(t *testing.T, res *Result) {
	s := res.Set
	dir := filepath.Join(t.TempDir(), "out")
	man := res.Manifest("model-dir", "tiny", "test", nil)
	if err := WriteDir(dir, s, man, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteDir(dir, s, man, false); err == nil {
		t.Error("WriteDir replaced an existing directory without overwrite")
	}
	if err := WriteDir(dir, s, man, true); err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	checkClassPNG(t, dir, s)
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Pixels, s.Pixels) || !equal32(back.Soft, s.Soft) || len(back.Labels) != 12 || back.Labels[11] != 2 {
		t.Error("binary file does not round-trip")
	}
	g, err := os.Open(filepath.Join(dir, GridFile))
	if err != nil {
		t.Fatal(err)
	}
	gc, err := png.DecodeConfig(g)
	g.Close()
	// 4 images per class give 4 columns (no blank ones) after a label
	// column as wide as the widest label ("0": one 7-pixel glyph); rows are
	// as tall as the 13-pixel font; cells are 2 pixels apart.
	const gridGap = 2
	if wantW, wantH := gridGap+7+2*gridGap+4*(8+gridGap), 3*(13+gridGap)+gridGap; err != nil || gc.Width != wantW || gc.Height != wantH {
		t.Errorf("grid %dx%d (err %v), want %dx%d", gc.Width, gc.Height, err, wantW, wantH)
	}
	js, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var mm map[string]any
	if err := json.Unmarshal(js, &mm); err != nil {
		t.Fatal(err)
	}
	if mm["training_data_accessed"] != false || mm["seed"] != float64(9) || mm["images"] != float64(12) {
		t.Errorf("manifest %s", js)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("temporary directories left behind: %v", entries)
	}
}

// checkClassPNG checks that dir/cls2/img3.png, image 11 of s written by
// WriteDir, decodes to exactly that image's pixels.
func checkClassPNG(t *testing.T, dir string, s *Set) {
	f, err := os.Open(filepath.Join(dir, "cls2", "img3.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Image 11 is class 2's fourth; its PNG holds exactly the set's pixels.
	for y := range 8 {
		for x := range 8 {
			r, _, _, _ := img.At(x, y).RGBA()
			if uint8(r>>8) != s.Image(11)[y*8+x] {
				t.Fatalf("PNG pixel (%d,%d) = %d, set has %d", x, y, r>>8, s.Image(11)[y*8+x])
			}
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Options)
		ok   bool
	}{
		{"default", func(*Options) {}, true},
		{"zero per class", func(o *Options) { o.PerClass = 0 }, false},
		{"zero std", func(o *Options) { o.Normalization.Std = 0 }, false},
		{"nan mean", func(o *Options) { o.Normalization.Mean = math.NaN() }, false},
		{"bad invert", func(o *Options) { o.Invert.LR = -1 }, false},
	} {
		o := Defaults()
		tc.edit(&o)
		if err := o.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if _, err := Generate(context.Background(), tinyModel(t), Options{}, nil); err == nil {
		t.Error("Generate accepted zero options")
	}
}

func TestReadBinaryRejects(t *testing.T) {
	s := testSet(1, 2, 2, 2, []int32{0, 1}, []uint8{1, 2, 3, 4, 5, 6, 7, 8}, []float32{0.25, 0.75, 1, 0})
	var b bytes.Buffer
	if err := s.WriteBinary(&b); err != nil {
		t.Fatal(err)
	}
	good := b.Bytes()
	if _, err := ReadBinary(bytes.NewReader(good)); err != nil {
		t.Fatalf("good file: %v", err)
	}
	mod := func(f func([]byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "header"},
		{"magic", mod(func(b []byte) []byte { b[0] = 'X'; return b }), "magic"},
		{"version", mod(func(b []byte) []byte { b[8] = 2; return b }), "version"},
		{"zero images", mod(func(b []byte) []byte { b[12] = 0; return b }), "images"},
		{"huge images", mod(func(b []byte) []byte { b[15] = 0x7f; return b }), "images"},
		{"one class", mod(func(b []byte) []byte { b[28] = 1; return b }), "classes"},
		{"truncated", good[:len(good)-1], "declares"},
		{"trailing", append(bytes.Clone(good), 0), "trailing"},
		{"checksum", mod(func(b []byte) []byte { b[headerSize+5]++; return b }), "checksum"},
	} {
		_, err := ReadBinary(bytes.NewReader(tc.b))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error mentioning %q", tc.name, err, tc.want)
		}
	}
	bad := *s
	bad.Labels = []int32{0, 2}
	if err := bad.WriteBinary(&b); err == nil {
		t.Error("wrote a label outside the classes")
	}
	bad = *s
	bad.Soft = []float32{0.5, 0.6, 1, 0}
	if err := bad.WriteBinary(&b); err == nil {
		t.Error("wrote a soft label that does not sum to 1")
	}
}

// testSet returns a set of c×h×w images with k generically named classes.
func testSet(c, h, w, k int, labels []int32, pixels []uint8, soft []float32) *Set {
	s := newSet(0, c, h, w, k)
	s.Labels, s.Pixels, s.Soft = labels, pixels, soft
	return s
}

func equal32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestWriteDirKeepsForeignFiles overwrites a set in a directory that also
// holds files that are not the set's: they survive, the old set's own files
// that the new set does not write are gone, and the new set reads back.
func TestWriteDirKeepsForeignFiles(t *testing.T) {
	mk := func(perClass int) (*Set, Manifest) {
		s := testSet(1, 4, 4, 2, nil, nil, nil)
		for c := range int32(2) {
			for range perClass {
				s.Labels = append(s.Labels, c)
				s.Soft = append(s.Soft, 0.5, 0.5)
			}
		}
		s.Pixels = make([]uint8, len(s.Labels)*16)
		for i := range s.Pixels {
			s.Pixels[i] = uint8(perClass * i)
		}
		return s, Manifest{Format: ManifestFormat, Classes: 2, PerClass: perClass, Images: len(s.Labels)}
	}
	dir := filepath.Join(t.TempDir(), "out")
	big, bigMan := mk(3)
	if err := WriteDir(dir, big, bigMan, false); err != nil {
		t.Fatal(err)
	}
	foreign := []string{"notes.txt", filepath.Join("cls0", "mine.txt"), filepath.Join("model", "model.json")}
	for _, f := range foreign {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	small, smallMan := mk(1)
	if err := WriteDir(dir, small, smallMan, true); err != nil {
		t.Fatal(err)
	}
	for _, f := range foreign {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || string(b) != f {
			t.Errorf("foreign file %s: %q, %v", f, b, err)
		}
	}
	for _, gone := range []string{filepath.Join("cls0", "img1.png"), filepath.Join("cls1", "img2.png")} {
		if _, err := os.Stat(filepath.Join(dir, gone)); err == nil {
			t.Errorf("the old set's %s survived the overwrite", gone)
		}
	}
	back, err := Load(dir)
	if err != nil || !bytes.Equal(back.Pixels, small.Pixels) {
		t.Fatalf("new set does not read back: %v", err)
	}
	if m, err := ReadManifest(dir); err != nil || m.PerClass != 1 {
		t.Fatalf("manifest %+v, %v", m, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 1 {
		t.Errorf("temporary directories left behind: %v", entries)
	}
}

// FuzzDecodeManifest: any bytes give a manifest or an error, never a panic.
func FuzzDecodeManifest(f *testing.F) {
	f.Add([]byte(`{"format":"privatesnn.synth/v1","classes":10,"images":100,"per_class":10}`))
	f.Add([]byte(`{"format":"privatesnn.synth/v1","classes":0}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest(b)
		if err == nil {
			m.folderLabels()
		}
	})
}

func TestSettingsOptions(t *testing.T) {
	norm := imageset.Normalization{Mean: 0.5, Std: 0.5}
	s := DefaultSettings()
	o, err := s.Options(28, 28, norm)
	if err != nil || o.Invert.Iterations != FastIterations || o.Invert.LR != FastLR || o.Invert.Bounded != FastBounded ||
		o.PerClass != DefaultPerClass || o.Invert.Temperature != Temperature || o.Invert.Batch != DefaultBatch || o.Normalization != norm {
		t.Errorf("fast: %+v, %v", o, err)
	}
	s.Schedule = Reference
	if o, err = s.Options(28, 28, norm); err != nil || o.Invert.Iterations != ReferenceIterationsMNIST || o.Invert.LR != ReferenceLR || o.Invert.Bounded {
		t.Errorf("reference 28×28: %+v, %v", o.Invert, err)
	}
	if o, err = s.Options(32, 32, norm); err != nil || o.Invert.Iterations != ReferenceIterationsCIFAR {
		t.Errorf("reference 32×32: %+v, %v", o.Invert, err)
	}
	bounded := true
	s.Iterations, s.LR, s.Bounded = 7, 0.5, &bounded
	if o, err = s.Options(32, 32, norm); err != nil || o.Invert.Iterations != 7 || o.Invert.LR != 0.5 || !o.Invert.Bounded {
		t.Errorf("set values kept: %+v, %v", o.Invert, err)
	}
	unbounded := false
	s = DefaultSettings()
	s.Bounded = &unbounded
	if o, err = s.Options(28, 28, norm); err != nil || o.Invert.Bounded {
		t.Errorf("fast, unbounded: %+v, %v", o.Invert, err)
	}
	var sc Schedule
	if err := sc.UnmarshalText([]byte("slow")); err == nil {
		t.Error("no error for an unknown schedule")
	}
	s.Schedule = "slow"
	if _, err := s.Options(28, 28, norm); err == nil {
		t.Error("Options accepted an unknown schedule")
	}
}

// The progress contract: a nil callback is allowed, and a callback's error
// stops Generate after the batch it reports, wrapped.
func TestGenerateStops(t *testing.T) {
	m := tinyModel(t)
	o := tinyOptions()
	o.Invert.Iterations = 2
	if _, err := Generate(context.Background(), m, o, nil); err != nil {
		t.Fatal(err)
	}
	rec := &progresstest.Recorder{T: t, StopAfter: 1}
	_, err := Generate(context.Background(), m, o, rec.Func())
	rec.CheckStopped(err)
	if r := rec.Reports[0]; r.Done != 5 || r.Total != 12 {
		t.Fatalf("first report %d/%d, want 5/12 (one batch)", r.Done, r.Total)
	}
}
