// Package wire defines the messages that the processes of a dagr run send
// each other, and their CBOR encoding. Every decoder here takes bytes from
// the network: it rejects what does not decode, what is too large and what
// names nothing, with an error, and never panics.
package wire

import (
	"errors"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Func is one registered function: its name and its type, as the worker's
// build spells them.
type Func struct {
	Name string `cbor:"1,keyasint"`
	Type string `cbor:"2,keyasint"`
}

// Hello is what a worker sends to join a run.
type Hello struct {
	Run      string `cbor:"1,keyasint"` // the run the worker was started for
	Worker   int    `cbor:"2,keyasint"` // the id it was given
	PID      int    `cbor:"3,keyasint"`
	Procs    int    `cbor:"4,keyasint"` // its processors
	Registry []Func `cbor:"5,keyasint"` // its registered functions, sorted by name
}

// Welcome answers a Hello: Refused, when not empty, says why the worker may
// not join, and the worker exits.
type Welcome struct {
	Refused string `cbor:"1,keyasint,omitempty"`
}

// Submit asks a worker to run a task.
type Submit struct {
	Task      uint64            `cbor:"1,keyasint"` // the task's id on the scheduler
	Func      string            `cbor:"2,keyasint"` // a registered function's name
	Args      []cbor.RawMessage `cbor:"3,keyasint"` // each argument, encoded by EncodeValue
	Name      string            `cbor:"4,keyasint,omitempty"`
	Thread    int               `cbor:"5,keyasint,omitempty"` // the processor (from 1) it is pinned to, or 0
	Occupancy float64           `cbor:"6,keyasint,omitempty"` // as in the task's options: 0 the default, -1 none
	Priority  int               `cbor:"7,keyasint,omitempty"`
	Timeout   time.Duration     `cbor:"8,keyasint,omitempty"`
}

// Cancel stops a task a worker runs.
type Cancel struct {
	Task   uint64 `cbor:"1,keyasint"`
	Reason Kind   `cbor:"2,keyasint"` // KindCanceled or KindDeadline
}

// Order is a message to one worker: exactly one field is set.
type Order struct {
	Submit *Submit `cbor:"1,keyasint,omitempty"`
	Cancel *Cancel `cbor:"2,keyasint,omitempty"`
	Stop   bool    `cbor:"3,keyasint,omitempty"` // finish the running tasks, then exit
}

// Done says that a task a worker ran has ended: with Result (encoded by
// EncodeValue; empty for a function that returns no value) or Err.
type Done struct {
	Task   uint64          `cbor:"1,keyasint"`
	Worker int             `cbor:"2,keyasint"`
	Thread int             `cbor:"3,keyasint"` // the processor it ran on
	Result cbor.RawMessage `cbor:"4,keyasint,omitempty"`
	Err    *Error          `cbor:"5,keyasint,omitempty"`
}

// Kind is what kind of failure an Error is, so that errors.Is still holds
// on the other side.
type Kind uint8

// The kinds of failure.
const (
	KindError    Kind = iota // f returned an error, or something else failed
	KindPanic                // f panicked
	KindCanceled             // context.Canceled
	KindDeadline             // context.DeadlineExceeded
)

// Error is a task's failure on a worker.
type Error struct {
	Kind   Kind   `cbor:"1,keyasint"`
	Msg    string `cbor:"2,keyasint"`           // the error's text (for a panic, its value)
	Stack  string `cbor:"3,keyasint,omitempty"` // a panic's stack
	Task   string `cbor:"4,keyasint,omitempty"` // the name of the task that failed first
	Origin int    `cbor:"5,keyasint,omitempty"` // the worker where it failed
}

// MaxMessage is the largest message a decoder accepts.
const MaxMessage = 64 << 20

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	encMode, err = cbor.EncOptions{}.EncMode()
	if err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		MaxNestedLevels:   64,
		MaxArrayElements:  1 << 26,
		MaxMapPairs:       1 << 24,
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// Encode encodes a message.
func Encode(m any) ([]byte, error) { return encMode.Marshal(m) }

// Decode decodes data into m, a pointer to one of this package's messages.
func Decode[M any](data []byte) (*M, error) {
	var m M
	if len(data) > MaxMessage {
		return nil, fmt.Errorf("wire: a %T of %d bytes is over the limit of %d", m, len(data), MaxMessage)
	}
	if err := decMode.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("wire: a %T that does not decode: %w", m, err)
	}
	if v, ok := any(&m).(interface{ check() error }); ok {
		if err := v.check(); err != nil {
			return nil, fmt.Errorf("wire: %T: %w", m, err)
		}
	}
	return &m, nil
}

func (o *Order) check() error {
	n := 0
	if o.Submit != nil {
		n++
	}
	if o.Cancel != nil {
		n++
	}
	if o.Stop {
		n++
	}
	if n != 1 {
		return fmt.Errorf("an order must say one thing, not %d", n)
	}
	switch {
	case o.Submit != nil:
		return o.Submit.check()
	case o.Cancel != nil:
		return o.Cancel.check()
	}
	return nil
}

func (s *Submit) check() error {
	switch {
	case s.Func == "":
		return errors.New("no function named")
	case s.Thread < 0:
		return fmt.Errorf("processor %d", s.Thread)
	case s.Occupancy != -1 && !(s.Occupancy >= 0 && s.Occupancy <= 1):
		return fmt.Errorf("occupancy %v is neither in [0, 1] nor -1", s.Occupancy)
	case s.Timeout < 0:
		return fmt.Errorf("negative timeout %v", s.Timeout)
	}
	return nil
}

func (d *Done) check() error {
	if d.Err != nil && len(d.Result) > 0 {
		return errors.New("both a result and an error")
	}
	if d.Err != nil && d.Err.Kind > KindDeadline {
		return fmt.Errorf("unknown kind of failure %d", d.Err.Kind)
	}
	return nil
}

func (c *Cancel) check() error {
	if c.Reason != KindCanceled && c.Reason != KindDeadline {
		return fmt.Errorf("unknown reason %d", c.Reason)
	}
	return nil
}
