package call

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

type ctxKey struct{}

var errFast = errors.New("f failed")

// record is what a function made by recordingFunc received.
type record struct {
	ctx  context.Context
	args []any // the variadic tail flattened
}

// recordingFunc makes a function of type t that records its arguments in
// *rec and returns results derived from them: an error when fail, and a nil
// interface value when nilResult.
func recordingFunc(t reflect.Type, rec *record, fail, nilResult bool) any {
	return reflect.MakeFunc(t, func(in []reflect.Value) []reflect.Value {
		*rec = record{}
		for i, v := range in {
			switch {
			case i == 0 && t.In(0) == contextType:
				rec.ctx, _ = v.Interface().(context.Context)
			case t.IsVariadic() && i == len(in)-1:
				for j := range v.Len() {
					rec.args = append(rec.args, v.Index(j).Interface())
				}
			default:
				rec.args = append(rec.args, v.Interface())
			}
		}
		out := make([]reflect.Value, t.NumOut())
		for i := range out {
			rt := t.Out(i)
			switch {
			case rt == errorType && fail:
				out[i] = reflect.ValueOf(errFast)
			case rt == errorType:
				out[i] = reflect.Zero(rt)
			case rt.Kind() == reflect.Int:
				n := 1000 * len(rec.args)
				for _, a := range rec.args {
					x, _ := a.(int)
					n += x
				}
				out[i] = reflect.ValueOf(n)
			case rt.Kind() == reflect.Float64:
				x := 0.25 * float64(len(rec.args))
				for _, a := range rec.args {
					f, _ := a.(float64)
					x = x*3 + f
				}
				out[i] = reflect.ValueOf(x)
			case rt.Kind() == reflect.Interface && nilResult:
				out[i] = reflect.Zero(rt)
			case rt.Kind() == reflect.Interface:
				out[i] = reflect.ValueOf(fmt.Sprintf("%#v", rec.args))
			default:
				panic(fmt.Sprintf("recordingFunc: no result of type %v", rt))
			}
		}
		return out
	}).Interface()
}

// sampleArgs gives argument lists for s: each fixed parameter takes a
// value of its type or nil (the zero value), and the variadic tail has 0,
// 1 or 3 elements.
func sampleArgs(s *Sig) [][]any {
	value := func(t reflect.Type, k int) any {
		switch {
		case k == 2:
			return nil
		case t.Kind() == reflect.Int:
			return []int{7, -3}[k]
		case t.Kind() == reflect.Float64:
			return []float64{0.5, -2}[k]
		case t.Kind() == reflect.Interface:
			return []any{"s", []int{1, 2}}[k]
		}
		panic(fmt.Sprintf("sampleArgs: no value of type %v", t))
	}
	var sets [][]any
	for k := range 3 {
		var fixed []any
		for i := range s.NumFixed() {
			fixed = append(fixed, value(s.Params[i], (k+i)%3))
		}
		if !s.Variadic {
			sets = append(sets, fixed)
			continue
		}
		elem := s.Params[len(s.Params)-1].Elem()
		for _, n := range []int{0, 1, 3} {
			args := slices.Clone(fixed)
			for j := range n {
				args = append(args, value(elem, (k+j)%3))
			}
			sets = append(sets, args)
		}
	}
	return sets
}

// TestFastTableMatchesReflect calls every function type of the fast-call
// table both through its fast path and through reflect.Value.Call, and
// checks that f receives the same arguments and Call gives the same
// results.
func TestFastTableMatchesReflect(t *testing.T) {
	if len(fastCalls) == 0 {
		t.Fatal("the fast-call table is empty")
	}
	types := make([]reflect.Type, 0, len(fastCalls))
	for ft := range fastCalls {
		types = append(types, ft)
	}
	slices.SortFunc(types, func(a, b reflect.Type) int { return strings.Compare(a.String(), b.String()) })
	ctx := context.WithValue(context.Background(), ctxKey{}, 1)

	for _, ft := range types {
		t.Run(ft.String(), func(t *testing.T) {
			for _, mode := range []struct{ fail, nilResult bool }{{false, false}, {true, false}, {false, true}} {
				var rec record
				fn := recordingFunc(ft, &rec, mode.fail, mode.nilResult)
				s, err := Analyze(fn)
				if err != nil {
					t.Fatal(err)
				}
				if s.fast == nil {
					t.Fatalf("Analyze(%v) found no fast path", ft)
				}
				for _, args := range sampleArgs(s) {
					if err := s.CheckCount(fn, len(args)); err != nil {
						t.Fatalf("sampleArgs made a bad call: %v", err)
					}
					what := fmt.Sprintf("mode %+v, args %#v", mode, args)

					fastRes, fastErr := s.Call(fn, ctx, slices.Clone(args))
					fastRec := rec
					refRes, refErr := s.callReflect(fn, ctx, slices.Clone(args))
					refRec := rec

					if !reflect.DeepEqual(fastRes, refRes) || fastErr != refErr {
						t.Errorf("%s: fast path gave (%#v, %v), reflect (%#v, %v)", what, fastRes, fastErr, refRes, refErr)
					}
					if !reflect.DeepEqual(fastRec.args, refRec.args) {
						t.Errorf("%s: f got %#v on the fast path, %#v through reflect", what, fastRec.args, refRec.args)
					}
					if fastRec.ctx != refRec.ctx || s.TakesCtx != (fastRec.ctx == ctx) {
						t.Errorf("%s: f got ctx %v on the fast path, %v through reflect (takes ctx: %v)", what, fastRec.ctx, refRec.ctx, s.TakesCtx)
					}
					// Check the reference too, so that equal but wrong
					// results do not pass.
					wantErr := error(nil)
					if mode.fail && (s.Results == ResultErr || s.Results == ResultValueErr) {
						wantErr = errFast
					}
					if refErr != wantErr {
						t.Errorf("%s: error %v, want %v", what, refErr, wantErr)
					}
					if (s.Results == ResultNone || s.Results == ResultErr || wantErr != nil) && refRes != nil {
						t.Errorf("%s: result %#v, want nil", what, refRes)
					}
				}
			}
		})
	}
}

// TestFastPathChosen checks which functions Analyze gives a fast path: the
// common shapes do, whatever the func value; other types, named function
// types among them, do not.
func TestFastPathChosen(t *testing.T) {
	type intFunc func(int) int
	tests := []struct {
		name string
		f    any
		fast bool
	}{
		{"func()", func() {}, true},
		{"func() error", func() error { return nil }, true},
		{"func() any", func() any { return nil }, true},
		{"func() int", func() int { return 0 }, true},
		{"func(context.Context)", func(context.Context) {}, true},
		{"func(context.Context) error", func(context.Context) error { return nil }, true},
		{"func(int) int", func(x int) int { return x }, true},
		{"func(int, int) int", func(a, b int) int { return a + b }, true},
		{"func(context.Context, int) (int, error)", func(context.Context, int) (int, error) { return 0, nil }, true},
		{"func(float64) float64", func(x float64) float64 { return x }, true},
		{"func(...int) int", func(...int) int { return 0 }, true},
		{"func(...any) any", func(...any) any { return nil }, true},
		{"func(any) any", func(a any) any { return a }, true},
		{"named func(int) int", intFunc(func(x int) int { return x }), false},
		{"func(string) string", func(s string) string { return s }, false},
		{"func(int) error", func(int) error { return nil }, false},
		{"func(int, ...int) int", func(int, ...int) int { return 0 }, false},
		{"func([]int) int", func([]int) int { return 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Analyze(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.fast != nil; got != tt.fast {
				t.Errorf("fast path: %v, want %v", got, tt.fast)
			}
		})
	}
}

// TestFastVariadicGetsOwnSlice: the fast path of func(...any) any once
// passed the args slice itself as f's variadic parameter, so what f wrote
// to it changed args (the scheduler's copy of the task's arguments, which
// a retry runs f with again). Through reflect.Value.Call, and on every
// other fast path, f gets a slice of its own.
func TestFastVariadicGetsOwnSlice(t *testing.T) {
	tests := []struct {
		name string
		f    any
		args func() []any
	}{
		{"func(...any) any", func(xs ...any) any { xs[0] = "written by f"; return nil }, func() []any { return []any{1, 2} }},
		{"func(...int) int", func(xs ...int) int { xs[0] = -1; return 0 }, func() []any { return []any{1, 2} }},
		{"reflective func(...string)", func(xs ...string) { xs[0] = "written by f" }, func() []any { return []any{"a", "b"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Analyze(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			args := tt.args()
			if _, err := s.Call(tt.f, context.Background(), args); err != nil {
				t.Fatal(err)
			}
			if want := tt.args(); !reflect.DeepEqual(args, want) {
				t.Errorf("after Call, args = %#v, want them unchanged: %#v", args, want)
			}
		})
	}
}
