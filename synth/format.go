package synth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"

	"github.com/privatesnn/privatesnn/imageset"
)

// Binary data set file ("synth.bin"), all integers little-endian:
//
//	offset  size        field
//	0       8           magic "PSNNSYN\x00"
//	8       4           version (1)
//	12      4           N, images
//	16      4           C, channels
//	20      4           H, height
//	24      4           W, width
//	28      4           K, classes
//	32      2·N         labels, uint16, each < K (the folder class)
//	…       N·C·H·W     pixels, uint8, image-major, each image CHW
//	…       4·N·K       soft labels, float32, image-major
//	…       4           CRC-32 (IEEE) of every preceding byte
//
// Pixels are the 8-bit values also written to the PNGs (p = u8/255 ∈ [0,1]
// before the model's normalisation).
const (
	binaryMagic   = "PSNNSYN\x00"
	binaryVersion = 1
	headerSize    = 32
)

// Bounds a file may declare. They admit every data set privatesnn targets
// (TinyImageNet is 3×64×64, 200 classes) and keep a hostile header from
// asking for absurd sizes.
const (
	MaxImages   = 1 << 24
	MaxChannels = 64
	MaxSide     = 4096
	MaxClasses  = 1 << 16
	// MaxBinaryBytes bounds the whole file (8 GiB).
	MaxBinaryBytes = 8 << 30
)

// softSumTol is how far a soft-label row read from a file may sum from 1.
// Rows are normalised in float64 and stored as float32 (relative error
// 6e-8 per entry), so honest files are within 1e-5 even for 65,536 classes;
// 1e-3 only rejects rows that are not probability vectors at all.
const softSumTol = 1e-3

// Set is a synthetic data set: 8-bit images with their folder class (the
// image set's labels) and the soft label each image was optimised towards.
// The file format holds no class names; sets read or generated here carry
// the generic names "0", "1", ….
type Set struct {
	imageset.Set
	Soft []float32 // N·Classes soft labels (Dirichlet draws)
}

// newSet returns a set of n images of c×h×w with k classes (generic class
// names), its labels, pixels and soft labels allocated.
func newSet(n, c, h, w, k int) *Set {
	return &Set{Set: imageset.Set{Channels: c, Height: h, Width: w, Classes: k, ClassNames: imageset.GenericNames(k),
		Labels: make([]int32, n), Pixels: make([]uint8, n*c*h*w)}, Soft: make([]float32, n*k)}
}

// Validate checks sizes, bounds and values: the file format's bounds, the
// image set (imageset.Set.Validate) and the soft labels.
func (s *Set) Validate() error {
	n := len(s.Labels)
	if err := checkDims(n, s.Channels, s.Height, s.Width, s.Classes); err != nil {
		return err
	}
	if err := s.Set.Validate(); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if len(s.Soft) != n*s.Classes {
		return fmt.Errorf("synth: %d soft-label values for %d images of %d classes", len(s.Soft), n, s.Classes)
	}
	for i := range n {
		var sum float64
		for k, v := range s.Soft[i*s.Classes : (i+1)*s.Classes] {
			if !(v >= 0 && v <= 1) {
				return fmt.Errorf("synth: image %d soft label %d is %g, want in [0, 1]", i, k, v)
			}
			sum += float64(v)
		}
		if math.Abs(sum-1) > softSumTol {
			return fmt.Errorf("synth: image %d soft label sums to %g, want 1", i, sum)
		}
	}
	return nil
}

func checkDims(n, c, h, w, k int) error {
	switch {
	case n < 1 || n > MaxImages:
		return fmt.Errorf("synth: %d images outside [1, %d]", n, MaxImages)
	case c < 1 || c > MaxChannels:
		return fmt.Errorf("synth: %d channels outside [1, %d]", c, MaxChannels)
	case h < 1 || h > MaxSide || w < 1 || w > MaxSide:
		return fmt.Errorf("synth: image size %d×%d outside [1, %d]", h, w, MaxSide)
	case k < 2 || k > MaxClasses:
		return fmt.Errorf("synth: %d classes outside [2, %d]", k, MaxClasses)
	}
	if size := binarySize(n, c, h, w, k); size > MaxBinaryBytes {
		return fmt.Errorf("synth: %d images of %d×%d×%d with %d classes need %d bytes, more than %d", n, c, h, w, k, size, int64(MaxBinaryBytes))
	}
	return nil
}

// binarySize is the file size for the given dimensions (no overflow within
// the bounds of checkDims: at most 2^24 · 2^36 < 2^63).
func binarySize(n, c, h, w, k int) int64 {
	N := int64(n)
	return headerSize + 2*N + N*int64(c)*int64(h)*int64(w) + 4*N*int64(k) + 4
}

// WriteBinary writes s in the binary format.
func (s *Set) WriteBinary(w io.Writer) error {
	if err := s.Validate(); err != nil {
		return err
	}
	n := s.Len()
	buf := make([]byte, 0, binarySize(n, s.Channels, s.Height, s.Width, s.Classes))
	buf = append(buf, binaryMagic...)
	for _, v := range []int{binaryVersion, n, s.Channels, s.Height, s.Width, s.Classes} {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(v))
	}
	for _, l := range s.Labels {
		buf = binary.LittleEndian.AppendUint16(buf, uint16(l))
	}
	buf = append(buf, s.Pixels...)
	for _, v := range s.Soft {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	}
	buf = binary.LittleEndian.AppendUint32(buf, crc32.ChecksumIEEE(buf))
	_, err := w.Write(buf)
	return err
}

// ReadBinary reads a set written by WriteBinary. It checks the magic,
// version, every bound, the checksum and every value, and never allocates
// more than the bytes actually present (plus the header's bounded claim for
// labels, pixels and soft labels once those bytes have arrived).
func ReadBinary(r io.Reader) (*Set, error) {
	var hdr [headerSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("synth: reading header: %w", noEOF(err))
	}
	if string(hdr[:8]) != binaryMagic {
		return nil, fmt.Errorf("synth: not a synthetic data set file (magic %q)", hdr[:8])
	}
	u := func(i int) uint32 { return binary.LittleEndian.Uint32(hdr[8+4*i:]) }
	if v := u(0); v != binaryVersion {
		return nil, fmt.Errorf("synth: file format version %d, this reader knows %d", v, binaryVersion)
	}
	var d [5]int
	for i := range d {
		v := u(i + 1)
		if v > math.MaxInt32 {
			return nil, fmt.Errorf("synth: header field %d is %d", i+1, v)
		}
		d[i] = int(v)
	}
	n, c, h, w, k := d[0], d[1], d[2], d[3], d[4]
	if err := checkDims(n, c, h, w, k); err != nil {
		return nil, err
	}
	rest := binarySize(n, c, h, w, k) - headerSize
	var body bytes.Buffer
	// CopyN grows the buffer as bytes arrive, so a short file cannot make
	// the reader allocate what its header claims.
	if got, err := io.CopyN(&body, r, rest); err != nil {
		return nil, fmt.Errorf("synth: file holds %d of the %d bytes its header declares: %w", headerSize+got, headerSize+rest, noEOF(err))
	}
	var extra [1]byte
	if m, _ := r.Read(extra[:]); m > 0 {
		return nil, fmt.Errorf("synth: trailing bytes after the %d declared", headerSize+rest)
	}
	b := body.Bytes()
	sum := crc32.Update(crc32.ChecksumIEEE(hdr[:]), crc32.IEEETable, b[:len(b)-4])
	if want := binary.LittleEndian.Uint32(b[len(b)-4:]); sum != want {
		return nil, fmt.Errorf("synth: checksum %08x, file says %08x: the file is corrupt", sum, want)
	}
	s := newSet(n, c, h, w, k)
	for i := range n {
		s.Labels[i] = int32(binary.LittleEndian.Uint16(b[2*i:]))
	}
	b = b[2*n:]
	copy(s.Pixels, b[:n*c*h*w])
	b = b[n*c*h*w:]
	for i := range s.Soft {
		s.Soft[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// Load reads a binary data set file, or the one inside an output directory.
func Load(path string) (*Set, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = path + string(os.PathSeparator) + BinaryFile
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := ReadBinary(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
