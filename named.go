package dagr

// Named returns f under the name name, for Spawn and Delayed to take in
// place of f: each task (or thunk) made from it is called name, in
// Task.Name, in the messages of its errors (*TaskError), in the event log
// (Event.Name) and in pictures, instead of the name that Go gives f (such
// as main.main.func3.4 for a closure). It is Options{Name: name} given to
// every spawn of f, written once: an Options.Name given to a spawn wins
// over it. Named of a value that Named returned renames it; an empty name
// leaves the default. Nothing else about f changes: Spawn checks and calls
// it as it would f itself (f not a function is the task's error, as
// usual), and a function registered for workers runs on them as before
// (Register f itself, not the value that Named returns). Only Spawn and
// Delayed take the value: passed as an argument, it is a value like any.
func Named(name string, f any) any {
	if n, ok := f.(namedFunc); ok {
		f = n.f
	}
	return namedFunc{name: name, f: f}
}

// namedFunc is what Named returns: a function and the name of its tasks.
type namedFunc struct {
	name string
	f    any
}

// unname returns the function that f stands for when Named made it, and
// args with its name in their Options (added first if there were none),
// unless they name the task already. The caller's args are not written: a
// copy is returned when they change. Anything else is returned as is.
func unname(f any, args []any) (any, []any) {
	n, ok := f.(namedFunc)
	if !ok {
		return f, args
	}
	if n.name == "" {
		return n.f, args
	}
	if len(args) > 0 {
		if o, ok := args[0].(Options); ok {
			if o.Name != "" {
				return n.f, args
			}
			o.Name = n.name
			return n.f, append([]any{o}, args[1:]...)
		}
	}
	return n.f, append([]any{Options{Name: n.name}}, args...)
}
