package wire

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"unsafe"

	"github.com/fxamacker/cbor/v2"
)

// Values travel as CBOR. A slice of fixed-size numbers travels as its raw
// little-endian bytes under the typed-array tag of RFC 8746, so that a
// large numeric result costs a copy, not an encoding per element.

// typedArrays maps the element kinds sent raw to their RFC 8746 tags.
var typedArrays = map[reflect.Kind]uint64{
	reflect.Uint16:  69,
	reflect.Uint32:  70,
	reflect.Uint64:  71,
	reflect.Uint:    71,
	reflect.Int8:    72,
	reflect.Int16:   77,
	reflect.Int32:   78,
	reflect.Int64:   79,
	reflect.Int:     79,
	reflect.Float32: 85,
	reflect.Float64: 86,
}

// tagTypes is the slice type a typed array becomes where the receiver
// expects any value at all.
var tagTypes = map[uint64]reflect.Type{
	69: reflect.TypeFor[[]uint16](),
	70: reflect.TypeFor[[]uint32](),
	71: reflect.TypeFor[[]uint64](),
	72: reflect.TypeFor[[]int8](),
	77: reflect.TypeFor[[]int16](),
	78: reflect.TypeFor[[]int32](),
	79: reflect.TypeFor[[]int64](),
	85: reflect.TypeFor[[]float32](),
	86: reflect.TypeFor[[]float64](),
}

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// numericSlice returns the typed-array tag of values of type t, if they
// travel raw.
func numericSlice(t reflect.Type) (uint64, bool) {
	if t == nil || t.Kind() != reflect.Slice {
		return 0, false
	}
	tag, ok := typedArrays[t.Elem().Kind()]
	return tag, ok
}

// refTag is the CBOR tag of a reference to a task (EncodeRef), from the
// range that RFC 8949 leaves to first come, first served.
const refTag = 55800

// EncodeRef encodes a reference to task id, which stands for its result.
func EncodeRef(id uint64) []byte {
	b, _ := encMode.Marshal(cbor.Tag{Number: refTag, Content: id}) // a uint64 always encodes
	return b
}

// DecodeRef returns the task that data refers to, if it is a reference.
func DecodeRef(data []byte) (uint64, bool) {
	var rt cbor.RawTag
	if err := decMode.Unmarshal(data, &rt); err != nil || rt.Number != refTag {
		return 0, false
	}
	var id uint64
	if err := decMode.Unmarshal(rt.Content, &id); err != nil {
		return 0, false
	}
	return id, true
}

// heldTag is the CBOR tag of a Held value.
const heldTag = 55801

// Held stands, in a message, for a value too large to travel in it: the
// process Holder keeps its encoding, of Size bytes, under Key, for the
// receiver to pull in pieces (see Pull). A value that is not Kept is
// pulled once, by the receiver, which then frees it; a Kept one is a
// task's result that stays on its worker for any number of pulls, until
// worker 1 frees it.
type Held struct {
	_      struct{} `cbor:",toarray"`
	Holder int
	Key    uint64
	Size   int64
	Kept   bool
	// Addr is where the holder streams its values (host:port), or "":
	// then the pieces come over NATS.
	Addr string
}

// EncodeHeld encodes h where the value would be.
func EncodeHeld(h Held) []byte {
	b, _ := encMode.Marshal(cbor.Tag{Number: heldTag, Content: h}) // always encodes
	return b
}

// DecodeHeld returns the Held that data is, if it is one.
func DecodeHeld(data []byte) (Held, bool) {
	var rt cbor.RawTag
	if err := decMode.Unmarshal(data, &rt); err != nil || rt.Number != heldTag {
		return Held{}, false
	}
	var h Held
	if err := decMode.Unmarshal(rt.Content, &h); err != nil || h.Size < 0 || h.Size > MaxValue {
		return Held{}, false
	}
	return h, true
}

// MaxValue is the largest encoded value that moves between processes.
const MaxValue = 1 << 34

// EncodeValue encodes a task's argument or result.
func EncodeValue(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if tag, ok := numericSlice(reflect.TypeOf(v)); ok && !rv.IsNil() {
		return encodeTypedArray(tag, rawBytes(rv))
	}
	b, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("a value of type %T cannot be sent to another worker: %w", v, err)
	}
	return b, nil
}

// typedArrayHead is the length of the head that encodeTypedArray writes
// before a typed array's bytes: a multiple of 8, so that the bytes of an
// encoding that starts on an 8-byte boundary start on one too, and may be
// used in place (see DecodeOwned).
const typedArrayHead = 8

// encodeTypedArray encodes raw, the bytes of a numeric slice, as a typed
// array (RFC 8746) with tag, in one allocation: the tag's head in three
// bytes (0xd9: a two-byte tag number, which CBOR allows) and the byte
// string's in five, for any value under 4 GiB.
func encodeTypedArray(tag uint64, raw []byte) ([]byte, error) {
	if uint64(len(raw)) >= 1<<32 {
		return encMode.Marshal(cbor.Tag{Number: tag, Content: raw})
	}
	out := make([]byte, typedArrayHead+len(raw))
	typedArrayHeadOf(out, tag, len(raw))
	copy(out[typedArrayHead:], raw)
	return out, nil
}

// TypedArray returns the encoding of v, when it is a numeric slice, in two
// parts: the head of its typed array, and the slice's own memory, which
// the encoding shares (on a little-endian machine; elsewhere a copy in
// that order). The parts followed one by the other are what EncodeValue
// returns.
func TypedArray(v any) ([][]byte, bool) {
	tag, ok := numericSlice(reflect.TypeOf(v))
	if !ok {
		return nil, false
	}
	rv := reflect.ValueOf(v)
	raw := rawBytes(rv)
	if rv.IsNil() || uint64(len(raw)) >= 1<<32 {
		return nil, false
	}
	head := make([]byte, typedArrayHead)
	typedArrayHeadOf(head, tag, len(raw))
	return [][]byte{head, raw}, true
}

// typedArrayHeadOf writes the head of a typed array of n bytes into head.
func typedArrayHeadOf(head []byte, tag uint64, n int) {
	head[0], head[1], head[2] = 0xd9, 0, byte(tag)
	head[3] = 2<<5 | 26 // a byte string, with a four-byte length
	binary.BigEndian.PutUint32(head[4:], uint32(n))
}

// rawBytes returns the little-endian bytes of a numeric slice.
func rawBytes(rv reflect.Value) []byte {
	size := int(rv.Type().Elem().Size())
	n := rv.Len() * size
	if n == 0 {
		return []byte{}
	}
	mem := unsafe.Slice((*byte)(rv.UnsafePointer()), n)
	if littleEndian {
		return mem
	}
	out := make([]byte, n)
	for i := 0; i < n; i += size {
		for j := range size {
			out[i+j] = mem[i+size-1-j]
		}
	}
	return out
}

// DecodeValue decodes a value encoded by EncodeValue into a value of type
// t, the parameter or result type that will hold it. A nil t means any.
func DecodeValue(data []byte, t reflect.Type) (any, error) { return decodeValue(data, t, false) }

// DecodeOwned is DecodeValue for data that the caller gives up: a numeric
// slice may be made over data's bytes instead of a copy of them.
func DecodeOwned(data []byte, t reflect.Type) (any, error) { return decodeValue(data, t, true) }

func decodeValue(data []byte, t reflect.Type, owned bool) (any, error) {
	if len(data) > MaxValue {
		return nil, fmt.Errorf("a value of %d bytes is over the limit of %d", len(data), MaxValue)
	}
	if t == nil || t.Kind() == reflect.Interface {
		var v any
		if err := decMode.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("a value that does not decode: %w", err)
		}
		if tag, ok := v.(cbor.Tag); ok {
			if st, ok := tagTypes[tag.Number]; ok {
				b, ok := tag.Content.([]byte)
				if !ok {
					return nil, fmt.Errorf("a typed array (tag %d) that is not a byte string", tag.Number)
				}
				return fromRaw(b, st, false)
			}
		}
		if t != nil && v != nil && !reflect.TypeOf(v).Implements(t) {
			return nil, fmt.Errorf("a value of type %T, which does not implement %v", v, t)
		}
		return v, nil
	}
	if tag, ok := numericSlice(t); ok {
		if b, ok := typedArrayBytes(data, tag); ok {
			return fromRaw(b, t, owned)
		}
		var rt cbor.RawTag
		if err := decMode.Unmarshal(data, &rt); err == nil {
			if rt.Number != tag {
				return nil, fmt.Errorf("a typed array with tag %d where %v (tag %d) was expected", rt.Number, t, tag)
			}
			var b []byte
			if err := decMode.Unmarshal(rt.Content, &b); err != nil {
				return nil, fmt.Errorf("a typed array whose content is not a byte string: %w", err)
			}
			return fromRaw(b, t, false)
		}
	}
	p := reflect.New(t)
	if err := decMode.Unmarshal(data, p.Interface()); err != nil {
		return nil, fmt.Errorf("a value that does not decode as %v: %w", t, err)
	}
	return p.Elem().Interface(), nil
}

// typedArrayBytes returns the bytes of a typed array with the given tag
// that is all of data, without a copy: the common case of a numeric slice
// that EncodeValue encoded, read without the decoder's copies.
func typedArrayBytes(data []byte, tag uint64) ([]byte, bool) {
	// The tag's head: major type 6, with the tag number (all typed-array
	// tags are below 256) in the next byte, or the next two.
	var head byte
	var rest []byte
	switch {
	case len(data) >= 3 && data[0] == 0xd8 && uint64(data[1]) == tag:
		head, rest = data[2], data[3:]
	case len(data) >= 4 && data[0] == 0xd9 && data[1] == 0 && uint64(data[2]) == tag:
		head, rest = data[3], data[4:]
	default:
		return nil, false
	}
	// The byte string's head: major type 2, with its length after it.
	if head>>5 != 2 {
		return nil, false
	}
	var n uint64
	switch info := head & 0x1f; {
	case info < 24:
		n = uint64(info)
	case info == 24 && len(rest) >= 1:
		n, rest = uint64(rest[0]), rest[1:]
	case info == 25 && len(rest) >= 2:
		n, rest = uint64(binary.BigEndian.Uint16(rest)), rest[2:]
	case info == 26 && len(rest) >= 4:
		n, rest = uint64(binary.BigEndian.Uint32(rest)), rest[4:]
	case info == 27 && len(rest) >= 8:
		n, rest = binary.BigEndian.Uint64(rest), rest[8:]
	default:
		return nil, false
	}
	if n != uint64(len(rest)) {
		return nil, false
	}
	return rest, true
}

// fromRaw makes a slice of type t from little-endian bytes. When inPlace
// is set and the bytes are aligned for t's elements, the slice is made
// over them, without a copy: the caller gives them up.
func fromRaw(b []byte, t reflect.Type, inPlace bool) (any, error) {
	size := int(t.Elem().Size())
	if len(b)%size != 0 {
		return nil, fmt.Errorf("a typed array of %d bytes, not a whole number of %d-byte %v", len(b), size, t.Elem())
	}
	if inPlace && littleEndian && len(b) > 0 && uintptr(unsafe.Pointer(&b[0]))%uintptr(t.Elem().Align()) == 0 {
		return reflect.SliceAt(t.Elem(), unsafe.Pointer(&b[0]), len(b)/size).Convert(t).Interface(), nil
	}
	s := reflect.MakeSlice(t, len(b)/size, len(b)/size)
	if len(b) > 0 {
		mem := unsafe.Slice((*byte)(s.UnsafePointer()), len(b))
		if littleEndian {
			copy(mem, b)
		} else {
			for i := 0; i < len(b); i += size {
				for j := range size {
					mem[i+j] = b[i+size-1-j]
				}
			}
		}
	}
	return s.Interface(), nil
}
