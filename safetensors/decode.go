package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"unicode/utf8"
)

// readChunkBytes bounds the scratch buffer used to read tensor data, so that
// memory use grows with the bytes actually read, not with the sizes a header
// claims.
const readChunkBytes = 1 << 20

// entry is one validated tensor description from the header.
type entry struct {
	name       string
	dtype      string
	info       dtypeInfo
	shape      []int
	n          int   // number of elements
	begin, end int64 // byte offsets into the data buffer
}

// Decode reads a safetensors file from r. size is the total number of bytes
// the file occupies (for a file on disk, its size); the data buffer is taken
// to be everything after the header up to size, and it must be covered
// exactly by the tensors' data_offsets, without gaps or overlaps.
//
// Decode validates the header completely before it reads tensor data: the
// header length must not exceed [MaxHeaderBytes] or size−8; the header must be
// well-formed UTF-8 JSON whose top level is an object without duplicate keys;
// every tensor needs a known dtype, a shape of non-negative integers and
// data_offsets [begin, end] with begin ≤ end ≤ the buffer length and
// end − begin equal to the element count times the dtype size. Tensors of
// dtype F32, F16, BF16 and F64 are converted to float32; any other valid
// dtype makes Decode fail with an error wrapping [ErrUnsupportedDType].
//
// The returned File lists tensors in data-offset order. Decode reads exactly
// size bytes from r on success and never reads past them.
func Decode(r io.Reader, size int64) (*File, error) {
	if size < 8 {
		return nil, formatError("input is %d bytes, too short for the 8-byte header length", size)
	}
	var prefix [8]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return nil, truncated("header length", err)
	}
	n := binary.LittleEndian.Uint64(prefix[:])
	if n > MaxHeaderBytes {
		return nil, formatError("header length %d exceeds the limit of %d bytes", n, MaxHeaderBytes)
	}
	if n > uint64(size-8) {
		return nil, formatError("header length %d exceeds the %d bytes that follow the length prefix", n, size-8)
	}
	header, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, fmt.Errorf("safetensors: read header: %w", err)
	}
	if uint64(len(header)) != n {
		return nil, truncated("header", io.ErrUnexpectedEOF)
	}
	entries, meta, err := parseHeader(header)
	if err != nil {
		return nil, err
	}
	if err := checkLayout(entries, size-8-int64(n)); err != nil {
		return nil, err
	}
	f := &File{Tensors: make([]Tensor, 0, len(entries)), Metadata: meta}
	for i := range entries {
		t, err := readTensor(r, &entries[i])
		if err != nil {
			return nil, err
		}
		f.Tensors = append(f.Tensors, t)
	}
	return f, nil
}

// formatError returns an error wrapping ErrFormat.
func formatError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
}

// truncated turns an early end of input into a format error and wraps any
// other read error.
func truncated(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s truncated: %w", ErrFormat, what, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("safetensors: read %s: %w", what, err)
}

// parseHeader parses the JSON header into tensor entries (in header order)
// and the optional metadata map.
func parseHeader(header []byte) ([]entry, map[string]string, error) {
	if len(header) == 0 || header[0] != '{' {
		return nil, nil, formatError("header does not start with '{'")
	}
	if !utf8.Valid(header) {
		return nil, nil, formatError("header is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	var (
		entries []entry
		meta    map[string]string
	)
	err := parseObject(dec, "header", func(key string) error {
		if key == metadataKey {
			m, err := parseMetadata(dec)
			meta = m
			return err
		}
		e, err := parseEntry(dec, key)
		entries = append(entries, e)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, formatError("header: unexpected data after the top-level JSON object")
	}
	return entries, meta, nil
}

// parseObject consumes one JSON object from dec, calling field for each key;
// field must consume exactly the key's value. Duplicate keys are rejected.
func parseObject(dec *json.Decoder, what string, field func(key string) error) error {
	tok, err := dec.Token()
	if err != nil {
		return formatError("%s: %v", what, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return formatError("%s: expected a JSON object, found %v", what, tok)
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return formatError("%s: %v", what, err)
		}
		key, ok := tok.(string)
		if !ok {
			return formatError("%s: expected an object key, found %v", what, tok)
		}
		if seen[key] {
			return formatError("%s: duplicate key %q", what, key)
		}
		seen[key] = true
		if err := field(key); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return formatError("%s: %v", what, err)
	}
	return nil
}

// parseMetadata consumes the "__metadata__" object, whose values must all
// be strings.
func parseMetadata(dec *json.Decoder) (map[string]string, error) {
	meta := make(map[string]string)
	err := parseObject(dec, metadataKey, func(key string) error {
		var v *string
		if err := dec.Decode(&v); err != nil || v == nil {
			return formatError("%s: value of %q is not a string", metadataKey, key)
		}
		meta[key] = *v
		return nil
	})
	return meta, err
}

// parseEntry consumes the description of tensor name and validates each
// field on its own; checkLayout validates them together.
func parseEntry(dec *json.Decoder, name string) (entry, error) {
	e := entry{name: name}
	var shape, offsets *[]int64
	what := fmt.Sprintf("tensor %q", name)
	err := parseObject(dec, what, func(key string) error {
		var err error
		switch key {
		case "dtype":
			var s *string
			if err = dec.Decode(&s); err == nil && s == nil {
				err = errors.New("null")
			}
			if err == nil {
				e.dtype = *s
			}
		case "shape":
			err = dec.Decode(&shape)
		case "data_offsets":
			err = dec.Decode(&offsets)
		default:
			return formatError("%s: unknown field %q", what, key)
		}
		if err != nil {
			return formatError("%s: invalid %s: %v", what, key, err)
		}
		return nil
	})
	if err != nil {
		return e, err
	}
	switch {
	case e.dtype == "":
		return e, formatError("%s: missing dtype", what)
	case shape == nil:
		return e, formatError("%s: missing shape", what)
	case offsets == nil:
		return e, formatError("%s: missing data_offsets", what)
	case len(*offsets) != 2:
		return e, formatError("%s: data_offsets has %d values, want 2", what, len(*offsets))
	}
	var known bool
	if e.info, known = lookupDType(e.dtype); !known {
		return e, formatError("%s: unknown dtype %q", what, e.dtype)
	}
	e.shape = make([]int, len(*shape))
	for i, d := range *shape {
		if d < 0 || d > math.MaxInt32 {
			return e, formatError("%s: shape %v: dimension %d out of range", what, *shape, i)
		}
		e.shape[i] = int(d)
	}
	var ok bool
	if e.n, ok = numElements(e.shape); !ok {
		return e, formatError("%s: shape %v: element count overflows", what, *shape)
	}
	e.begin, e.end = (*offsets)[0], (*offsets)[1]
	if e.begin < 0 || e.end < e.begin {
		return e, formatError("%s: invalid data_offsets [%d, %d]", what, e.begin, e.end)
	}
	return e, nil
}

// checkLayout checks sizes against shapes and that the tensors tile the
// data buffer of bufLen bytes exactly. It sorts entries by offset.
func checkLayout(entries []entry, bufLen int64) error {
	for i := range entries {
		e := &entries[i]
		if e.end > bufLen {
			return formatError("tensor %q: data_offsets [%d, %d] out of range: data buffer has %d bytes", e.name, e.begin, e.end, bufLen)
		}
		if e.info.size == 0 {
			continue // sub-byte dtype: reported as unsupported below
		}
		span := e.end - e.begin
		sz := int64(e.info.size)
		if span%sz != 0 || span/sz != int64(e.n) {
			return formatError("tensor %q: shape %v of %s needs %d elements of %d bytes, but data_offsets [%d, %d] span %d bytes",
				e.name, e.shape, e.dtype, e.n, sz, e.begin, e.end, span)
		}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.end, b.end), cmp.Compare(a.name, b.name))
	})
	var pos int64
	for i, e := range entries {
		switch {
		case e.begin > pos:
			return formatError("data buffer bytes [%d, %d) belong to no tensor", pos, e.begin)
		case e.begin < pos:
			return formatError("tensor %q: data_offsets [%d, %d] overlap tensor %q", e.name, e.begin, e.end, entries[i-1].name)
		}
		pos = e.end
	}
	if pos != bufLen {
		return formatError("data buffer bytes [%d, %d) belong to no tensor", pos, bufLen)
	}
	for _, e := range entries {
		if e.info.convert == nil {
			return fmt.Errorf("%w: tensor %q has dtype %s; only F32, F16, BF16 and F64 are supported", ErrUnsupportedDType, e.name, e.dtype)
		}
	}
	return nil
}

// readTensor reads the data of e, which starts at the current position of
// r, in chunks of at most readChunkBytes, converting it to float32.
func readTensor(r io.Reader, e *entry) (Tensor, error) {
	size := e.info.size
	chunkElems := max(1, readChunkBytes/size)
	buf := make([]byte, min(e.n, chunkElems)*size)
	data := make([]float32, 0, min(e.n, chunkElems))
	for len(data) < e.n {
		k := min(e.n-len(data), chunkElems)
		if _, err := io.ReadFull(r, buf[:k*size]); err != nil {
			return Tensor{}, truncated(fmt.Sprintf("data of tensor %q", e.name), err)
		}
		old := len(data)
		data = slices.Grow(data, k)[:old+k]
		e.info.convert(data[old:], buf[:k*size])
	}
	return Tensor{Name: e.name, Shape: e.shape, Data: data}, nil
}
