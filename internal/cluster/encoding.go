package cluster

// encoding is a held value's encoding, in parts that follow one another:
// a numeric slice is held as its typed array's head and the slice's own
// bytes, so that it is sent without a copy of them (see wire.TypedArray).
type encoding [][]byte

// size is the length of the whole.
func (e encoding) size() int64 {
	var n int64
	for _, p := range e {
		n += int64(len(p))
	}
	return n
}

// span returns the bytes [off, off+n) of the whole, as views of its parts.
func (e encoding) span(off, n int64) [][]byte {
	var out [][]byte
	for _, p := range e {
		if n == 0 {
			break
		}
		if off >= int64(len(p)) {
			off -= int64(len(p))
			continue
		}
		k := min(int64(len(p))-off, n)
		out = append(out, p[off:off+k])
		off, n = 0, n-k
	}
	return out
}

// bytes returns the whole in one slice: the only part, or a copy.
func (e encoding) bytes() []byte {
	if len(e) == 1 {
		return e[0]
	}
	out := make([]byte, 0, e.size())
	for _, p := range e {
		out = append(out, p...)
	}
	return out
}
