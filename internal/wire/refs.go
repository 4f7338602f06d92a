package wire

import "encoding/binary"

// RefsIn returns the task references (see EncodeRef) that the encoded
// value data holds, at any depth, once per occurrence. It reads item heads
// only: a byte string (a typed array, say) is skipped whole, so a value of
// a few large arrays costs as much as a small one. What follows a
// malformed or indefinite-length part is not read; the values this package
// encodes have none.
func RefsIn(data []byte) []uint64 {
	var refs []uint64
	pending := 1 // items still to read
	for pending > 0 && len(data) > 0 {
		major, arg, n, ok := head(data)
		if !ok {
			return refs
		}
		data = data[n:]
		switch major {
		case 0, 1, 7: // integers, simple values, floats
			pending--
		case 2, 3: // byte and text strings
			if arg > uint64(len(data)) {
				return refs
			}
			data = data[arg:]
			pending--
		case 4, 5: // arrays and maps: arg items, or pairs of them
			if major == 5 {
				if arg > uint64(len(data)) {
					return refs
				}
				arg *= 2
			}
			// Every item takes a byte at least.
			if arg > uint64(len(data)) {
				return refs
			}
			pending += int(arg) - 1
		case 6: // a tag: its content is the item
			if arg != refTag {
				continue
			}
			cm, id, cn, ok := head(data)
			if !ok || cm != 0 {
				return refs
			}
			data = data[cn:]
			refs = append(refs, id)
			pending--
		}
	}
	return refs
}

// head reads the head of a CBOR item: its major type, its argument (a
// length, a count, a tag number or a value) and the head's size. It
// reports false for a truncated head and for an indefinite length.
func head(data []byte) (major byte, arg uint64, n int, ok bool) {
	if len(data) == 0 {
		return 0, 0, 0, false
	}
	major, ai := data[0]>>5, data[0]&0x1f
	switch {
	case ai < 24:
		return major, uint64(ai), 1, true
	case ai == 24 && len(data) >= 2:
		return major, uint64(data[1]), 2, true
	case ai == 25 && len(data) >= 3:
		return major, uint64(binary.BigEndian.Uint16(data[1:])), 3, true
	case ai == 26 && len(data) >= 5:
		return major, uint64(binary.BigEndian.Uint32(data[1:])), 5, true
	case ai == 27 && len(data) >= 9:
		return major, binary.BigEndian.Uint64(data[1:]), 9, true
	}
	return 0, 0, 0, false
}
