package dagr

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/dagr/dagr/internal/cluster"
)

// maxChunkFetches bounds the fetches of FetchChunks that are under way at
// once: enough to keep several workers sending, few enough not to flood
// one with requests.
const maxChunkFetches = 16

// FetchChunks returns the values of chunks, in the same order, each as
// Chunk.Fetch gives it: the values that other workers hold are brought here
// concurrently (at most 16 at a time), not one after the other, and those
// already here cost nothing. The errors of the chunks that could not be
// fetched are joined, each naming its index in chunks, and their places
// hold nil. If ctx ends first, FetchChunks returns nil and ctx.Err(). A
// nil *Chunk is an error, returned before anything is fetched.
func FetchChunks(ctx context.Context, chunks ...*Chunk) ([]any, error) {
	return fetchChunks(ctx, "FetchChunks", chunks, func(_ int, v any) (any, error) { return v, nil })
}

// FetchChunksAs is FetchChunks with the values as T's: a value that is not
// a T is an error for that chunk (joined with the others), not a panic,
// and its place holds the zero T; a nil value is the zero T when T can be
// nil, as with Fetch[T].
func FetchChunksAs[T any](ctx context.Context, chunks ...*Chunk) ([]T, error) {
	return fetchChunks(ctx, "FetchChunksAs", chunks, func(i int, v any) (T, error) {
		r, bad := valueAs[T](v)
		if bad != "" {
			return r, fmt.Errorf("dagr: FetchChunksAs: chunks[%d] holds %s", i, bad)
		}
		return r, nil
	})
}

func fetchChunks[T any](ctx context.Context, op string, chunks []*Chunk, as func(int, any) (T, error)) ([]T, error) {
	for i, c := range chunks {
		if c == nil {
			return nil, fmt.Errorf("dagr: %s: chunks[%d] is a nil *Chunk", op, i)
		}
	}
	ctx = orBackground(ctx)
	results := make([]T, len(chunks))
	errs := make([]error, len(chunks))
	fetch := func(i int) {
		v, err := chunks[i].Fetch(ctx)
		if err == nil {
			results[i], err = as(i, v)
		} else {
			err = fmt.Errorf("chunks[%d]: %w", i, err)
		}
		errs[i] = err
	}
	var (
		wg    sync.WaitGroup
		slots = make(chan struct{}, maxChunkFetches)
	)
	for i, c := range chunks {
		if _, remote := c.value.(*cluster.Value); !remote {
			fetch(i) // here already: no goroutine
			continue
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			fetch(i)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return results, errors.Join(errs...)
}
