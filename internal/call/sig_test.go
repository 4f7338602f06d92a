package call_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/dagr/dagr/internal/call"
)

type myInt int

type ints []int

type myErr struct{ msg string }

func (e *myErr) Error() string { return e.msg }

type adder struct{ base int }

func (a adder) Add(x int) int                { return a.base + x }
func (a *adder) Inc(x int) int               { a.base += x; return a.base }
func add(a, b int) int                       { return a + b }
func concat(sep string, xs ...string) string { return strings.Join(xs, sep) }
func gen[T any](v T) T                       { return v }

type ctxKey struct{}

var (
	intT     = reflect.TypeFor[int]()
	stringT  = reflect.TypeFor[string]()
	anyT     = reflect.TypeFor[any]()
	errorT   = reflect.TypeFor[error]()
	readerT  = reflect.TypeFor[io.Reader]()
	intsT    = reflect.TypeFor[[]int]()
	stringsT = reflect.TypeFor[[]string]()
)

func TestAnalyzeAccepts(t *testing.T) {
	tests := []struct {
		name     string
		f        any
		takesCtx bool
		params   []reflect.Type
		variadic bool
		results  call.Results
		numFixed int
	}{
		{"no params no results", func() {}, false, nil, false, call.ResultNone, 0},
		{"value", func() string { return "" }, false, nil, false, call.ResultValue, 0},
		{"error only", func() error { return nil }, false, nil, false, call.ResultErr, 0},
		{"value and error", func() (int, error) { return 0, nil }, false, nil, false, call.ResultValueErr, 0},
		{"any value", func() any { return nil }, false, nil, false, call.ResultValue, 0},
		{"(error, error) is a value and an error", func() (error, error) { return nil, nil }, false, nil, false, call.ResultValueErr, 0},
		{"concrete error type is a value", func() *myErr { return nil }, false, nil, false, call.ResultValue, 0},
		{"ctx only", func(context.Context) {}, true, nil, false, call.ResultNone, 0},
		{"ctx and params", func(context.Context, int, string) (int, error) { return 0, nil }, true, []reflect.Type{intT, stringT}, false, call.ResultValueErr, 2},
		{"ctx not first is a param", func(int, context.Context) error { return nil }, false, []reflect.Type{intT, reflect.TypeFor[context.Context]()}, false, call.ResultErr, 2},
		{"params", func(int, string, any, io.Reader) {}, false, []reflect.Type{intT, stringT, anyT, readerT}, false, call.ResultNone, 4},
		{"variadic only", func(...int) int { return 0 }, false, []reflect.Type{intsT}, true, call.ResultValue, 0},
		{"fixed and variadic", concat, false, []reflect.Type{stringT, stringsT}, true, call.ResultValue, 1},
		{"ctx and variadic", func(context.Context, ...int) error { return nil }, true, []reflect.Type{intsT}, true, call.ResultErr, 0},
		{"top-level func", add, false, []reflect.Type{intT, intT}, false, call.ResultValue, 2},
		{"method value", adder{}.Add, false, []reflect.Type{intT}, false, call.ResultValue, 1},
		{"method expression", adder.Add, false, []reflect.Type{reflect.TypeFor[adder](), intT}, false, call.ResultValue, 2},
		{"generic instance", gen[int], false, []reflect.Type{intT}, false, call.ResultValue, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := call.Analyze(tt.f)
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			if s.Type != reflect.TypeOf(tt.f) {
				t.Errorf("Type = %v, want %v", s.Type, reflect.TypeOf(tt.f))
			}
			if s.TakesCtx != tt.takesCtx {
				t.Errorf("TakesCtx = %v, want %v", s.TakesCtx, tt.takesCtx)
			}
			if len(s.Params) != len(tt.params) {
				t.Fatalf("Params = %v, want %v", s.Params, tt.params)
			}
			for i := range tt.params {
				if s.Params[i] != tt.params[i] {
					t.Errorf("Params[%d] = %v, want %v", i, s.Params[i], tt.params[i])
				}
			}
			if s.Variadic != tt.variadic {
				t.Errorf("Variadic = %v, want %v", s.Variadic, tt.variadic)
			}
			if s.Results != tt.results {
				t.Errorf("Results = %v, want %v", s.Results, tt.results)
			}
			if got := s.NumFixed(); got != tt.numFixed {
				t.Errorf("NumFixed = %d, want %d", got, tt.numFixed)
			}
		})
	}
}

func TestAnalyzeRejects(t *testing.T) {
	var nilFunc func(int) int
	var nilBadFunc func() (int, int)
	// func() (error, int), made through reflect: as a literal, linters
	// object to its order.
	errorFirst := reflect.MakeFunc(reflect.FuncOf(nil, []reflect.Type{errorT, intT}, false), nil).Interface()
	tests := []struct {
		name string
		f    any
		want []string // substrings of the error
	}{
		{"nil", nil, []string{"dagr:", "function to run is nil"}},
		{"typed nil func", nilFunc, []string{"dagr:", "is a nil func(int) int"}},
		{"typed nil func of a bad shape", nilBadFunc, []string{"dagr:", "is a nil func() (int, int)"}},
		{"int", 42, []string{"dagr:", "type int", "not a function"}},
		{"string", "add", []string{"type string", "not a function"}},
		{"pointer to func", &nilFunc, []string{"type *func(int) int", "not a function"}},
		{"struct", adder{}, []string{"type call_test.adder", "not a function"}},
		{"two values", func() (int, int) { return 0, 0 }, []string{"dagr:", "func() (int, int)", "must return nothing, R, error or (R, error)"}},
		{"error first then value", errorFirst, []string{"func() (error, int)", "must return"}},
		{"concrete error type second", func() (int, *myErr) { return 0, nil }, []string{"func() (int, *call_test.myErr)", "must return"}},
		{"three results", func(int) (int, int, error) { return 0, 0, nil }, []string{"func(int) (int, int, error)", "must return"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for try := range 2 { // the second try is answered from the cache
				s, err := call.Analyze(tt.f)
				if err == nil {
					t.Fatalf("try %d: Analyze = %+v, want an error", try, s)
				}
				if s != nil {
					t.Errorf("try %d: Analyze returned a Sig with its error", try)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("try %d: error %q does not contain %q", try, err, w)
					}
				}
			}
		})
	}
}

func TestAnalyzeCache(t *testing.T) {
	f1 := func(a, b string) string { return a + b }
	f2 := func(a, b string) string { return b + a } // same type, another func
	g := func(string) error { return nil }

	s1, err := call.Analyze(f1)
	if err != nil {
		t.Fatal(err)
	}
	// Alternate the types so that both the last-Sig shortcut and the map
	// answer.
	for i, f := range []any{f2, g, f1, g, g, f2, f1} {
		s, err := call.Analyze(f)
		if err != nil {
			t.Fatal(err)
		}
		sameType := reflect.TypeOf(f) == reflect.TypeOf(f1)
		if sameType != (s == s1) {
			t.Errorf("step %d: Analyze(%T) == first Sig: %v, want %v", i, f, s == s1, sameType)
		}
		if s.Type != reflect.TypeOf(f) {
			t.Errorf("step %d: Sig.Type = %v, want %v", i, s.Type, reflect.TypeOf(f))
		}
	}

	// A type nothing analysed before: the first answer is the one cached.
	fresh := reflect.FuncOf([]reflect.Type{reflect.ArrayOf(9001, intT)}, []reflect.Type{stringT}, false)
	ff := reflect.MakeFunc(fresh, func([]reflect.Value) []reflect.Value {
		return []reflect.Value{reflect.ValueOf("")}
	}).Interface()
	a, err := call.Analyze(ff)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call.Analyze(g); err != nil { // move the last-Sig shortcut away
		t.Fatal(err)
	}
	b, err := call.Analyze(ff)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("Analyze of a fresh type twice gave two Sigs: %p, %p", a, b)
	}
}

// TestAnalyzeConcurrent runs Analyze from many goroutines over types seen
// and not seen before, for the race detector, and checks that every answer
// describes its type.
func TestAnalyzeConcurrent(t *testing.T) {
	var funcs []any
	for i := range 16 {
		ft := reflect.FuncOf([]reflect.Type{reflect.ArrayOf(7000+i, intT)}, []reflect.Type{intT, errorT}, false)
		funcs = append(funcs, reflect.MakeFunc(ft, func([]reflect.Value) []reflect.Value {
			return []reflect.Value{reflect.ValueOf(0), reflect.Zero(errorT)}
		}).Interface())
	}
	funcs = append(funcs, add, concat, func(context.Context) error { return nil }, func() {})
	bad := func() (int, int) { return 0, 0 }

	const goroutines = 8
	got := make([][]*call.Sig, goroutines)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			<-start
			for round := range 50 {
				for i := range funcs {
					f := funcs[(i+g+round)%len(funcs)]
					s, err := call.Analyze(f)
					if err != nil {
						t.Errorf("Analyze(%T): %v", f, err)
						return
					}
					if s.Type != reflect.TypeOf(f) {
						t.Errorf("Analyze(%T) gave the Sig of %v", f, s.Type)
						return
					}
					got[g] = append(got[g], s)
				}
				if _, err := call.Analyze(bad); err == nil {
					t.Error("Analyze of a bad shape succeeded")
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for g := range got {
		if len(got[g]) != 50*len(funcs) {
			t.Fatalf("goroutine %d made %d analyses", g, len(got[g]))
		}
	}
	// Once the dust settles, every type has one Sig.
	for _, f := range funcs {
		a, _ := call.Analyze(f)
		b, _ := call.Analyze(f)
		if a != b || a.Type != reflect.TypeOf(f) {
			t.Errorf("Analyze(%T) after the concurrent run: %p, %p", f, a, b)
		}
	}
}

func TestCheckCount(t *testing.T) {
	tests := []struct {
		name string
		f    any
		n    int
		want string // substring of the error; "" for none
	}{
		{"none of none", func() {}, 0, ""},
		{"one of none", func() {}, 1, "call_test.TestCheckCount.func2 takes 0 argument(s), got 1"},
		{"two of two", add, 2, ""},
		{"one of two", add, 1, "call_test.add takes 2 argument(s), got 1"},
		{"three of two", add, 3, "call_test.add takes 2 argument(s), got 3"},
		{"ctx is not counted", func(context.Context, int) {}, 1, ""},
		{"ctx is not an argument", func(context.Context, int) {}, 2, "takes 1 argument(s), got 2"},
		{"variadic, zero of zero fixed", func(...int) {}, 0, ""},
		{"variadic, many", func(...int) {}, 100, ""},
		{"variadic, fixed only", concat, 1, ""},
		{"variadic, fixed and tail", concat, 4, ""},
		{"variadic, too few", concat, 0, "call_test.concat takes at least 1 argument(s), got 0"},
		{"ctx and variadic", func(context.Context, string, ...int) {}, 1, ""},
		{"ctx and variadic, too few", func(context.Context, string, ...int) {}, 0, "takes at least 1 argument(s), got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := call.Analyze(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			err = s.CheckCount(tt.f, tt.n)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckCount(%d) = %v, want nil", tt.n, err)
			case tt.want != "" && err == nil:
				t.Errorf("CheckCount(%d) = nil, want an error containing %q", tt.n, tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("CheckCount(%d) = %q, want it to contain %q", tt.n, err, tt.want)
			case err != nil && !strings.HasPrefix(err.Error(), "dagr: "):
				t.Errorf("CheckCount(%d) = %q, want the dagr: prefix", tt.n, err)
			}
		})
	}
}

func TestNillable(t *testing.T) {
	tests := []struct {
		t    reflect.Type
		want bool
	}{
		{intT, false}, {stringT, false}, {reflect.TypeFor[struct{}](), false}, {reflect.TypeFor[[2]int](), false},
		{anyT, true}, {errorT, true}, {reflect.TypeFor[*int](), true}, {intsT, true},
		{reflect.TypeFor[map[int]int](), true}, {reflect.TypeFor[chan int](), true},
		{reflect.TypeFor[func()](), true}, {reflect.TypeFor[ints](), true},
	}
	for _, tt := range tests {
		if got := call.Nillable(tt.t); got != tt.want {
			t.Errorf("Nillable(%v) = %v, want %v", tt.t, got, tt.want)
		}
	}
}

func TestAcceptsAndFits(t *testing.T) {
	fixed := func(int, any, io.Reader, *int, []int, map[string]int, chan int, func(), error, myInt, ints, struct{ X int }) {
	}
	variadic := func(_ context.Context, _ string, _ ...io.Reader) {}
	tests := []struct {
		name string
		f    any
		i    int
		v    any
		from uint64
		want []string // substrings of the error; nil for none
	}{
		{"int", fixed, 0, 7, 0, nil},
		{"int gets string", fixed, 0, "7", 0, []string{"argument 1 of", "the value has type string, but the parameter is int"}},
		{"int gets int64", fixed, 0, int64(7), 0, []string{"argument 1", "has type int64, but the parameter is int"}},
		{"int gets named int", fixed, 0, myInt(7), 0, []string{"argument 1", "has type call_test.myInt, but the parameter is int"}},
		{"int gets nil", fixed, 0, nil, 0, []string{"argument 1 of", "the value is nil, but the parameter is int"}},
		{"any gets anything", fixed, 1, struct{}{}, 0, nil},
		{"any gets nil", fixed, 1, nil, 0, nil},
		{"interface gets implementation", fixed, 2, &bytes.Buffer{}, 0, nil},
		{"interface gets non-implementation", fixed, 2, bytes.Buffer{}, 0, []string{"argument 3", "has type bytes.Buffer, but the parameter is io.Reader"}},
		{"interface gets nil", fixed, 2, nil, 0, nil},
		{"pointer gets nil", fixed, 3, nil, 0, nil},
		{"pointer gets typed nil", fixed, 3, (*int)(nil), 0, nil},
		{"pointer gets value", fixed, 3, 3, 0, []string{"argument 4", "has type int, but the parameter is *int"}},
		{"slice gets nil", fixed, 4, nil, 0, nil},
		{"map gets nil", fixed, 5, nil, 0, nil},
		{"chan gets nil", fixed, 6, nil, 0, nil},
		{"bidirectional chan", fixed, 6, make(chan int), 0, nil},
		{"receive-only chan", fixed, 6, make(<-chan int), 0, []string{"argument 7", "has type <-chan int, but the parameter is chan int"}},
		{"func gets nil", fixed, 7, nil, 0, nil},
		{"func gets func", fixed, 7, func() {}, 0, nil},
		{"error gets *myErr", fixed, 8, &myErr{}, 0, nil},
		{"named int gets int", fixed, 9, 1, 0, []string{"argument 10", "has type int, but the parameter is call_test.myInt"}},
		{"named slice gets unnamed slice", fixed, 10, []int{1}, 0, nil},
		{"struct gets nil", fixed, 11, nil, 0, []string{"argument 12", "is nil, but the parameter is struct { X int }"}},
		{"struct gets identical struct", fixed, 11, struct{ X int }{1}, 0, nil},
		{"dependency result", fixed, 0, "x", 42, []string{"argument 1", "the result of task 42 has type string, but the parameter is int"}},
		{"dependency nil result", fixed, 0, nil, 5, []string{"argument 1", "the result of task 5 is nil, but the parameter is int"}},
		{"variadic fixed part", variadic, 0, "s", 0, nil},
		{"variadic fixed part gets reader", variadic, 0, &bytes.Buffer{}, 0, []string{"argument 1", "has type *bytes.Buffer, but the parameter is string"}},
		{"variadic tail element", variadic, 1, &bytes.Buffer{}, 0, nil},
		{"variadic far tail element", variadic, 9, strings.NewReader(""), 0, nil},
		{"variadic tail gets nil", variadic, 3, nil, 0, nil},
		{"variadic tail gets the slice type", variadic, 1, []io.Reader{}, 0, []string{"argument 2", "has type []io.Reader, but the parameter is io.Reader"}},
		{"variadic tail gets a wrong type", variadic, 5, 1.5, 0, []string{"argument 6", "has type float64, but the parameter is io.Reader"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := call.Analyze(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Accepts(tt.f, "", tt.i, tt.v, tt.from)
			if fits := s.Fits(tt.i, tt.v); fits != (err == nil) {
				t.Errorf("Fits = %v, but Accepts = %v", fits, err)
			}
			if tt.want == nil {
				if err != nil {
					t.Errorf("Accepts = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Accepts = nil, want an error containing %q", tt.want)
			}
			want := append([]string{"dagr: ", call.Name(tt.f)}, tt.want...)
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Accepts = %q, want it to contain %q", err, w)
				}
			}
			// A given name replaces the function's own.
			err = s.Accepts(tt.f, "my-task", tt.i, tt.v, tt.from)
			if err == nil || !strings.Contains(err.Error(), "of my-task:") || strings.Contains(err.Error(), call.Name(tt.f)) {
				t.Errorf("Accepts with a name = %v, want it to name my-task instead of %s", err, call.Name(tt.f))
			}
		})
	}
}

func TestParam(t *testing.T) {
	s, err := call.Analyze(func(context.Context, int, string, ...float64) {})
	if err != nil {
		t.Fatal(err)
	}
	want := []reflect.Type{intT, stringT, reflect.TypeFor[float64](), reflect.TypeFor[float64](), reflect.TypeFor[float64]()}
	for i, w := range want {
		if got := s.Param(i); got != w {
			t.Errorf("Param(%d) = %v, want %v", i, got, w)
		}
	}
}

func TestCall(t *testing.T) {
	errBoom := errors.New("boom")
	ctx := context.WithValue(context.Background(), ctxKey{}, "the ctx")
	var sideEffect string
	type fn func(int) int // same shape as a fast one, but its own type

	tests := []struct {
		name    string
		f       any
		args    []any
		want    any
		wantErr error
		effect  string // what f writes to sideEffect
	}{
		{"none", func(s string) { sideEffect = s }, []any{"ran"}, nil, nil, "ran"},
		{"value", func(a, b string) string { return a + b }, []any{"a", "b"}, "ab", nil, ""},
		{"value nil interface", func(string) any { return nil }, []any{""}, nil, nil, ""},
		{"value nil pointer", func(string) *int { return nil }, []any{""}, (*int)(nil), nil, ""},
		{"value typed-nil concrete error is a value", func(string) *myErr { return nil }, []any{""}, (*myErr)(nil), nil, ""},
		{"value and nil error", func(s string) (string, error) { return s + "!", nil }, []any{"hi"}, "hi!", nil, ""},
		{"value and error drops the value", func(string) (string, error) { return "partial", errBoom }, []any{""}, nil, errBoom, ""},
		{"error nil", func(s string) error { sideEffect = s; return nil }, []any{"e"}, nil, nil, "e"},
		{"error", func(string) error { return errBoom }, []any{""}, nil, errBoom, ""},
		{"ctx passed", func(ctx context.Context, k any) (any, error) { return ctx.Value(k), nil }, []any{ctxKey{}}, "the ctx", nil, ""},
		{"ctx value and error", func(ctx context.Context, s string) (string, error) {
			return ctx.Value(ctxKey{}).(string) + s, nil
		}, []any{"!"}, "the ctx!", nil, ""},
		{"ctx error", func(context.Context, string) error { return errBoom }, []any{""}, nil, errBoom, ""},
		{"concrete value for interface param", func(r io.Reader) (string, error) {
			b, err := io.ReadAll(r)
			return string(b), err
		}, []any{strings.NewReader("read")}, "read", nil, ""},
		{"nil args become zero values", func(p *int, xs []int, m map[int]int, r io.Reader, a any) string {
			return fmt.Sprint(p == nil, xs == nil, m == nil, r == nil, a == nil)
		}, []any{nil, nil, nil, nil, nil}, "true true true true true", nil, ""},
		{"named slice from unnamed", func(xs ints) int { return len(xs) }, []any{[]int{1, 2, 3}}, 3, nil, ""},
		{"named func type of a fast shape", fn(func(x int) int { return x * 3 }), []any{5}, 15, nil, ""},
		{"method value", (&adder{base: 10}).Inc, []any{5}, 15, nil, ""},
		{"method expression", adder.Add, []any{adder{base: 1}, 2}, 3, nil, ""},
		{"generic", gen[string], []any{"g"}, "g", nil, ""},
		// Fast shapes, through the exported API.
		{"fast func(int) int", func(x int) int { return -x }, []any{4}, -4, nil, ""},
		{"fast func(int) (int, error)", func(x int) (int, error) { return x, errBoom }, []any{4}, nil, errBoom, ""},
		{"fast func() error nil", func() error { return nil }, nil, nil, nil, ""},
		{"fast func(context.Context) (any, error)", func(ctx context.Context) (any, error) { return ctx.Value(ctxKey{}), nil }, nil, "the ctx", nil, ""},
		{"fast func(any) any nil", func(a any) any { return a }, []any{nil}, nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sideEffect = ""
			s, err := call.Analyze(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Call(tt.f, ctx, tt.args)
			if err != tt.wantErr {
				t.Errorf("Call error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Call = %#v, want %#v", got, tt.want)
			}
			if sideEffect != tt.effect {
				t.Errorf("f wrote %q, want %q", sideEffect, tt.effect)
			}
		})
	}
}

func TestCallVariadic(t *testing.T) {
	ctx := context.Background()
	type stringer = fmt.Stringer
	tests := []struct {
		name string
		f    any
		args []any
		want any
	}{
		{"fixed only", concat, []any{","}, ""},
		{"one in the tail", concat, []any{",", "a"}, "a"},
		{"three in the tail", concat, []any{",", "a", "b", "c"}, "a,b,c"},
		{"nil in the tail", func(xs ...*int) string { return fmt.Sprint(len(xs), xs[1] == nil) }, []any{new(int), nil, new(int)}, "3 true"},
		{"interface elements", func(xs ...stringer) string {
			var b strings.Builder
			for _, x := range xs {
				b.WriteString(x.String())
			}
			return b.String()
		}, []any{myStringer("x"), myStringer("y")}, "xy"},
		{"zero args, tail is empty", func(xs ...string) int { return len(xs) }, nil, 0},
		{"zero args, empty slice", func(xs ...string) int { return len(xs) }, []any{}, 0},
		{"ctx and tail", func(ctx context.Context, xs ...string) (string, error) {
			return fmt.Sprint(ctx != nil, xs), nil
		}, []any{"p", "q"}, "true [p q]"},
		{"fast ...int zero", func(xs ...int) int { return len(xs) }, nil, 0},
		{"fast ...int", func(xs ...int) int { return xs[0]*100 + xs[1]*10 + xs[2] }, []any{1, 2, 3}, 123},
		{"fast ...float64", func(xs ...float64) float64 { return xs[0] / xs[1] }, []any{1.0, 4.0}, 0.25},
		{"fast ...any", func(xs ...any) any { return fmt.Sprint(xs...) }, []any{"a", 1, nil}, "a1 <nil>"},
		{"fast ...any zero", func(xs ...any) any { return len(xs) }, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := call.Analyze(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.CheckCount(tt.f, len(tt.args)); err != nil {
				t.Fatal(err)
			}
			for i, a := range tt.args {
				if err := s.Accepts(tt.f, "", i, a, 0); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Call(tt.f, ctx, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Call = %#v, want %#v", got, tt.want)
			}
		})
	}
}

type myStringer string

func (s myStringer) String() string { return string(s) }

// TestCallPanics checks that Call does not recover a panic in f: the
// scheduler does, and turns it into a PanicError.
func TestCallPanics(t *testing.T) {
	errPanic := errors.New("panic value")
	tests := []struct {
		name string
		f    any
		args []any
	}{
		{"fast", func() { panic(errPanic) }, nil},
		{"fast with args", func(int) int { panic(errPanic) }, []any{1}},
		{"reflective", func(string) error { panic(errPanic) }, []any{""}},
		{"reflective variadic", func(...string) { panic(errPanic) }, []any{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := call.Analyze(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if v := recover(); v != errPanic {
					t.Errorf("recovered %v, want f's own panic value %v", v, errPanic)
				}
			}()
			s.Call(tt.f, context.Background(), tt.args)
			t.Error("Call returned after f panicked")
		})
	}
}

func TestName(t *testing.T) {
	a := &adder{}
	closure := func() {}
	var nilFunc func(int) int
	tests := []struct {
		name string
		f    any
		want string
	}{
		{"top-level", add, "call_test.add"},
		{"variadic top-level", concat, "call_test.concat"},
		{"method value", adder{}.Add, "call_test.adder.Add-fm"},
		{"pointer method value", a.Inc, "call_test.(*adder).Inc-fm"},
		{"method expression", adder.Add, "call_test.adder.Add"},
		{"pointer method expression", (*adder).Inc, "call_test.(*adder).Inc"},
		{"closure", closure, "call_test.TestName.func1"},
		{"generic", gen[int], "call_test.gen[...]"},
		{"standard library", strings.ToUpper, "strings.ToUpper"},
		{"nested package path", call.Name, "call.Name"},
		{"package path with a slash", json.Marshal, "json.Marshal"},
		{"not a func", 42, "int"},
		{"nil", nil, "<nil>"},
		{"typed nil func", nilFunc, "func(int) int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := call.Name(tt.f); got != tt.want {
				t.Errorf("Name = %q, want %q", got, tt.want)
			}
		})
	}
}
