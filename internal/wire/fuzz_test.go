package wire

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// The fuzz targets feed bytes from the network to each decoder: none may
// panic, and what decodes must encode again.

// reencodes decodes data as an M, and fails t if what it decoded does not
// encode.
func reencodes[M any](t *testing.T, data []byte) {
	if m, err := Decode[M](data); err == nil {
		if _, err := Encode(m); err != nil {
			t.Fatalf("a decoded %T does not encode: %v", *m, err)
		}
	}
}

func FuzzDecodeOrder(f *testing.F) {
	arg, _ := EncodeValue([]float64{1, 2})
	for _, o := range []Order{
		{Submit: &Submit{Task: 1, Func: "main.f", Args: []cbor.RawMessage{arg}, Timeout: time.Second}},
		{Submit: &Submit{Task: 3, Func: "main.f", Scoped: &Scoped{Name: "n", Retries: 2, Priority: 3, Occupancy: 0.5,
			Scope: []Block{{Workers: []int{2, 3}}, {Threads: []int{1}}, {Workers: []int{4}, Threads: []int{2, 5}}}}}},
		{Submit: &Submit{Task: 4, Func: "main.f", Scoped: &Scoped{Nowhere: true, Timeout: time.Hour}}},
		{Cancel: &Cancel{Task: 2, Reason: KindDeadline}},
		{Stop: true},
		{Result: &Result{Task: 5, Err: &Error{Kind: KindError, Msg: "flaky", Task: "main.f", Origin: 2, Tries: 3}}},
	} {
		b, _ := Encode(o)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reencodes[Order](t, data)
	})
}

func FuzzDecodeDone(f *testing.F) {
	res, _ := EncodeValue("ok")
	for _, d := range []Done{
		{Task: 1, Worker: 2, Result: res},
		{Task: 1, Worker: 2, Err: &Error{Kind: KindPanic, Msg: "boom", Stack: "s"}},
		{Task: 1, Worker: 2, Err: &Error{Kind: KindDeadline, Msg: "timed out", Tries: 4}},
		{Task: 1, Worker: 2, Err: &Error{Msg: "flaky", Tries: MaxTries}},
	} {
		b, _ := Encode(d)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reencodes[Done](t, data)
	})
}

func FuzzDecodeHello(f *testing.F) {
	b, _ := Encode(Hello{Run: "r", Worker: 2, PID: 10, Procs: 2, Registry: []Func{{"main.f", "func(int) int"}}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Decode[Hello](data)
		_, _ = Decode[Welcome](data)
		_, _ = Decode[Gone](data)
		reencodes[Beat](t, data)
	})
}

func FuzzDecodeValue(f *testing.F) {
	for _, v := range []any{1, "s", []float64{1}, []int{1, 2}, point{X: 1}, map[string]int{"a": 1}} {
		b, _ := EncodeValue(v)
		f.Add(b)
	}
	types := []reflect.Type{nil, reflect.TypeFor[int](), reflect.TypeFor[string](), reflect.TypeFor[[]float64](),
		reflect.TypeFor[[]int](), reflect.TypeFor[point](), reflect.TypeFor[map[string]int](), reflect.TypeFor[error]()}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ty := range types {
			for _, decode := range []func([]byte, reflect.Type) (any, error){DecodeValue, DecodeOwned} {
				v, err := decode(slices.Clone(data), ty)
				if err != nil || ty == nil || v == nil {
					continue
				}
				if ty.Kind() != reflect.Interface && reflect.TypeOf(v) != ty {
					t.Fatalf("decoding into %v gave a %T", ty, v)
				}
			}
		}
	})
}

func FuzzDecodeUp(f *testing.F) {
	arg, _ := EncodeValue(3)
	for _, u := range []Up{
		{Spawn: &Spawn{Task: TaskID(2, 1), From: 2, Func: "main.f", Args: []cbor.RawMessage{arg, EncodeRef(7)}, Workers: []int{2, 3}}},
		{Spawn: &Spawn{Task: TaskID(2, 2), From: 2, Func: "main.f", Retries: 1, TimeUtil: time.Second, GetResult: true,
			Scoped: &Scoped{Name: "n", Single: 3, Scope: []Block{{Workers: []int{3}, Threads: []int{2}}}, RunOnce: true}}},
		{Done: &Done{Task: 2, Worker: 3, Err: &Error{Kind: KindPanic, Msg: "boom", Tries: 2, Origin: 4}}},
		{Watch: &Watch{Task: 7, From: 3}},
		{Release: &Watch{Task: TaskID(2, 9), From: 2}},
		{Cancel: &Cancel{Task: 7, Reason: KindCanceled}},
		{Done: &Done{Task: 1, Worker: 2, Result: EncodeHeld(Held{Holder: 2, Key: 1, Size: 1 << 20})}},
		{Events: &Events{From: 2, Events: []LogEvent{{Kind: 1, Task: TaskID(2, 1), Time: 1, Name: "main.f", Deps: []uint64{7}},
			{Kind: 3, Task: TaskID(2, 1), Time: 2, Proc: 1, Occ: 1 << 20}, {Kind: 4, Task: TaskID(2, 1), Time: 3, Outcome: 2, Origin: 7}}}},
	} {
		b, _ := Encode(u)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reencodes[Up](t, data)
		_, _ = DecodeRef(data)
		_, _ = DecodeHeld(data)
		_, _ = Decode[Pull](data)
	})
}

func FuzzDecodeAsk(f *testing.F) {
	for _, m := range []any{Ask{}, Ask{Remove: 3}, Answer{Workers: []int{1, 2, 3}}, Answer{Err: "no such worker"}} {
		b, _ := Encode(m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reencodes[Ask](t, data)
		reencodes[Answer](t, data)
	})
}
