package wire

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

type point struct {
	X, Y float64
	Tag  string
}

func TestValueRoundTrip(t *testing.T) {
	for _, v := range []any{
		42, int64(-7), uint8(200), 3.5, "text", true,
		[]float64{1.5, -2, math.Inf(1)}, []int{1, 2, 3}, []int32{-1, 1 << 30}, []float32{0.25},
		[]uint16{65535}, []int8{-128}, []byte("raw"), []float64{},
		point{1, 2, "p"}, []point{{X: 1}}, map[string]int{"a": 1},
		[]string{"x", "y"}, &point{X: 3},
	} {
		data, err := EncodeValue(v)
		if err != nil {
			t.Fatalf("EncodeValue(%#v): %v", v, err)
		}
		got, err := DecodeValue(data, reflect.TypeOf(v))
		if err != nil {
			t.Fatalf("DecodeValue(%#v): %v", v, err)
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("round trip of %#v gave %#v", v, got)
		}
	}
}

func TestNumericSlicesTravelRaw(t *testing.T) {
	v := make([]float64, 1000)
	data, err := EncodeValue(v)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 8*len(v)+16 {
		t.Fatalf("%d float64s took %d bytes, want at most %d", len(v), len(data), 8*len(v)+16)
	}
	// Where the receiver takes any value, the typed array becomes the
	// slice its tag names.
	got, err := DecodeValue(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, v) {
		t.Fatalf("decoding into any gave %T", got)
	}
	if _, err := DecodeValue(data, reflect.TypeFor[[]int32]()); err == nil {
		t.Fatal("a []float64 decoded into []int32")
	}
}

// TestDecodeOwnedInPlace: a numeric slice decoded from bytes the caller
// gives up is made over them; DecodeValue copies. Both read the standard
// encoding of a typed array too, and the generic decoder reads ours.
func TestDecodeOwnedInPlace(t *testing.T) {
	type vec []float64
	v := vec{1, 2, 3, 4}
	data, err := EncodeValue(v)
	if err != nil {
		t.Fatal(err)
	}
	payload := data[len(data)-8*len(v):]
	owned, err := DecodeOwned(data, reflect.TypeFor[vec]())
	if err != nil {
		t.Fatal(err)
	}
	copied, err := DecodeValue(data, reflect.TypeFor[vec]())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(owned, v) || !reflect.DeepEqual(copied, v) {
		t.Fatalf("decoded %v and %v, want %v", owned, copied, v)
	}
	payload[7] = 0x40 // the high byte of 1.0: it is 1 no more
	if owned.(vec)[0] == 1 || copied.(vec)[0] != 1 {
		t.Fatalf("after a change of the bytes: owned %v, copied %v", owned.(vec)[0], copied.(vec)[0])
	}
	std, err := encMode.Marshal(cbor.Tag{Number: 86, Content: payload})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeOwned(std, reflect.TypeFor[[]float64]()); err != nil || len(got.([]float64)) != 4 {
		t.Fatalf("the standard encoding decoded to %v, %v", got, err)
	}
	var generic any
	if err := decMode.Unmarshal(data, &generic); err != nil {
		t.Fatalf("the generic decoder refuses our encoding: %v", err)
	}
}

// TestTypedArrayParts: the parts of a numeric slice's encoding are
// EncodeValue's encoding, and the second is the slice's own memory.
func TestTypedArrayParts(t *testing.T) {
	v := []int32{1, -2, 3}
	parts, ok := TypedArray(v)
	if !ok || len(parts) != 2 {
		t.Fatalf("TypedArray gave %d parts, %v", len(parts), ok)
	}
	want, _ := EncodeValue(v)
	if got := append(append([]byte(nil), parts[0]...), parts[1]...); !bytes.Equal(got, want) {
		t.Fatalf("parts %x, want %x", got, want)
	}
	if littleEndian {
		v[0] = 9
		if parts[1][0] != 9 {
			t.Fatal("the second part is a copy of the slice")
		}
	}
	if _, ok := TypedArray([]string{"x"}); ok {
		t.Fatal("TypedArray of a []string")
	}
}

func TestValueErrors(t *testing.T) {
	if _, err := EncodeValue(func() {}); err == nil || !strings.Contains(err.Error(), "func()") {
		t.Fatalf("encoding a func: %v, want an error naming its type", err)
	}
	data, _ := EncodeValue("text")
	if _, err := DecodeValue(data, reflect.TypeFor[int]()); err == nil || !strings.Contains(err.Error(), "int") {
		t.Fatalf("a string decoded into int: %v", err)
	}
	if _, err := DecodeValue([]byte{0xff, 0x00}, reflect.TypeFor[int]()); err == nil {
		t.Fatal("garbage decoded")
	}
	odd, _ := cbor.Marshal(cbor.Tag{Number: 86, Content: []byte{1, 2, 3}})
	if _, err := DecodeValue(odd, reflect.TypeFor[[]float64]()); err == nil {
		t.Fatal("3 bytes decoded as float64s")
	}
}

func TestMessagesRoundTrip(t *testing.T) {
	arg, _ := EncodeValue(7)
	order := Order{Submit: &Submit{Task: 9, Func: "main.add", Args: []cbor.RawMessage{arg}, Thread: 2, Occupancy: 0.5, Priority: -3, Timeout: time.Second}}
	data, err := Encode(order)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode[Order](data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, order) {
		t.Fatalf("got %+v, want %+v", got.Submit, order.Submit)
	}
	done := Done{Task: 9, Worker: 2, Thread: 1, Err: &Error{Kind: KindPanic, Msg: "boom", Stack: "main.f()", Task: "f", Origin: 2, Tries: 3}}
	data, _ = Encode(done)
	gotDone, err := Decode[Done](data)
	if err != nil || !reflect.DeepEqual(*gotDone, done) {
		t.Fatalf("Done round trip: %+v, %v", gotDone, err)
	}
}

// TestScopedRoundTrip: the scoped options of a context travel whole, in a
// Submit and in a Spawn; values the program gave that no task could take
// travel too (the worker's spawn says what is wrong with them).
func TestScopedRoundTrip(t *testing.T) {
	scoped := &Scoped{Name: "n", Single: -1, Scope: []Block{{Workers: []int{2, 3}}, {Threads: []int{1}}, {Workers: []int{4}, Threads: []int{2, 5}}, {}},
		Occupancy: 2, TimeUtil: time.Second, AllocUtil: 1 << 20, GetResult: true, Persist: true, Cache: true, AllowError: true,
		Retries: -1, Timeout: time.Hour, Priority: -4, WorkerDeaths: 2, RunOnce: true}
	order := Order{Submit: &Submit{Task: 9, Func: "main.add", Scoped: scoped}}
	data, err := Encode(order)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode[Order](data)
	if err != nil || !reflect.DeepEqual(*got, order) {
		t.Fatalf("Submit round trip: %+v, %v", got, err)
	}
	up := Up{Spawn: &Spawn{Task: TaskID(2, 1), From: 2, Func: "main.add", TimeUtil: time.Minute, AllocUtil: 7, GetResult: true, Persist: true,
		Scoped: &Scoped{Nowhere: true}, Within: time.Hour}}
	data, err = Encode(up)
	if err != nil {
		t.Fatal(err)
	}
	gotUp, err := Decode[Up](data)
	if err != nil || !reflect.DeepEqual(*gotUp, up) {
		t.Fatalf("Spawn round trip: %+v, %v", gotUp.Spawn, err)
	}
}

// TestBadTriesAndScopes: an Error whose tries are negative or absurd, or
// scoped options whose scope is not a set of processors, are refused,
// with an error that says what and where.
func TestBadTriesAndScopes(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  any
		want string
	}{
		{"negative tries", Up{Done: &Done{Task: 3, Worker: 2, Err: &Error{Msg: "x", Tries: -1}}}, "the end of task 3 on worker 2: a failure after -1 tries"},
		{"absurd tries", Up{Done: &Done{Task: 3, Worker: 2, Err: &Error{Msg: "x", Tries: MaxTries + 1}}}, fmt.Sprintf("a failure after %d tries", MaxTries+1)},
		{"kind", Up{Done: &Done{Task: 3, Worker: 2, Err: &Error{Kind: 9}}}, "unknown kind of failure 9"},
		{"tries in a result", Order{Result: &Result{Task: 5, Err: &Error{Msg: "x", Tries: -3}}}, "the result of task 5: a failure after -3 tries"},
		{"kind in a result", Order{Result: &Result{Task: 5, Err: &Error{Kind: 7}}}, "the result of task 5: unknown kind of failure 7"},
		{"worker 0", Order{Submit: &Submit{Task: 4, Func: "main.f", Scoped: &Scoped{Scope: []Block{{Workers: []int{0, 2}}}}}},
			"task 4 of main.f: block 1 of 1 of the scope of scoped options: workers [0 2] do not increase from 1"},
		{"processors repeated", Up{Spawn: &Spawn{Task: TaskID(2, 1), From: 2, Func: "main.f", Scoped: &Scoped{Scope: []Block{{}, {Threads: []int{2, 2}}}}}},
			"spawn of main.f: block 2 of 2 of the scope of scoped options: processors [2 2] do not increase from 1"},
		{"nowhere and blocks", Order{Submit: &Submit{Task: 4, Func: "main.f", Scoped: &Scoped{Nowhere: true, Scope: []Block{{}}}}},
			"whose scope allows no processor, and 1 blocks"},
		{"time to a deadline", Up{Spawn: &Spawn{Task: TaskID(2, 1), From: 2, Func: "main.f", Within: -time.Second}},
			"spawn of main.f: negative time -1s to its spawner's deadline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := Encode(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			switch tc.msg.(type) {
			case Up:
				_, err = Decode[Up](data)
			default:
				_, err = Decode[Order](data)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
	for _, tries := range []int{0, 1, 2, MaxTries} {
		data, _ := Encode(Up{Done: &Done{Task: 3, Worker: 2, Err: &Error{Msg: "x", Tries: tries}}})
		if _, err := Decode[Up](data); err != nil {
			t.Errorf("a failure after %d tries: %v", tries, err)
		}
	}
}

func TestBadMessages(t *testing.T) {
	enc := func(v any) []byte {
		b, err := Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty order", enc(Order{}), "one thing"},
		{"two things", enc(Order{Stop: true, Cancel: &Cancel{Task: 1, Reason: KindCanceled}}), "one thing"},
		{"no function", enc(Order{Submit: &Submit{Task: 1}}), "no function"},
		{"occupancy", enc(Order{Submit: &Submit{Task: 1, Func: "f", Occupancy: 2}}), "occupancy"},
		{"reason", enc(Order{Cancel: &Cancel{Task: 1, Reason: 9}}), "reason"},
		{"unknown field", enc(map[int]int{99: 1}), "does not decode"},
		{"garbage", []byte{0xbf, 0x01}, "does not decode"},
		{"oversized", bytes.Repeat([]byte{0}, MaxMessage+1), "over the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode[Order](tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestBadReports: what a worker reports about its tasks (events, bytes
// pulled, processors) is refused when it is out of bounds, or names
// another process's task, with an error that says which.
func TestBadReports(t *testing.T) {
	ev := func(mod func(*LogEvent)) *Events {
		e := LogEvent{Kind: 1, Task: TaskID(2, 1), Time: 1, Name: "main.f"}
		mod(&e)
		return &Events{From: 2, Events: []LogEvent{e}}
	}
	for _, tc := range []struct {
		name string
		up   Up
		want string
	}{
		{"another's task", Up{Events: ev(func(e *LogEvent) { e.Task = 7 })}, "task 7 is not one of worker 2's"},
		{"kind", Up{Events: ev(func(e *LogEvent) { e.Kind = 5 })}, "event 1 of 1 from worker 2: kind 5"},
		{"outcome", Up{Events: ev(func(e *LogEvent) { e.Outcome = 4 })}, "outcome 4"},
		{"processor", Up{Events: ev(func(e *LogEvent) { e.Proc = -2 })}, "processor -2"},
		{"occupancy", Up{Events: ev(func(e *LogEvent) { e.Occ = fullOcc + 1 })}, "more than a whole processor"},
		{"time", Up{Events: ev(func(e *LogEvent) { e.Time = 0 })}, "time 0"},
		{"name", Up{Events: ev(func(e *LogEvent) { e.Name = strings.Repeat("x", maxEventName+1) })}, "a name of"},
		{"deps", Up{Events: ev(func(e *LogEvent) { e.Deps = make([]uint64, maxEventDeps+1) })}, "dependencies"},
		{"too many", Up{Events: &Events{From: 2, Events: make([]LogEvent, MaxEvents+1)}}, "events in one message"},
		{"thread", Up{Done: &Done{Task: 1, Worker: 2, Thread: -1}}, "processor -1"},
		{"moved", Up{Done: &Done{Task: 1, Worker: 2, Moved: -1}}, "-1 bytes of arguments"},
		{"pulled", Up{Done: &Done{Task: 1, Worker: 2, Pulled: -5}}, "-5 bytes pulled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := Encode(tc.up)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Decode[Up](data); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
	data, _ := Encode(Beat{Worker: 2, Pulled: -1})
	if _, err := Decode[Beat](data); err == nil || !strings.Contains(err.Error(), "-1 bytes pulled") {
		t.Fatalf("a heartbeat with -1 bytes pulled: %v", err)
	}
	good, _ := Encode(Up{Events: ev(func(*LogEvent) {})})
	if _, err := Decode[Up](good); err != nil {
		t.Fatalf("a good report: %v", err)
	}
}
