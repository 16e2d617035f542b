package hdf5

import "fmt"

// Object header format constants.
const (
	objHeaderV2            = 2
	ohdrFlagSizeMask       = 0x03    // bits 0-1: size of the chunk #0 size field (1 << value bytes)
	ohdrFlagCreationOrder  = 0x04    // messages carry a 2-byte creation order
	ohdrFlagAttrPhase      = 0x10    // attribute storage phase change values present
	ohdrFlagTimes          = 0x20    // access, modification, change and birth times present
	ohdrTimesSize          = 16      // four 32-bit times
	ohdrAttrPhaseSize      = 4       // two 16-bit values
	msgHeaderV2Size        = 4       // type, size, flags
	checksumSize           = 4       // Jenkins lookup3 checksum
	maxHeaderChunks        = 1 << 16 // continuation chunks of one object header
	continuationSignature  = "OCHK"
	objHeaderV2Signature   = "OHDR"
	objHeaderV1PrefixBytes = 12 // version, reserved, message count, reference count, chunk size
)

// hdrMsg is one object header message.
type hdrMsg struct {
	typ   uint16
	flags uint8
	data  []byte
	addr  uint64 // file address of data
}

// objHeader is a parsed object header.
type objHeader struct {
	addr    uint64
	version int
	flags   uint8 // version 2 header flags
	msgs    []hdrMsg
}

// has reports whether h holds a message of type typ.
func (h *objHeader) has(typ uint16) bool { return h.find(typ) != nil }

// find returns the first message of type typ, or nil.
func (h *objHeader) find(typ uint16) *hdrMsg {
	for i := range h.msgs {
		if h.msgs[i].typ == typ {
			return &h.msgs[i]
		}
	}
	return nil
}

// isGroup reports whether h describes a group.
func (h *objHeader) isGroup() bool {
	return h.has(msgSymbolTable) || h.has(msgLinkInfo) || h.has(msgLink)
}

// chunkRef is an object header chunk to parse.
type chunkRef struct{ addr, size uint64 }

// objectHeader parses (once; later calls return the cached result) the
// object header at addr with all its continuation chunks.
func (d *decoder) objectHeader(addr uint64) (*objHeader, error) {
	if h, ok := d.headers[addr]; ok {
		return h, nil
	}
	h, err := d.parseObjectHeader(addr)
	if err != nil {
		return nil, fmt.Errorf("object header at 0x%x: %w", addr, err)
	}
	for _, m := range h.msgs {
		if m.flags&msgFlagShared != 0 {
			return nil, fmt.Errorf("object header at 0x%x: %w", addr, errorf(ErrUnsupported, "shared message of type %d", m.typ))
		}
		if m.flags&msgFlagFailIfUnknown != 0 && !knownMessage(m.typ) {
			return nil, fmt.Errorf("object header at 0x%x: %w", addr, errorf(ErrUnsupported, "message type 0x%x marked as required", m.typ))
		}
	}
	d.headers[addr] = h
	return h, nil
}

// knownMessage reports whether Decode interprets or may safely ignore
// messages of type typ.
func knownMessage(typ uint16) bool {
	return typ <= msgAttrInfo+1 // up to the object reference count message
}

// parseObjectHeader parses the object header at addr.
func (d *decoder) parseObjectHeader(addr uint64) (*objHeader, error) {
	p, err := d.rest(addr)
	if err != nil {
		return nil, err
	}
	h := &objHeader{addr: addr}
	var queue []chunkRef
	switch {
	case len(p) >= 4 && string(p[:4]) == objHeaderV2Signature:
		h.version = objHeaderV2
		queue, err = d.headerV2(h, p)
	case len(p) >= 1 && p[0] == objHeaderV1:
		h.version = objHeaderV1
		queue, err = d.headerV1(h, p)
	case len(p) == 0:
		err = errorf(ErrFormat, "truncated")
	default:
		err = errorf(ErrUnsupported, "object header version %d", p[0])
	}
	if err != nil {
		return nil, err
	}
	seen := map[uint64]bool{addr: true}
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		if seen[ref.addr] {
			return nil, errorf(ErrFormat, "continuation chunk at 0x%x referenced twice", ref.addr)
		}
		seen[ref.addr] = true
		if len(seen) > maxHeaderChunks {
			return nil, errorf(ErrFormat, "more than %d continuation chunks", maxHeaderChunks)
		}
		more, err := d.continuation(h, ref)
		if err != nil {
			return nil, fmt.Errorf("continuation chunk at 0x%x: %w", ref.addr, err)
		}
		queue = append(queue, more...)
	}
	return h, nil
}

// headerV1 parses the prefix and first chunk of a version 1 object header.
func (d *decoder) headerV1(h *objHeader, p []byte) ([]chunkRef, error) {
	c := d.newCursor(p)
	c.skip(2) // version, reserved
	c.u16()   // message count: all chunks are parsed whole instead
	c.u32()   // reference count
	size := c.u32()
	c.skip(objHeaderV1Prefix - objHeaderV1PrefixBytes)
	chunk := c.bytes(int(size))
	if c.err != nil {
		return nil, c.err
	}
	return d.messagesV1(h, chunk, h.addr+objHeaderV1Prefix)
}

// messagesV1 parses the version 1 messages of one chunk that starts at
// file address addr.
func (d *decoder) messagesV1(h *objHeader, chunk []byte, addr uint64) ([]chunkRef, error) {
	c := d.newCursor(chunk)
	var refs []chunkRef
	for c.left() >= msgHeaderV1Size {
		typ := c.u16()
		size := c.u16()
		flags := c.u8()
		c.skip(3) // reserved
		at := addr + uint64(c.pos)
		data := c.bytes(int(size))
		if c.err != nil {
			return nil, fmt.Errorf("message of type 0x%x at 0x%x: %w", typ, at, c.err)
		}
		ref, err := d.addMessage(h, typ, flags, data, at)
		if err != nil {
			return nil, err
		}
		refs = append(refs, ref...)
	}
	return refs, nil
}

// addMessage records one message, or returns the chunk a continuation
// message points to.
func (d *decoder) addMessage(h *objHeader, typ uint16, flags uint8, data []byte, at uint64) ([]chunkRef, error) {
	if typ == msgNil {
		return nil, nil
	}
	if typ != msgContinuation {
		h.msgs = append(h.msgs, hdrMsg{typ: typ, flags: flags, data: data, addr: at})
		return nil, nil
	}
	c := d.newCursor(data)
	ref := chunkRef{addr: c.addr(), size: c.length()}
	if c.err != nil {
		return nil, fmt.Errorf("continuation message at 0x%x: %w", at, c.err)
	}
	return []chunkRef{ref}, nil
}

// headerV2 parses the prefix and first chunk of a version 2 object header.
func (d *decoder) headerV2(h *objHeader, p []byte) ([]chunkRef, error) {
	c := d.newCursor(p)
	c.skip(len(objHeaderV2Signature))
	version, flags := c.u8(), c.u8()
	if c.err == nil && version != objHeaderV2 {
		return nil, errorf(ErrUnsupported, "OHDR version %d", version)
	}
	if flags&ohdrFlagTimes != 0 {
		c.skip(ohdrTimesSize)
	}
	if flags&ohdrFlagAttrPhase != 0 {
		c.skip(ohdrAttrPhaseSize)
	}
	size := c.uint(1 << (flags & ohdrFlagSizeMask))
	if c.err != nil {
		return nil, c.err
	}
	if size > uint64(c.left()) {
		return nil, errorf(ErrFormat, "chunk size %d exceeds the file", size)
	}
	start := c.pos
	c.skip(int(size))
	end := c.pos
	sum := c.u32()
	if c.err != nil {
		return nil, c.err
	}
	if got := checksum(p[:end]); got != sum {
		return nil, errorf(ErrChecksum, "object header checksum 0x%08x, computed 0x%08x", sum, got)
	}
	h.flags = flags
	return d.messagesV2(h, flags, p[start:end], h.addr+uint64(start))
}

// messagesV2 parses the version 2 messages of one chunk that starts at
// file address addr; flags are the object header's flags.
func (d *decoder) messagesV2(h *objHeader, flags uint8, chunk []byte, addr uint64) ([]chunkRef, error) {
	c := d.newCursor(chunk)
	hdrSize := msgHeaderV2Size
	if flags&ohdrFlagCreationOrder != 0 {
		hdrSize += 2
	}
	var refs []chunkRef
	for c.left() >= hdrSize {
		typ := c.u8()
		size := c.u16()
		mflags := c.u8()
		if flags&ohdrFlagCreationOrder != 0 {
			c.skip(2) // creation order
		}
		at := addr + uint64(c.pos)
		data := c.bytes(int(size))
		if c.err != nil {
			return nil, fmt.Errorf("message of type 0x%x at 0x%x: %w", typ, at, c.err)
		}
		ref, err := d.addMessage(h, uint16(typ), mflags, data, at)
		if err != nil {
			return nil, err
		}
		refs = append(refs, ref...)
	}
	return refs, nil
}

// continuation parses one continuation chunk.
func (d *decoder) continuation(h *objHeader, ref chunkRef) ([]chunkRef, error) {
	p, err := d.slice(ref.addr, ref.size)
	if err != nil {
		return nil, err
	}
	if h.version == objHeaderV1 {
		return d.messagesV1(h, p, ref.addr)
	}
	if len(p) < len(continuationSignature)+checksumSize || string(p[:4]) != continuationSignature {
		return nil, errorf(ErrFormat, "bad continuation chunk signature")
	}
	end := len(p) - checksumSize
	if sum, got := le.Uint32(p[end:]), checksum(p[:end]); got != sum {
		return nil, errorf(ErrChecksum, "continuation chunk checksum 0x%08x, computed 0x%08x", sum, got)
	}
	return d.messagesV2(h, h.flags, p[4:end], ref.addr+4)
}
