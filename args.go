package dagr

// Args returns xs as a []any, so that a slice of tasks (or of anything)
// passes as the variadic arguments of Spawn or Delayed:
//
//	total := dagr.Spawn(ctx, sum, dagr.Args(parts)...) // parts is a []*dagr.Task
//
// Go does not convert a []*Task to the []any that Spawn's arguments are.
// For a slice of typed tasks, Gather spawns a variadic function checked
// by the compiler.
func Args[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}
