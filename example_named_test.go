package dagr_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/dagr/dagr"
)

// Named gives the tasks of a closure a name, for errors and logs; an
// Options.Name given to a spawn wins over it.
func ExampleNamed() {
	ctx := context.Background()
	load := dagr.Named("load", func(table string) ([]string, error) {
		return nil, fmt.Errorf("no table %q", table)
	})

	t := dagr.Spawn(ctx, load, "users")
	_, err := t.Fetch(ctx)
	var te *dagr.TaskError
	if errors.As(err, &te) {
		fmt.Println(te.Name, "failed:", te.Err)
	}
	fmt.Println(dagr.Spawn(ctx, load, dagr.Options{Name: "load users"}, "users").Name())
	// Output:
	// load failed: no table "users"
	// load users
}

// A task whose every try fails says how many tries ran.
func ExampleTaskError_tries() {
	ctx := context.Background()
	flaky := func() error { return errors.New("disk full") }

	_, err := dagr.Spawn(ctx, flaky, dagr.Options{Retries: 2}).Fetch(ctx)
	var te *dagr.TaskError
	if errors.As(err, &te) {
		fmt.Println(te.Tries)
		fmt.Println(te.Err)
	}
	// Output:
	// 3
	// disk full (after 3 tries)
}
