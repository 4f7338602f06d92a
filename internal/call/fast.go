package call

import (
	"context"
	"reflect"
	"slices"
)

// fastCalls maps common function types to callers that avoid
// reflect.Value.Call. Arguments were checked before the call, so the
// comma-ok assertions only turn a nil argument into the zero value.
var fastCalls = map[reflect.Type]func(fn any, ctx context.Context, args []any) (any, error){}

func init() {
	addFast(func(f func(), _ context.Context, _ []any) (any, error) { f(); return nil, nil })
	addFast(func(f func() error, _ context.Context, _ []any) (any, error) { return nil, f() })
	addFast(func(f func() any, _ context.Context, _ []any) (any, error) { return f(), nil })
	addFast(func(f func() int, _ context.Context, _ []any) (any, error) { return f(), nil })
	addFast(func(f func(context.Context), ctx context.Context, _ []any) (any, error) { f(ctx); return nil, nil })
	addFast(func(f func(context.Context) error, ctx context.Context, _ []any) (any, error) { return nil, f(ctx) })
	addFast(func(f func(context.Context) (any, error), ctx context.Context, _ []any) (any, error) {
		return valueErr(f(ctx))
	})
	addFast(func(f func(int), _ context.Context, a []any) (any, error) { f(as[int](a[0])); return nil, nil })
	addFast(func(f func(int) int, _ context.Context, a []any) (any, error) { return f(as[int](a[0])), nil })
	addFast(func(f func(int) (int, error), _ context.Context, a []any) (any, error) {
		return valueErr(f(as[int](a[0])))
	})
	addFast(func(f func(int, int) int, _ context.Context, a []any) (any, error) {
		return f(as[int](a[0]), as[int](a[1])), nil
	})
	addFast(func(f func(context.Context, int) (int, error), ctx context.Context, a []any) (any, error) {
		return valueErr(f(ctx, as[int](a[0])))
	})
	addFast(func(f func(context.Context, int) int, ctx context.Context, a []any) (any, error) {
		return f(ctx, as[int](a[0])), nil
	})
	addFast(func(f func(float64) float64, _ context.Context, a []any) (any, error) {
		return f(as[float64](a[0])), nil
	})
	addFast(func(f func(float64, float64) float64, _ context.Context, a []any) (any, error) {
		return f(as[float64](a[0]), as[float64](a[1])), nil
	})
	addFast(func(f func(any) any, _ context.Context, a []any) (any, error) { return f(a[0]), nil })
	addFast(func(f func(any, any) any, _ context.Context, a []any) (any, error) { return f(a[0], a[1]), nil })
	addFast(func(f func(...int) int, _ context.Context, a []any) (any, error) { return f(variadic[int](a)...), nil })
	addFast(func(f func(context.Context, ...int) (int, error), ctx context.Context, a []any) (any, error) {
		return valueErr(f(ctx, variadic[int](a)...))
	})
	addFast(func(f func(...float64) float64, _ context.Context, a []any) (any, error) {
		return f(variadic[float64](a)...), nil
	})
	addFast(func(f func(...any) any, _ context.Context, a []any) (any, error) {
		// f gets a slice of its own, as it would through reflect: what it
		// writes there must not reach the task's arguments, which a retry
		// passes again.
		return f(slices.Clone(a)...), nil
	})
}

func addFast[F any](call func(f F, ctx context.Context, args []any) (any, error)) {
	fastCalls[reflect.TypeFor[F]()] = func(fn any, ctx context.Context, args []any) (any, error) {
		return call(fn.(F), ctx, args)
	}
}

func fastCall(t reflect.Type) func(fn any, ctx context.Context, args []any) (any, error) {
	return fastCalls[t]
}

func as[T any](v any) T {
	t, _ := v.(T)
	return t
}

func variadic[T any](a []any) []T {
	out := make([]T, len(a))
	for i, v := range a {
		out[i] = as[T](v)
	}
	return out
}

func valueErr[R any](r R, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return r, nil
}
