package dagr

import (
	"context"
	"fmt"
)

// Chunk is a reference to a computed value where it was computed (Dagger's
// Chunk): Compute returns one. In a single process every chunk is on worker
// 1 and Fetch returns its value at once. A *Chunk is a valid argument to
// Spawn and Delayed, where it stands for its value.
type Chunk struct {
	value  any
	worker int
}

// Worker returns the id of the worker that holds the value.
func (c *Chunk) Worker() int { return c.worker }

// Fetch returns the chunk's value.
func (c *Chunk) Fetch(ctx context.Context) (any, error) { return c.value, nil }

// String returns a short description, such as "chunk on worker 1".
func (c *Chunk) String() string { return fmt.Sprintf("chunk on worker %d", c.worker) }
