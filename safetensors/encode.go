package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// writeChunkBytes is the size of the scratch buffer Encode converts tensor
// data into.
const writeChunkBytes = 64 << 10

// Encode writes f to w as a safetensors file with every tensor stored as F32.
//
// The output is deterministic (see the package documentation): tensors are
// sorted by name and stored contiguously in that order, and header keys are
// sorted. Encode first validates f and writes nothing if it is invalid: every
// name must be valid UTF-8, distinct, and not "__metadata__"; every shape must
// have non-negative dimensions whose product equals len(Data); metadata keys
// and values must be valid UTF-8. f itself is not modified.
func Encode(w io.Writer, f *File) error {
	if f == nil {
		return errors.New("safetensors: encode: nil File")
	}
	order, err := sortedTensors(f)
	if err != nil {
		return err
	}
	header := encodeHeader(f, order)
	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(len(header)))
	if _, err := w.Write(prefix[:]); err != nil {
		return fmt.Errorf("safetensors: write header: %w", err)
	}
	if _, err := w.Write(header); err != nil {
		return fmt.Errorf("safetensors: write header: %w", err)
	}
	buf := make([]byte, writeChunkBytes)
	for _, t := range order {
		for data := t.Data; len(data) > 0; {
			k := min(len(data), len(buf)/4)
			for i, v := range data[:k] {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			if _, err := w.Write(buf[:4*k]); err != nil {
				return fmt.Errorf("safetensors: write tensor %q: %w", t.Name, err)
			}
			data = data[k:]
		}
	}
	return nil
}

// sortedTensors validates f and returns its tensors sorted by name.
func sortedTensors(f *File) ([]*Tensor, error) {
	order := make([]*Tensor, len(f.Tensors))
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if !utf8.ValidString(t.Name) {
			return nil, fmt.Errorf("safetensors: encode: tensor name %q is not valid UTF-8", t.Name)
		}
		if t.Name == metadataKey {
			return nil, fmt.Errorf("safetensors: encode: tensor name %q is reserved", t.Name)
		}
		n, ok := numElements(t.Shape)
		if !ok {
			return nil, fmt.Errorf("safetensors: encode: tensor %q: invalid shape %v", t.Name, t.Shape)
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("safetensors: encode: tensor %q: shape %v has %d elements, but len(Data) is %d", t.Name, t.Shape, n, len(t.Data))
		}
		order[i] = t
	}
	slices.SortFunc(order, func(a, b *Tensor) int { return cmp.Compare(a.Name, b.Name) })
	for i := 1; i < len(order); i++ {
		if order[i].Name == order[i-1].Name {
			return nil, fmt.Errorf("safetensors: encode: duplicate tensor name %q", order[i].Name)
		}
	}
	for k, v := range f.Metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, fmt.Errorf("safetensors: encode: metadata entry %q is not valid UTF-8", k)
		}
	}
	return order, nil
}

// encodeHeader returns the JSON header for the tensors in order, padded with
// spaces to a multiple of 8 bytes. Keys are sorted at every level, and the
// metadata key sorts among the tensor names.
func encodeHeader(f *File, order []*Tensor) []byte {
	type item struct {
		key string
		t   *Tensor // nil for the metadata entry
	}
	items := make([]item, 0, len(order)+1)
	for _, t := range order {
		items = append(items, item{t.Name, t})
	}
	if len(f.Metadata) > 0 {
		items = append(items, item{key: metadataKey})
		slices.SortFunc(items, func(a, b item) int { return cmp.Compare(a.key, b.key) })
	}
	var b bytes.Buffer
	b.WriteByte('{')
	var offset int64
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, it.key)
		b.WriteByte(':')
		if it.t == nil {
			writeMetadata(&b, f.Metadata)
			continue
		}
		end := offset + 4*int64(len(it.t.Data))
		fmt.Fprintf(&b, `{"data_offsets":[%d,%d],"dtype":"F32","shape":[`, offset, end)
		for j, d := range it.t.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		b.WriteString("]}")
		offset = end
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes()
}

// writeMetadata writes m as a JSON object with sorted keys.
func writeMetadata(b *bytes.Buffer, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, k)
		b.WriteByte(':')
		writeJSONString(b, m[k])
	}
	b.WriteByte('}')
}

// writeJSONString writes s, which must be valid UTF-8, as a JSON string the
// way Python's json.dumps does by default (ensure_ascii): ASCII 0x20–0x7e
// stays as is, \" \\ \b \f \n \r \t use short escapes, and every other rune
// is written as \uXXXX (lower-case hex; a UTF-16 surrogate pair above
// U+FFFF).
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	u := func(c rune) {
		b.WriteString(`\u`)
		b.WriteByte(hex[c>>12&0xf])
		b.WriteByte(hex[c>>8&0xf])
		b.WriteByte(hex[c>>4&0xf])
		b.WriteByte(hex[c&0xf])
	}
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(byte(c))
		case c > 0xffff:
			c -= 0x10000
			u(0xd800 + c>>10)
			u(0xdc00 + c&0x3ff)
		default:
			u(c)
		}
	}
	b.WriteByte('"')
}
