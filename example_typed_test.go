package dagr_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/dagr/dagr"
)

// The first example of Dagger.jl, typed: the compiler checks that add2
// takes what add1 returns, and s.Fetch returns an int.
func ExampleSpawn1() {
	ctx := context.Background()

	p := dagr.Spawn1(ctx, add1, dagr.Value(4))
	q := dagr.Spawn1(ctx, add2, p) // p's result, an int, is add2's argument
	r := dagr.Spawn1(ctx, add1, dagr.Value(3))
	s := dagr.Gather(ctx, combine, []dagr.TaskOf[int]{p, q, r})

	v, err := s.Fetch(ctx) // v is an int
	fmt.Println(v, err)
	// Output: 16 <nil>
}

func divide(_ context.Context, a, b int) (int, error) {
	if b == 0 {
		return 0, errors.New("divide by zero")
	}
	return a / b, nil
}

// The full form takes the task's context and returns an error: a failure
// flows downstream, through typed and untyped tasks alike.
func ExampleSpawn2Ctx() {
	ctx := context.Background()

	ok := dagr.Spawn2Ctx(ctx, divide, dagr.Value(12), dagr.Value(4))
	bad := dagr.Spawn2Ctx(ctx, divide, ok, dagr.Value(0))
	after := dagr.Spawn1(ctx, add1, bad)

	fmt.Println(ok.Fetch(ctx))
	_, err := after.Fetch(ctx)
	var te *dagr.TaskError
	fmt.Println(errors.As(err, &te) && te.Origin == bad.ID(), te.Err)
	// Output:
	// 3 <nil>
	// true divide by zero
}

// Gather passes the results of a slice of typed tasks to a variadic
// function.
func ExampleGather() {
	ctx := context.Background()

	squares := make([]dagr.TaskOf[int], 5)
	for i := range squares {
		squares[i] = dagr.Spawn2(ctx, func(a, b int) int { return a * b }, dagr.Value(i), dagr.Value(i))
	}
	sum := dagr.Gather(ctx, combine, squares)

	fmt.Println(sum.Fetch(ctx))
	// Output: 30 <nil>
}

// A typed task is the *Task it embeds: pass t.Task where an untyped task
// is wanted, and type an untyped task with a TaskOf literal.
func ExampleTaskOf() {
	ctx := context.Background()

	typed := dagr.Spawn1(ctx, add1, dagr.Value(1))
	untyped := dagr.Spawn(ctx, strconv.Itoa, typed.Task)
	retyped := dagr.TaskOf[string]{Task: untyped}

	s, err := retyped.Fetch(ctx) // s is a string
	fmt.Printf("%q %v\n", s, err)
	// Output: "2" <nil>
}
