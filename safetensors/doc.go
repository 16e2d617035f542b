// Package safetensors reads and writes the safetensors tensor file format.
//
// # Overview
//
// A safetensors file is laid out as
//
//	bytes [0, 8)       N, the header length, a little-endian uint64
//	bytes [8, 8+N)     a JSON object, padded with trailing spaces
//	bytes [8+N, end)   the data buffer: raw little-endian tensor elements
//
// The JSON header maps each tensor name to
//
//	{"dtype": "F32", "shape": [d0, d1, …], "data_offsets": [begin, end]}
//
// where begin and end are byte offsets relative to the start of the data
// buffer, plus an optional "__metadata__" entry holding a string-to-string map.
//
// [Decode] and [ReadFile] accept the floating-point dtypes F32, F16, BF16 and
// F64 and convert every element to float32. Other dtypes defined by the format
// (integers, BOOL, 8-bit floats, …) are recognised, validated and then
// reported as unsupported with [ErrUnsupportedDType].
//
// [Encode] and [WriteFile] always write F32. Their output is deterministic:
// tensors are sorted by name, laid out contiguously in that order, every JSON
// object in the header has its keys sorted and no insignificant whitespace,
// and the header is padded with spaces to a multiple of 8 bytes. The same
// [File] therefore always produces the same bytes. Strings are escaped the
// way Python's json module escapes them by default, so the header equals
// json.dumps(header, sort_keys=True, separators=(",", ":")) padded with
// spaces, and a hand-rolled Python writer following these rules produces
// byte-identical files.
//
// # Error handling
//
// Malformed input never panics. Every error returned by [Decode] wraps
// [ErrFormat] (the bytes do not form a valid safetensors file),
// [ErrUnsupportedDType] (the file is valid but holds a dtype this package does
// not convert), or an I/O error from the underlying reader; test with
// [errors.Is]. Messages name the offending tensor where there is one, and
// [ReadFile] and [WriteFile] prefix errors with the file path.
//
// Decode never allocates much more than the input it has actually read: the
// header is limited to [MaxHeaderBytes] and to the declared size, and tensor
// data is read in bounded chunks, so a header that claims gigabytes of data
// in a short stream fails with a truncation error after a small allocation.
//
// [Encode] validates the whole [File] (distinct valid UTF-8 names other than
// "__metadata__"; non-negative shapes whose element count equals len(Data))
// before it writes a single byte, so an invalid File never produces partial
// output.
// [WriteFile] additionally writes to a temporary file in the destination
// directory, syncs it and renames it over the destination, so the
// destination is either untouched or holds the complete new file.
//
// # Concurrency
//
// The functions of this package hold no shared state and may be called
// concurrently. A [File] is a plain value: concurrent reads, including
// [File.Get], are safe; mutating a File while another goroutine reads or
// encodes it is not.
package safetensors
