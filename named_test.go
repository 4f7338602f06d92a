package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dagr/dagr"
)

// TestNamedTaskName: a Named function's tasks and thunks take its name;
// Options.Name given to the spawn wins, and Named of a Named renames it.
func TestNamedTaskName(t *testing.T) {
	ctx := manyCtx(t, 2)
	closure := func(x int) int { return x * 2 }
	plain := dagr.Spawn(ctx, closure, 1).Name()
	if plain == "load" || plain == "" {
		t.Fatalf("a closure's task is called %q", plain)
	}
	for _, c := range []struct {
		name string
		f    any
		args []any
		want string
	}{
		{"named", dagr.Named("load", closure), []any{1}, "load"},
		{"with options", dagr.Named("load", closure), []any{dagr.Options{Priority: 1}, 1}, "load"},
		{"options name wins", dagr.Named("load", closure), []any{dagr.Options{Name: "mine"}, 1}, "mine"},
		{"renamed", dagr.Named("outer", dagr.Named("inner", closure)), []any{1}, "outer"},
		{"empty name", dagr.Named("", closure), []any{1}, plain},
		{"declared function", dagr.Named("plus one", add1), []any{1}, "plus one"},
	} {
		t.Run(c.name, func(t *testing.T) {
			task := dagr.Spawn(ctx, c.f, c.args...)
			if got := task.Name(); got != c.want {
				t.Errorf("Spawn: Name() = %q, want %q", got, c.want)
			}
			if _, err := task.Fetch(ctx); err != nil {
				t.Errorf("Spawn: %v", err)
			}
			if got := dagr.Delayed(c.f, c.args...).Name(); got != c.want {
				t.Errorf("Delayed: Name() = %q, want %q", got, c.want)
			}
		})
	}
}

// TestNamedRuns: a Named function is called as f itself would be, with
// its dependencies, its context and its options; the caller's arguments
// are left as they were.
func TestNamedRuns(t *testing.T) {
	ctx := manyCtx(t, 2)
	two := dagr.Spawn(ctx, add1, 1)
	args := []any{dagr.Options{Priority: 3}, two, 40}
	sum := dagr.Spawn(ctx, dagr.Named("sum", add), args...)
	if v, err := dagr.Fetch[int](ctx, sum); v != 42 || err != nil {
		t.Errorf("sum = %v, %v; want 42, nil", v, err)
	}
	if o := args[0].(dagr.Options); o.Name != "" {
		t.Errorf("the caller's Options were written: Name = %q", o.Name)
	}

	withCtx := dagr.Named("ctx", func(ctx context.Context, s string) (string, error) {
		return s + "!", ctx.Err()
	})
	if v, err := dagr.Fetch[string](ctx, dagr.Spawn(ctx, withCtx, "hi")); v != "hi!" || err != nil {
		t.Errorf("a Named function of a context = %q, %v", v, err)
	}
	if v, err := dagr.Collect(ctx, dagr.Delayed(dagr.Named("sum", add), dagr.Delayed(add1, 1), 40)); v != 42 || err != nil {
		t.Errorf("Collect of a Named thunk = %v, %v; want 42, nil", v, err)
	}
}

// TestNamedBadCall: a Named value that is not a function, or a bad call,
// fails the task as Spawn would, under the name.
func TestNamedBadCall(t *testing.T) {
	ctx := manyCtx(t, 1)
	for _, c := range []struct {
		name string
		f    any
		args []any
		want string
	}{
		{"not a function", dagr.Named("answer", 42), nil, "not a function"},
		{"nil function", dagr.Named("nothing", nil), nil, "nil"},
		{"wrong count", dagr.Named("plus one", add1), []any{1, 2}, "argument"},
	} {
		t.Run(c.name, func(t *testing.T) {
			task := dagr.Spawn(ctx, c.f, c.args...)
			_, err := task.Fetch(ctx)
			var te *dagr.TaskError
			if !errors.As(err, &te) {
				t.Fatalf("Fetch = %v, want a *TaskError", err)
			}
			if te.Name != task.Name() || !strings.Contains(err.Error(), "("+task.Name()+")") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q (Name %q) does not name the task %q, or say %q", err, te.Name, task.Name(), c.want)
			}
		})
	}
}

// TestNamedErrors: the name is in the *TaskError of the task, and in those
// of the tasks downstream of it, as the origin; and in the error of a
// computation it aborts.
func TestNamedErrors(t *testing.T) {
	ctx := manyCtx(t, 2)
	errNoTable := errors.New("no such table")
	load := dagr.Named("load", func(table string) ([]string, error) { return nil, errNoTable })
	report := dagr.Named("report", func(rows []string) int { return len(rows) })

	rows := dagr.Spawn(ctx, load, "users")
	n := dagr.Spawn(ctx, report, rows)
	_, err := n.Fetch(ctx)
	var te *dagr.TaskError
	if !errors.As(err, &te) || !errors.Is(err, errNoTable) {
		t.Fatalf("Fetch = %v, want a *TaskError wrapping errNoTable", err)
	}
	want := fmt.Sprintf("dagr: task %d (report) failed because task %d (load) failed: no such table", n.ID(), rows.ID())
	if te.Name != "report" || err.Error() != want {
		t.Errorf("error = %q (Name %q), want %q", err, te.Name, want)
	}
	if _, err := rows.Fetch(ctx); err == nil || !strings.Contains(err.Error(), "(load) failed: no such table") {
		t.Errorf("the origin's error %q does not name it", err)
	}

	_, err = dagr.Compute(ctx, dagr.Delayed(report, dagr.Delayed(load, "users")))
	if !errors.Is(err, errNoTable) || !strings.Contains(err.Error(), "(load)") {
		t.Errorf("Compute = %v, want an error naming load", err)
	}
}

// TestNamedEventLog: the event log names the task's spawn with the name.
func TestNamedEventLog(t *testing.T) {
	ctx := manyCtx(t, 1)
	dagr.EnableLogging(ctx, 0)
	task := dagr.Spawn(ctx, dagr.Named("load", func() int { return 1 }))
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	evs, _ := dagr.FetchLogs(ctx)
	found := false
	for _, e := range evs {
		if e.Kind == dagr.EventSpawn && e.Task == task.ID() {
			found = true
			if e.Name != "load" {
				t.Errorf("EventSpawn.Name = %q, want %q", e.Name, "load")
			}
		}
	}
	if !found {
		t.Errorf("no EventSpawn for %v in %d events", task, len(evs))
	}
}
