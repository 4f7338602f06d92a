package cluster

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/dagr/dagr/internal/call"
	"github.com/dagr/dagr/internal/wire"
)

// Registry holds the functions that may run on any worker, by name. Every
// process of a run registers the same functions, since it runs the same
// binary: a worker whose registry differs is refused.
type Registry struct {
	mu    sync.Mutex
	funcs map[string]any
	errs  []error
}

// Register adds functions; a value that cannot be a task's function is
// kept as an error, which Err returns.
func (r *Registry) Register(fs ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.funcs == nil {
		r.funcs = make(map[string]any)
	}
	for _, f := range fs {
		if _, err := call.Analyze(f); err != nil {
			r.errs = append(r.errs, fmt.Errorf("dagr: Register: %w", err))
			continue
		}
		r.funcs[call.Name(f)] = f
	}
}

// Err returns the errors of Register, joined.
func (r *Registry) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.errs...)
}

// Lookup returns the function registered under name.
func (r *Registry) Lookup(name string) (any, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.funcs[name]
	return f, ok
}

// Registered reports whether f is registered, and its name.
func (r *Registry) Registered(f any) (string, bool) {
	name := call.Name(f)
	g, ok := r.Lookup(name)
	if !ok || reflect.ValueOf(g).Pointer() != reflect.ValueOf(f).Pointer() || reflect.TypeOf(g) != reflect.TypeOf(f) {
		return name, false
	}
	return name, true
}

// Funcs lists the registered functions, sorted by name.
func (r *Registry) Funcs() []wire.Func {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]wire.Func, 0, len(r.funcs))
	for name, f := range r.funcs {
		out = append(out, wire.Func{Name: name, Type: reflect.TypeOf(f).String()})
	}
	slices.SortFunc(out, func(a, b wire.Func) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Diff says how a worker's registry (theirs) differs from this process's
// (ours), or returns "" when they are the same.
func Diff(ours, theirs []wire.Func) string {
	mine := make(map[string]string, len(ours))
	for _, f := range ours {
		mine[f.Name] = f.Type
	}
	var extra, changed []string
	seen := make(map[string]bool, len(theirs))
	for _, f := range theirs {
		seen[f.Name] = true
		switch t, ok := mine[f.Name]; {
		case !ok:
			extra = append(extra, f.Name+" ("+f.Type+")")
		case t != f.Type:
			changed = append(changed, fmt.Sprintf("%s (%s here, %s there)", f.Name, t, f.Type))
		}
	}
	var missing []string
	for _, f := range ours {
		if !seen[f.Name] {
			missing = append(missing, f.Name+" ("+f.Type+")")
		}
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "it lacks "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		parts = append(parts, "it has functions this build lacks: "+strings.Join(extra, ", "))
	}
	if len(changed) > 0 {
		parts = append(parts, "functions of other types: "+strings.Join(changed, ", "))
	}
	return strings.Join(parts, "; ")
}
