// Seed is the first example of Dagger.jl, in Go:
//
//	add1(value) = value + 1
//	add2(value) = value + 2
//	combine(a...) = sum(a)
//	p = Dagger.@spawn add1(4)
//	q = Dagger.@spawn add2(p)
//	r = Dagger.@spawn add1(3)
//	s = Dagger.@spawn combine(p, q, r)
//	@assert fetch(s) == 16
//
// p, q and r are tasks; passing them to Spawn makes them dependencies, so
// q waits for p and s for all three, while p and r run in parallel. It
// prints 16.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/dagr/dagr"
)

func add1(value int) int { return value + 1 }

func add2(value int) int { return value + 2 }

func combine(a ...int) int {
	sum := 0
	for _, v := range a {
		sum += v
	}
	return sum
}

func main() {
	dagr.Main()
	ctx := context.Background()

	p := dagr.Spawn(ctx, add1, 4)
	q := dagr.Spawn(ctx, add2, p)
	r := dagr.Spawn(ctx, add1, 3)
	s := dagr.Spawn(ctx, combine, p, q, r)

	v, err := dagr.Fetch[int](ctx, s)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(v)
}
