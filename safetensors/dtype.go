package safetensors

import (
	"encoding/binary"
	"math"
)

// dtypeInfo describes one dtype name of the safetensors format.
type dtypeInfo struct {
	size    int                             // bytes per element; 0 for sub-byte types
	convert func(dst []float32, src []byte) // nil if not convertible to float32
}

// lookupDType describes a dtype name of the safetensors format. Sub-byte
// types (F4, F6_*) are known but have size 0 and are always unsupported.
func lookupDType(name string) (info dtypeInfo, known bool) {
	switch name {
	case "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0":
		return dtypeInfo{size: 1}, true
	case "I16", "U16":
		return dtypeInfo{size: 2}, true
	case "F16":
		return dtypeInfo{size: 2, convert: convertF16}, true
	case "BF16":
		return dtypeInfo{size: 2, convert: convertBF16}, true
	case "I32", "U32":
		return dtypeInfo{size: 4}, true
	case "F32":
		return dtypeInfo{size: 4, convert: convertF32}, true
	case "F64":
		return dtypeInfo{size: 8, convert: convertF64}, true
	case "I64", "U64", "C64":
		return dtypeInfo{size: 8}, true
	case "F4", "F6_E2M3", "F6_E3M2":
		return dtypeInfo{size: 0}, true
	}
	return dtypeInfo{}, false
}

// convertF32 decodes little-endian IEEE-754 binary32 values.
func convertF32(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

// convertF64 decodes little-endian binary64 values, rounding to float32.
func convertF64(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
	}
}

// convertBF16 decodes bfloat16 values: the upper 16 bits of a binary32.
func convertBF16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
	}
}

// convertF16 decodes IEEE-754 binary16 values. The conversion is exact.
func convertF16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = halfToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// halfToFloat32 widens one binary16 value (1 sign, 5 exponent, 10 mantissa
// bits) to binary32, handling zeros, subnormals, infinities and NaNs (the
// NaN payload is kept in the top mantissa bits).
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal: rebias 15 → 127
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0: // ±0
		return math.Float32frombits(sign)
	default: // subnormal: value = mant · 2⁻²⁴, exact in float32
		v := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(v))
	}
}
