package dagr

import (
	"context"
	"fmt"

	"github.com/dagr/dagr/internal/call"
	"github.com/dagr/dagr/internal/cluster"
)

// Chunk is a reference to a computed value where it was computed (Dagger's
// Chunk): Compute returns one. In a single process every chunk is on worker
// 1 and Fetch returns its value at once; a chunk computed on another
// worker stays there until it is fetched or a task elsewhere needs it. A
// *Chunk is a valid argument to Spawn and Delayed, where it stands for its
// value, which a task on the chunk's worker takes without moving it.
type Chunk struct {
	value any // the value, or a *cluster.Value
}

// Worker returns the id of the worker that holds the value.
func (c *Chunk) Worker() int { return whereIs(c.value) }

// Fetch returns the chunk's value, bringing it here from the worker that
// holds it if need be. The value stays on that worker too.
func (c *Chunk) Fetch(ctx context.Context) (any, error) {
	v, err := here(orBackground(ctx), c.value)
	if err != nil {
		return nil, fmt.Errorf("dagr: fetching a %v: %w", c, err)
	}
	return v, nil
}

// String returns a short description, such as "chunk on worker 1".
func (c *Chunk) String() string { return fmt.Sprintf("chunk on worker %d", c.Worker()) }

// acceptedBy checks that the i-th parameter of f, whose signature is sig,
// takes c's value; name names f in the error, if not "".
func (c *Chunk) acceptedBy(sig *call.Sig, f any, name string, i int) error {
	if v, remote := c.value.(*cluster.Value); remote {
		return sig.AcceptsType(f, name, i, v.RemoteType())
	}
	return sig.Accepts(f, name, i, c.value, 0)
}
