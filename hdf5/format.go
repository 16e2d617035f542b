package hdf5

// Constants of the HDF5 file format used by both the encoder and the decoder.

// signature is the 8-byte format signature that starts the superblock.
const signature = "\x89HDF\r\n\x1a\n"

// Sizes of the fields Encode writes.
const (
	encOffsetSize = 8 // bytes per file address
	encLengthSize = 8 // bytes per length
)

// symbolEntryFixed is the size of a symbol table entry apart from its two
// addresses: cache type, reserved word and 16-byte scratch pad.
const symbolEntryFixed = 24

// undefAddr is the "undefined address" (all bits set) for 8-byte addresses.
const undefAddr = ^uint64(0)

// Structure sizes for 8-byte addresses and lengths, as Encode writes them.
const (
	superblockV0Size    = 96                                                     // version 0 superblock including the root symbol table entry
	groupLeafK          = 4                                                      // a symbol table node holds up to 2*groupLeafK entries
	groupInternalK      = 16                                                     // a group B-tree node holds up to 2*groupInternalK children
	symbolEntrySize     = 40                                                     // name offset, header address, cache type, reserved, 16-byte scratch pad
	snodHeaderSize      = 8                                                      // "SNOD", version, reserved, entry count
	snodSize            = snodHeaderSize + 2*groupLeafK*symbolEntrySize          // symbol table nodes are always allocated whole
	btreeV1HeaderSize   = 24                                                     // "TREE", type, level, entries, left and right siblings
	groupBTreeNodeSize  = btreeV1HeaderSize + (4*groupInternalK+1)*encOffsetSize // 2K children and 2K+1 keys of 8 bytes each
	localHeapHeaderSize = 32                                                     // "HEAP", version, reserved, data size, free list offset, data address
	objHeaderV1Prefix   = 16                                                     // version 1 object header prefix, padded to 8 bytes
	msgHeaderV1Size     = 8                                                      // type, size, flags, 3 reserved bytes
	maxMessageSize      = 0xffff                                                 // message sizes are 16-bit fields
	maxRank             = 32                                                     // the most dimensions a dataspace may have
)

// localHeapFreeNull is the free-list offset libhdf5 writes for a local heap
// without free blocks (offset 1 can never start an 8-aligned free block).
const localHeapFreeNull = 1

// B-tree version 1 node types.
const (
	btreeGroupNode = 0 // group nodes: children are symbol table nodes
	btreeChunkNode = 1 // raw data chunk nodes
)

// Symbol table entry cache types.
const (
	cacheNone = 0 // nothing cached in the scratch pad
	cacheStab = 1 // scratch pad holds the group's B-tree and local heap addresses
	cacheSoft = 2 // scratch pad holds a soft link's value offset
)

// Object header message types.
const (
	msgNil          = 0x00
	msgDataspace    = 0x01
	msgLinkInfo     = 0x02
	msgDatatype     = 0x03
	msgFillOld      = 0x04
	msgFill         = 0x05
	msgLink         = 0x06
	msgExternal     = 0x07
	msgLayout       = 0x08
	msgFilters      = 0x0b
	msgAttribute    = 0x0c
	msgContinuation = 0x10
	msgSymbolTable  = 0x11
	msgAttrInfo     = 0x15
)

// Object header message flags.
const (
	msgFlagConstant      = 0x01 // the message will not change
	msgFlagShared        = 0x02 // the message is stored elsewhere and shared
	msgFlagFailIfUnknown = 0x80 // fail to open if the type is unknown
)

// Datatype classes.
const (
	classFixed     = 0
	classFloat     = 1
	classTime      = 2
	classString    = 3
	classBitfield  = 4
	classOpaque    = 5
	classCompound  = 6
	classReference = 7
	classEnum      = 8
	classVlen      = 9
	classArray     = 10
)

// Data layout classes.
const (
	layoutCompact    = 0
	layoutContiguous = 1
	layoutChunked    = 2
	layoutVirtual    = 3
)

// String padding types (low 4 bits of a string datatype's bit field).
const (
	strNullPad  = 1
	strSpacePad = 2
)

// charsetUTF8 is the UTF-8 character set code of string datatypes.
const charsetUTF8 = 1

// Fill value message fields Encode writes (version 2).
const (
	fillVersion2    = 2
	fillAllocLate   = 2 // storage allocated when data is first written
	fillWriteIfSet  = 2 // fill values written only if the user set one
	fillDefined     = 1 // the default (zero) fill value applies
	layoutVersion3  = 3
	dataspaceV1     = 1
	attributeV1     = 1
	datatypeVersion = 1
	objHeaderV1     = 1
)

// vlenElemSize is the stored size of a variable-length element with 8-byte
// addresses: a 4-byte length, an 8-byte global heap collection address and a
// 4-byte object index.
const vlenElemSize = 16
