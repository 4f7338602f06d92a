package cache

import (
	"reflect"
	"unsafe"
)

// Sizeof estimates the bytes a value keeps alive: the value itself and what
// its pointers, slices, strings and maps reach, each block counted once. It
// walks at most maxVisits values, so that a huge graph of small objects
// costs a bounded time; what it did not reach is estimated from what it did.
//
// A value that knows its size (Sizer) says it.
func Sizeof(v any) int64 {
	if v == nil {
		return 0
	}
	if s, ok := v.(Sizer); ok {
		return s.Size()
	}
	w := sizeWalker{seen: make(map[uintptr]bool)}
	rv := reflect.ValueOf(v)
	w.push(rv)
	total := int64(rv.Type().Size())
	for len(w.stack) > 0 && w.visits < maxVisits {
		x := w.stack[len(w.stack)-1]
		w.stack = w.stack[:len(w.stack)-1]
		total += w.visit(x)
	}
	return total
}

const maxVisits = 1 << 16

// opaque holds the types whose values are counted by their own size only,
// and not walked: see Opaque.
var opaque = map[reflect.Type]bool{}

// Opaque makes Sizeof count a value of type t that it reaches through a
// pointer by its own size, without walking what it points to: for handles
// whose insides belong to someone else and change under them. It is
// called from init functions only.
func Opaque(t reflect.Type) { opaque[t] = true }

// Sizer is a value that says how many bytes it keeps alive in this
// process.
type Sizer interface{ Size() int64 }

type sizeWalker struct {
	seen   map[uintptr]bool
	stack  []reflect.Value
	visits int
}

func (w *sizeWalker) push(v reflect.Value) { w.stack = append(w.stack, v) }

// first reports whether the block at p is met for the first time.
func (w *sizeWalker) first(p uintptr) bool {
	if p == 0 || w.seen[p] {
		return false
	}
	w.seen[p] = true
	return true
}

// visit returns the bytes that v reaches beyond its own inline size, and
// queues what it points to.
func (w *sizeWalker) visit(v reflect.Value) int64 {
	w.visits++
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || !w.first(v.Pointer()) {
			return 0
		}
		e := v.Elem()
		if !opaque[e.Type()] {
			w.push(e)
		}
		return int64(e.Type().Size())
	case reflect.Interface:
		if v.IsNil() {
			return 0
		}
		e := v.Elem()
		w.push(e)
		if e.Kind() == reflect.Pointer {
			return 0
		}
		return int64(e.Type().Size())
	case reflect.String:
		if v.Len() == 0 || !w.first(uintptr(unsafe.Pointer(unsafe.StringData(v.String())))) {
			return 0
		}
		return int64(v.Len())
	case reflect.Slice:
		if v.Cap() == 0 || !w.first(v.Pointer()) {
			return 0
		}
		elem := v.Type().Elem()
		n := int64(v.Cap()) * int64(elem.Size())
		return n + w.elements(v, v.Len(), elem)
	case reflect.Array:
		return w.elements(v, v.Len(), v.Type().Elem())
	case reflect.Map:
		if v.Len() == 0 || !w.first(v.Pointer()) {
			return 0
		}
		kt, vt := v.Type().Key(), v.Type().Elem()
		n := int64(v.Len()) * (int64(kt.Size()) + int64(vt.Size()) + 8)
		if hasPointers(kt) || hasPointers(vt) {
			it := v.MapRange()
			for it.Next() {
				w.push(it.Key())
				w.push(it.Value())
			}
		}
		return n
	case reflect.Struct:
		for i := range v.NumField() {
			if hasPointers(v.Type().Field(i).Type) {
				w.push(v.Field(i))
			}
		}
	}
	return 0
}

// elements queues the elements of a slice or array that hold pointers; for
// long ones it samples and scales.
func (w *sizeWalker) elements(v reflect.Value, n int, elem reflect.Type) int64 {
	if n == 0 || !hasPointers(elem) {
		return 0
	}
	const sample = 256
	if n <= sample {
		for i := range n {
			w.push(v.Index(i))
		}
		return 0
	}
	sub := sizeWalker{seen: w.seen}
	var part int64
	for i := 0; i < n; i += n / sample {
		part += sub.visit(v.Index(i))
		for len(sub.stack) > 0 && sub.visits < maxVisits/4 {
			x := sub.stack[len(sub.stack)-1]
			sub.stack = sub.stack[:len(sub.stack)-1]
			part += sub.visit(x)
		}
	}
	return part * int64(n) / int64(sample)
}

func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.String, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}
