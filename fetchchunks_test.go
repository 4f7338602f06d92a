package dagr_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dagr/dagr"
)

// computeChunk is the chunk of Compute(Delayed(f, args...)), or fails t.
func computeChunk(t *testing.T, ctx context.Context, f any, args ...any) *dagr.Chunk {
	t.Helper()
	c, err := dagr.Compute(ctx, dagr.Delayed(f, args...))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FetchChunks: values in order; FetchChunksAs: a value of another type is
// an error naming its chunk, joined with the others, and its place holds
// the zero T; a nil chunk is an error before anything; an ended context
// is the error.
func TestFetchChunks(t *testing.T) {
	_, ctx := schedulerOf(t, 2)
	ints := []*dagr.Chunk{computeChunk(t, ctx, add, 1, 2), computeChunk(t, ctx, add, 3, 4)}
	word := computeChunk(t, ctx, strings.ToUpper, "x")

	vals, err := dagr.FetchChunks(ctx, ints[0], word, ints[1])
	if err != nil || len(vals) != 3 || vals[0] != 3 || vals[1] != "X" || vals[2] != 7 {
		t.Fatalf("FetchChunks = %v, %v; want [3 X 7]", vals, err)
	}

	got, err := dagr.FetchChunksAs[int](ctx, ints[0], word, ints[1])
	if err == nil || !strings.Contains(err.Error(), "chunks[1] holds a value of type string, not int") {
		t.Fatalf("FetchChunksAs with a string among ints: %v", err)
	}
	if len(got) != 3 || got[0] != 3 || got[1] != 0 || got[2] != 7 {
		t.Fatalf("FetchChunksAs = %v, want [3 0 7]", got)
	}

	if _, err := dagr.FetchChunks(ctx, ints[0], nil); err == nil || !strings.Contains(err.Error(), "chunks[1] is a nil *Chunk") {
		t.Fatalf("a nil chunk: %v", err)
	}
	if vals, err := dagr.FetchChunks(ctx); err != nil || len(vals) != 0 {
		t.Fatalf("no chunks: %v, %v", vals, err)
	}

	ended, cancel := context.WithCancel(ctx)
	cancel()
	if vals, err := dagr.FetchChunks(ended, ints...); vals != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("with an ended context: %v, %v", vals, err)
	}
}

// FetchChunks brings chunks held by another worker, large and small,
// beside one held here.
func TestWorkersFetchChunks(t *testing.T) {
	ctx := withWorkers(t, 1)
	var chunks []*dagr.Chunk
	sizes := []int{4, bigN, 5, 1000, bigN / 2}
	for _, n := range sizes {
		chunks = append(chunks, computeChunk(t, ctx, floats, dagr.Options{Single: 2}, n))
	}
	chunks = append(chunks, computeChunk(t, ctx, floats, dagr.Options{Single: 1}, 3))
	sizes = append(sizes, 3)
	for i, c := range chunks {
		if want := 2 - i/5; c.Worker() != want {
			t.Fatalf("chunk %d is on worker %d, want %d", i, c.Worker(), want)
		}
	}
	got, err := dagr.FetchChunksAs[[]float64](ctx, chunks...)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if n := sizes[i]; len(v) != n || v[n-1] != float64(n-1) {
			t.Fatalf("chunk %d: %d floats, want %d", i, len(v), n)
		}
	}
}
