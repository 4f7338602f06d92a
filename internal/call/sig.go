// Package call analyses the functions that tasks run: their parameters,
// results and whether they take a context, and calls them with checked
// arguments. The analysis of a function type is done once and cached.
package call

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// Results says what a function returns.
type Results uint8

// The result shapes a task function may have.
const (
	ResultNone     Results = iota // func(...)
	ResultValue                   // func(...) R
	ResultValueErr                // func(...) (R, error)
	ResultErr                     // func(...) error
)

var (
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
)

// Sig is the cached analysis of one function type.
type Sig struct {
	Type     reflect.Type
	TakesCtx bool           // the first parameter is context.Context
	Params   []reflect.Type // parameters after the context; the last is the slice type when Variadic
	Variadic bool
	Results  Results

	// fast calls the function without reflect.Value.Call, when its shape
	// is one of the common ones (see fast.go).
	fast func(fn any, ctx context.Context, args []any) (any, error)
}

var sigCache sync.Map // reflect.Type -> *Sig or error

// lastSig is the signature analysed last: programs spawn the same function
// many times in a row, and this skips the map's hashing for them.
var lastSig atomic.Pointer[Sig]

// Analyze returns the signature of f, or an error saying why f cannot be a
// task function.
func Analyze(f any) (*Sig, error) {
	if f == nil {
		return nil, fmt.Errorf("dagr: the function to run is nil")
	}
	t := reflect.TypeOf(f)
	if t.Kind() == reflect.Func && reflect.ValueOf(f).IsNil() {
		return nil, fmt.Errorf("dagr: the function to run is a nil %v", t)
	}
	if s := lastSig.Load(); s != nil && s.Type == t {
		return s, nil
	}
	if v, ok := sigCache.Load(t); ok {
		if err, bad := v.(error); bad {
			return nil, err
		}
		lastSig.Store(v.(*Sig))
		return v.(*Sig), nil
	}
	s, err := analyze(t)
	if err != nil {
		sigCache.Store(t, err)
		return nil, err
	}
	// Two goroutines may analyse a new type at once: both get the first
	// one's result, so that a type has one *Sig.
	v, _ := sigCache.LoadOrStore(t, s)
	return v.(*Sig), nil
}

func analyze(t reflect.Type) (*Sig, error) {
	if t.Kind() != reflect.Func {
		return nil, fmt.Errorf("dagr: cannot run a value of type %v: it is not a function", t)
	}
	s := &Sig{Type: t, Variadic: t.IsVariadic()}
	first := 0
	if t.NumIn() > 0 && t.In(0) == contextType {
		s.TakesCtx = true
		first = 1
	}
	for i := first; i < t.NumIn(); i++ {
		s.Params = append(s.Params, t.In(i))
	}
	switch {
	case t.NumOut() == 0:
		s.Results = ResultNone
	case t.NumOut() == 1 && t.Out(0) == errorType:
		s.Results = ResultErr
	case t.NumOut() == 1:
		s.Results = ResultValue
	case t.NumOut() == 2 && t.Out(1) == errorType:
		s.Results = ResultValueErr
	default:
		return nil, fmt.Errorf("dagr: cannot run a function of type %v: it must return nothing, R, error or (R, error)", t)
	}
	s.fast = fastCall(t)
	return s, nil
}

// NumFixed is the number of parameters before the variadic one, if any.
func (s *Sig) NumFixed() int {
	if s.Variadic {
		return len(s.Params) - 1
	}
	return len(s.Params)
}

// Param is the type the i-th argument (0-based, after the context) is
// assigned to: for variadic functions, arguments past the fixed ones take the
// element type of the variadic slice.
func (s *Sig) Param(i int) reflect.Type {
	if s.Variadic && i >= len(s.Params)-1 {
		return s.Params[len(s.Params)-1].Elem()
	}
	return s.Params[i]
}

// CheckCount reports whether n arguments fit fn, whose signature s is.
func (s *Sig) CheckCount(fn any, n int) error {
	fixed := s.NumFixed()
	switch {
	case s.Variadic && n < fixed:
		return fmt.Errorf("dagr: %s takes at least %d argument(s), got %d", Name(fn), fixed, n)
	case !s.Variadic && n != fixed:
		return fmt.Errorf("dagr: %s takes %d argument(s), got %d", Name(fn), fixed, n)
	}
	return nil
}

// Nillable reports whether nil is a valid value of t.
func Nillable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Interface, reflect.Pointer, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	}
	return false
}

// Accepts reports whether the value v can be passed as the i-th argument
// (0-based) of fn, whose signature s is, and if not, an error naming the
// function (name, or else fn's own), the argument's position and both
// types. from is the id of the task whose result v is, or 0 for a plain
// argument.
func (s *Sig) Accepts(fn any, name string, i int, v any, from uint64) error {
	p := s.Param(i)
	if v == nil {
		if Nillable(p) {
			return nil
		}
		return fmt.Errorf("dagr: argument %d of %s: %s is nil, but the parameter is %v", i+1, nameOf(fn, name), source(from), p)
	}
	if vt := reflect.TypeOf(v); vt != p && !vt.AssignableTo(p) {
		return fmt.Errorf("dagr: argument %d of %s: %s has type %v, but the parameter is %v", i+1, nameOf(fn, name), source(from), vt, p)
	}
	return nil
}

// AcceptsType is Accepts for a value of which only the static type t is
// known, as for a value that lives on another process: an interface type
// is accepted, since the value's own type is not known yet.
func (s *Sig) AcceptsType(fn any, name string, i int, t reflect.Type) error {
	if s.FitsType(i, t) {
		return nil
	}
	return fmt.Errorf("dagr: argument %d of %s: the value has type %v, but the parameter is %v", i+1, nameOf(fn, name), t, s.Param(i))
}

// FitsType reports whether AcceptsType would accept t, without making an
// error.
func (s *Sig) FitsType(i int, t reflect.Type) bool {
	p := s.Param(i)
	return t == p || t.AssignableTo(p) || t.Kind() == reflect.Interface
}

// Fits reports whether Accepts would accept v, without making an error.
func (s *Sig) Fits(i int, v any) bool {
	p := s.Param(i)
	if v == nil {
		return Nillable(p)
	}
	vt := reflect.TypeOf(v)
	return vt == p || vt.AssignableTo(p)
}

func nameOf(fn any, name string) string {
	if name != "" {
		return name
	}
	return Name(fn)
}

func source(from uint64) string {
	if from == 0 {
		return "the value"
	}
	return fmt.Sprintf("the result of task %d", from)
}

// Call runs fn (whose signature is s) with args, handing ctx to it when it
// takes one. Panics are not recovered here.
func (s *Sig) Call(fn any, ctx context.Context, args []any) (any, error) {
	if s.fast != nil {
		return s.fast(fn, ctx, args)
	}
	return s.callReflect(fn, ctx, args)
}

// callReflect is Call for the shapes without a fast path.
func (s *Sig) callReflect(fn any, ctx context.Context, args []any) (any, error) {
	in := make([]reflect.Value, 0, len(args)+1)
	if s.TakesCtx {
		in = append(in, reflect.ValueOf(ctx))
	}
	for i, a := range args {
		if a == nil {
			in = append(in, reflect.Zero(s.Param(i)))
		} else {
			in = append(in, reflect.ValueOf(a))
		}
	}
	out := reflect.ValueOf(fn).Call(in)
	switch s.Results {
	case ResultValue:
		return out[0].Interface(), nil
	case ResultValueErr:
		err, _ := out[1].Interface().(error)
		if err != nil {
			return nil, err
		}
		return out[0].Interface(), nil
	case ResultErr:
		err, _ := out[0].Interface().(error)
		return nil, err
	}
	return nil, nil
}

// Name returns the name of the function fn, as the runtime knows it, with
// the package path shortened to its last element ("main.add").
func Name(fn any) string {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func || v.IsNil() {
		return fmt.Sprintf("%T", fn)
	}
	f := runtime.FuncForPC(v.Pointer())
	if f == nil {
		return v.Type().String()
	}
	name := f.Name()
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return name
}
