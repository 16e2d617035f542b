package data

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
)

const (
	// unknownSizeChunk is the first buffer capacity used when the size of the
	// input is not known; buffers then grow by doubling as data arrives, so
	// memory stays proportional to the bytes actually read.
	unknownSizeChunk = 1 << 20
	// maxDeflateRatio bounds how much larger decompressed deflate data can
	// be than its compressed form (the format's limit is about 1032:1).
	maxDeflateRatio = 1040
)

// source is an opened, possibly decompressed input.
type source struct {
	r    io.Reader
	gz   *gzip.Reader // nil for raw input
	hint int64        // upper bound on the decoded bytes available; -1 if unknown
}

// openSource wraps r, transparently decompressing gzip input (magic 1f 8b;
// concatenated gzip members are read as one stream, as gunzip does).
// size is the number of bytes r holds, or -1 if unknown; it is used only to
// bound allocations.
func openSource(r io.Reader, size int64) (*source, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(2)
	if len(magic) == 0 {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("empty input: %w", ErrTruncated)
		}
		return nil, err
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip header: %w: %w", ErrFormat, err)
		}
		hint := int64(-1)
		if size >= 0 {
			hint = size * maxDeflateRatio
		}
		return &source{r: zr, gz: zr, hint: hint}, nil
	}
	return &source{r: br, hint: size}, nil
}

// ioProblem classifies a read error: an early end of data becomes
// ErrTruncated, a gzip problem ErrFormat; others are returned as is.
func ioProblem(err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("%w: unexpected end of data", ErrTruncated)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader):
		return fmt.Errorf("corrupt gzip stream: %w: %w", ErrFormat, err)
	default:
		var ce flate.CorruptInputError
		if errors.As(err, &ce) {
			return fmt.Errorf("corrupt gzip stream: %w: %w", ErrFormat, err)
		}
		return err
	}
}

// readFull reads exactly n bytes. The buffer starts no larger than the
// source's size hint (or unknownSizeChunk) and grows by doubling, so a
// header that lies about n cannot force a large allocation.
func (s *source) readFull(n int64) ([]byte, error) {
	c := n
	if lim := s.hint; lim < 0 {
		c = min(c, unknownSizeChunk)
	} else {
		c = min(c, max(lim, 0))
	}
	buf := make([]byte, 0, c)
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			nc := min(max(int64(cap(buf))*2, unknownSizeChunk), n)
			nb := make([]byte, len(buf), nc)
			copy(nb, buf)
			buf = nb
		}
		m, err := io.ReadFull(s.r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// expectEOF checks that the input ends here. For gzip input this also
// verifies the stream's CRC and length trailer.
func (s *source) expectEOF() error {
	var b [1]byte
	m, err := io.ReadFull(s.r, b[:])
	if m > 0 {
		return fmt.Errorf("trailing data after the declared contents: %w", ErrFormat)
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return ioProblem(err)
}

// fileSize returns the size of an opened regular file, or -1.
func fileSize(f *os.File) int64 {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return -1
	}
	return st.Size()
}
