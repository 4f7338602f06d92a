package wire

import (
	"slices"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// refOf is a value that encodes as a reference, as a *Task does.
type refOf uint64

func (r refOf) MarshalCBOR() ([]byte, error) { return EncodeRef(uint64(r)), nil }

func TestRefsIn(t *testing.T) {
	type pair struct {
		A    refOf
		B    []refOf
		Note string
		M    map[string]any
	}
	for _, c := range []struct {
		name string
		v    any
		want []uint64
	}{
		{"none", map[string]any{"a": 1, "b": []float64{1, 2}}, nil},
		{"alone", refOf(7), []uint64{7}},
		{"large id", refOf(1<<63 + 5), []uint64{1<<63 + 5}},
		{"nested, repeated", pair{A: 1, B: []refOf{2, 1}, Note: "x", M: map[string]any{"k": refOf(3), "f": -1.5}}, []uint64{1, 2, 1, 3}},
		{"beside a typed array", []any{[]int64{55800, 55800}, refOf(9), cbor.Tag{Number: 99, Content: refOf(4)}}, []uint64{9, 4}},
	} {
		data, err := EncodeValue(c.v)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := RefsIn(data)
		slices.Sort(got)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: RefsIn = %v, want %v", c.name, got, want)
		}
	}
	// A typed array's bytes are skipped, even where they hold a
	// reference's encoding.
	raw := EncodeRef(5)
	data, _ := EncodeValue(raw)
	if got := RefsIn(data); len(got) != 0 {
		t.Errorf("RefsIn of a byte string holding a reference = %v", got)
	}
	// Malformed input stops the walk.
	for _, bad := range [][]byte{nil, {0xd9}, {0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x5a, 0, 0, 1, 0}, {0xd9, 0xd7, 0xf8, 0x61, 0x61}, {0xd9, 0xd7, 0xf8}} {
		if got := RefsIn(bad); len(got) != 0 {
			t.Errorf("RefsIn(% x) = %v", bad, got)
		}
	}
}

func FuzzRefsIn(f *testing.F) {
	for _, v := range []any{refOf(1), []any{refOf(2), "s", []float64{1}}, map[string]any{"r": refOf(3)}} {
		b, _ := EncodeValue(v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Each reference takes two bytes at least.
		if refs := RefsIn(data); len(refs) > len(data)/2 {
			t.Fatalf("%d references in %d bytes", len(refs), len(data))
		}
	})
}
