// Package wire defines the messages that the processes of a dagr run send
// each other, and their CBOR encoding. Every decoder here takes bytes from
// the network: it rejects what does not decode, what is too large and what
// names nothing, with an error, and never panics.
package wire

import (
	"context"
	"errors"
	"fmt"
	"math"
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
	// Token is a worker's own random name when it joins by URL: it sends
	// a first Hello with Worker 0 to get an id (Welcome.Worker), then one
	// with that id and the same Token once it listens for its tasks.
	Token string `cbor:"6,keyasint,omitempty"`
	// Proof proves, with a first Hello, that the worker has the run's
	// secret key: an HMAC of the run and Token.
	Proof string `cbor:"7,keyasint,omitempty"`
}

// Welcome answers a Hello: Refused, when not empty, says why the worker may
// not join, and the worker exits.
type Welcome struct {
	Refused string        `cbor:"1,keyasint,omitempty"`
	Worker  int           `cbor:"2,keyasint,omitempty"` // the id given to a worker that joins by URL
	Beat    time.Duration `cbor:"3,keyasint,omitempty"` // how often it sends a heartbeat
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
	// Timeout is the time that was left, when worker 1 sent the task,
	// until the deadline of its context there (its Options.Timeout's, or
	// its spawner's), or 0 for none: the worker gives the task's context
	// that deadline. Worker 1 keeps it too, and ends the task by it.
	Timeout time.Duration `cbor:"8,keyasint,omitempty"`
	// Log says that worker 1 keeps an event log: the worker keeps one too,
	// and sends worker 1 the events of the tasks that live on it only.
	Log bool `cbor:"9,keyasint,omitempty"`
	// Scoped are the options that the task's context carries, for the
	// tasks it spawns on the worker; nil if it carries none.
	Scoped *Scoped `cbor:"10,keyasint,omitempty"`
}

// Scoped is what travels of the options that a task's context carries
// (dagr.WithOptions): those that the tasks it spawns take where they do
// not set their own. The functions among them (Checkpoint, Restore) stay
// where they were set. Each field is the program's value as it gave it,
// checked, as on worker 1, where a task takes it (a negative Retries
// fails that task, saying so): a decoder checks only the form of Scope.
type Scoped struct {
	Name   string `cbor:"1,keyasint,omitempty"`
	Single int    `cbor:"2,keyasint,omitempty"`
	// Scope is the set of processors of the options' Scope, as the union
	// of its blocks; Nowhere says that the options have a Scope that
	// allows none. Neither: they have no Scope.
	Scope        []Block       `cbor:"3,keyasint,omitempty"`
	Nowhere      bool          `cbor:"4,keyasint,omitempty"`
	Occupancy    float64       `cbor:"5,keyasint,omitempty"`
	TimeUtil     time.Duration `cbor:"6,keyasint,omitempty"`
	AllocUtil    int64         `cbor:"7,keyasint,omitempty"`
	GetResult    bool          `cbor:"8,keyasint,omitempty"`
	Persist      bool          `cbor:"9,keyasint,omitempty"`
	Cache        bool          `cbor:"10,keyasint,omitempty"`
	AllowError   bool          `cbor:"11,keyasint,omitempty"`
	Retries      int           `cbor:"12,keyasint,omitempty"`
	Timeout      time.Duration `cbor:"13,keyasint,omitempty"`
	Priority     int           `cbor:"14,keyasint,omitempty"`
	WorkerDeaths int           `cbor:"15,keyasint,omitempty"`
	RunOnce      bool          `cbor:"16,keyasint,omitempty"`
}

// Block is a block of the processors of a scope: those numbered Threads
// of the workers Workers. Each list increases from 1, without repeats;
// an empty one is every worker, or every processor.
type Block struct {
	Workers []int `cbor:"1,keyasint,omitempty"`
	Threads []int `cbor:"2,keyasint,omitempty"`
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
	Result *Result `cbor:"4,keyasint,omitempty"` // a task the worker spawned or watches has ended
}

// Up is a message from a worker to worker 1 about the tasks that live
// there: exactly one field is set.
//
// Everything a worker sends worker 1 after it joined travels as an Up on
// one subject, so that worker 1 handles it in the order it was sent: a
// task the worker spawned is known before any result that names it.
type Up struct {
	Spawn  *Spawn  `cbor:"1,keyasint,omitempty"`
	Watch  *Watch  `cbor:"2,keyasint,omitempty"`
	Cancel *Cancel `cbor:"3,keyasint,omitempty"` // cancel a task the worker spawned
	Done   *Done   `cbor:"4,keyasint,omitempty"` // a task worker 1 submitted has ended
	// Release says that the worker dropped its handle of a task it spawned
	// (Spawn.Task), which no other process can name: worker 1 may forget
	// it.
	Release *Watch `cbor:"5,keyasint,omitempty"`
	// Events are events of the worker's own event log, which it keeps
	// while worker 1 keeps one (Submit.Log).
	Events *Events `cbor:"6,keyasint,omitempty"`
}

// Events carries events that worker From logged: those of the tasks that
// live on it only, which worker 1 does not see.
type Events struct {
	From    int        `cbor:"1,keyasint"`
	Events  []LogEvent `cbor:"2,keyasint"`
	Dropped uint64     `cbor:"3,keyasint,omitempty"` // events its log dropped before these
}

// LogEvent is an event of a worker's log. Task ids are in the worker's
// space (TaskID), or those of tasks that live on worker 1.
type LogEvent struct {
	Kind    uint8    `cbor:"1,keyasint"`
	Task    uint64   `cbor:"2,keyasint"`
	Time    int64    `cbor:"3,keyasint"` // Unix nanoseconds, on the worker's clock
	Name    string   `cbor:"4,keyasint,omitempty"`
	Deps    []uint64 `cbor:"5,keyasint,omitempty"`
	Proc    int      `cbor:"6,keyasint,omitempty"`
	Outcome uint8    `cbor:"7,keyasint,omitempty"`
	Origin  uint64   `cbor:"8,keyasint,omitempty"`
	Occ     uint32   `cbor:"9,keyasint,omitempty"`
}

// Spawn asks worker 1 to spawn a task for a task that runs on worker From.
// Task is the id the worker chose for it (see TaskID): the worker may name
// it in later messages, and in values, before worker 1 has seen this one.
type Spawn struct {
	Task      uint64            `cbor:"1,keyasint"`
	From      int               `cbor:"2,keyasint"`
	Func      string            `cbor:"3,keyasint"`
	Args      []cbor.RawMessage `cbor:"4,keyasint"` // each encoded by EncodeValue, or a task by EncodeRef
	Name      string            `cbor:"5,keyasint,omitempty"`
	Single    int               `cbor:"6,keyasint,omitempty"`
	Workers   []int             `cbor:"7,keyasint,omitempty"` // a WorkerScope, or the worker of an ExactScope
	Thread    int               `cbor:"8,keyasint,omitempty"` // the processor of an ExactScope
	Occupancy float64           `cbor:"9,keyasint,omitempty"`
	Priority  int               `cbor:"10,keyasint,omitempty"`
	Timeout   time.Duration     `cbor:"11,keyasint,omitempty"`
	Retries   int               `cbor:"12,keyasint,omitempty"`
	// Refs are the task references in Args (RefsIn), once per occurrence:
	// worker 1 holds those tasks until this one ends.
	Refs []uint64 `cbor:"13,keyasint,omitempty"`
	// WorkerDeaths and RunOnce are the task's Options of those names.
	WorkerDeaths int  `cbor:"14,keyasint,omitempty"`
	RunOnce      bool `cbor:"15,keyasint,omitempty"`
	// TimeUtil, AllocUtil, GetResult and Persist are the task's Options
	// of those names.
	TimeUtil  time.Duration `cbor:"16,keyasint,omitempty"`
	AllocUtil int64         `cbor:"17,keyasint,omitempty"`
	GetResult bool          `cbor:"18,keyasint,omitempty"`
	Persist   bool          `cbor:"19,keyasint,omitempty"`
	// Scoped are the options that the spawning context carries, for the
	// tasks that the task spawns in turn; nil if it carries none.
	Scoped *Scoped `cbor:"20,keyasint,omitempty"`
	// Within is the time that was left, when the worker sent this, until
	// the deadline of the spawning context, or 0 for none: worker 1 spawns
	// the task with a context of that deadline (the worker also cancels
	// the task when its context ends).
	Within time.Duration `cbor:"21,keyasint,omitempty"`
}

// Watch asks worker 1 to send worker From the Result of a task.
type Watch struct {
	Task uint64 `cbor:"1,keyasint"`
	From int    `cbor:"2,keyasint"`
	// Retry asks again for the Result of a task whose value From could not
	// pull: its holder may have died. It adds no hold.
	Retry bool `cbor:"3,keyasint,omitempty"`
}

// Result is the end of a task that lives on worker 1, sent to a worker
// that spawned it or watches it.
type Result struct {
	Task   uint64          `cbor:"1,keyasint"`
	Func   string          `cbor:"2,keyasint,omitempty"` // the task's function, whose result type Result decodes into
	Result cbor.RawMessage `cbor:"3,keyasint,omitempty"`
	Err    *Error          `cbor:"4,keyasint,omitempty"`
}

// Pull asks the process that holds a value (see Held) for a piece of its
// encoding, or, with Free, to drop it.
type Pull struct {
	Key    uint64 `cbor:"1,keyasint"`
	Offset int64  `cbor:"2,keyasint,omitempty"`
	Len    int    `cbor:"3,keyasint,omitempty"`
	Free   bool   `cbor:"4,keyasint,omitempty"`
}

// Beat is a worker's heartbeat, a request sent on a subject of its own
// every third of the run's worker timeout: a worker that sends none for
// that long is declared dead. The answer is a Welcome, Refused once
// worker 1 no longer counts the worker in the run: the worker then exits.
type Beat struct {
	Worker int `cbor:"1,keyasint"`
	// Leaving says that the worker stopped, as worker 1 asked: it is
	// gone once worker 1 has this.
	Leaving bool `cbor:"2,keyasint,omitempty"`
	// Proof proves, with Leaving, that the worker has the run's secret key.
	Proof string `cbor:"3,keyasint,omitempty"`
	// Pulled is the number of bytes of values that the worker pulled from
	// other processes so far, for worker 1's statistics.
	Pulled int64 `cbor:"4,keyasint,omitempty"`
}

// Gone tells every process of a run that worker 1 declared Worker dead:
// what they pull from it stops at once.
type Gone struct {
	Worker int `cbor:"1,keyasint"`
}

// Ask is a worker's request to worker 1 about the run: the live workers,
// or, with Remove, to stop one of them. The answer is an Answer.
type Ask struct {
	Remove int `cbor:"1,keyasint,omitempty"`
}

// Answer answers an Ask: the live workers, or why the ask failed.
type Answer struct {
	Workers []int  `cbor:"1,keyasint,omitempty"`
	Err     string `cbor:"2,keyasint,omitempty"`
}

// TaskID is the id of the n-th task that worker w spawns: ids that
// workers choose never meet those of worker 1, which count from 1 up.
func TaskID(w int, n uint64) uint64 { return uint64(w)<<48 | n&(1<<48-1) }

// Done says that a task a worker ran has ended: with Result (encoded by
// EncodeValue; empty for a function that returns no value) or Err.
type Done struct {
	Task   uint64          `cbor:"1,keyasint"`
	Worker int             `cbor:"2,keyasint"`
	Thread int             `cbor:"3,keyasint"` // the processor it ran on
	Result cbor.RawMessage `cbor:"4,keyasint,omitempty"`
	Err    *Error          `cbor:"5,keyasint,omitempty"`
	// Refs are the task references in Result (RefsIn), once per
	// occurrence: worker 1 holds those tasks while the result may be
	// decoded.
	Refs []uint64 `cbor:"6,keyasint,omitempty"`
	// Missing is the worker that kept an argument that the task could not
	// pull: it may have died, and the argument may be made again.
	Missing int `cbor:"7,keyasint,omitempty"`
	// Started and Ended are when the task ran, in Unix nanoseconds on the
	// worker's clock, for worker 1's event log.
	Started int64 `cbor:"8,keyasint,omitempty"`
	Ended   int64 `cbor:"9,keyasint,omitempty"`
	// Moved is the number of bytes of the task's arguments that the
	// worker pulled from other processes, for worker 1's event log.
	Moved int64 `cbor:"10,keyasint,omitempty"`
	// Pulled is the number of bytes that the worker pulled from other
	// processes so far, as in Beat.
	Pulled int64 `cbor:"11,keyasint,omitempty"`
	// Lost says, in the Done that worker 1 makes for a task whose worker
	// died while it ran, that the worker and not the task failed. It never
	// travels.
	Lost bool `cbor:"-"`
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
	// Tries is how many times the task that failed first ran its function,
	// when it ran it more than once (its Options.Retries): Msg is then the
	// last try's error. 0 when it ran once, or not at all; at most
	// MaxTries.
	Tries int `cbor:"6,keyasint,omitempty"`
	// OriginTask is the id of the task that failed first, when that is
	// not the task whose end this is (a failure that flowed down to it,
	// or that its function returned from a task it fetched), or 0: the
	// receiver's error names it as the origin, as the sender's did.
	OriginTask uint64 `cbor:"7,keyasint,omitempty"`
}

// MaxTries is the most tries an Error may count: more than any task
// makes, and an int on every platform.
const MaxTries = math.MaxInt32

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

// count is the number of things a message says.
func count(set ...bool) int {
	n := 0
	for _, b := range set {
		if b {
			n++
		}
	}
	return n
}

func (o *Order) check() error {
	if n := count(o.Submit != nil, o.Cancel != nil, o.Stop, o.Result != nil); n != 1 {
		return fmt.Errorf("an order must say one thing, not %d", n)
	}
	switch {
	case o.Submit != nil:
		return o.Submit.check()
	case o.Cancel != nil:
		return o.Cancel.check()
	case o.Result != nil && o.Result.Err != nil && len(o.Result.Result) > 0:
		return errors.New("a result with both a value and an error")
	case o.Result != nil && o.Result.Err != nil:
		if err := o.Result.Err.check(); err != nil {
			return fmt.Errorf("the result of task %d: %w", o.Result.Task, err)
		}
	case o.Result != nil:
		return validRaw(o.Result.Result)
	}
	return nil
}

func (u *Up) check() error {
	if n := count(u.Spawn != nil, u.Watch != nil, u.Cancel != nil, u.Done != nil, u.Release != nil, u.Events != nil); n != 1 {
		return fmt.Errorf("a message must say one thing, not %d", n)
	}
	switch {
	case u.Spawn != nil:
		if u.Spawn.Func == "" {
			return errors.New("no function named")
		}
		if err := validRaw(u.Spawn.Args...); err != nil {
			return err
		}
		if err := u.Spawn.Scoped.check(); err != nil {
			return fmt.Errorf("spawn of %s: %w", u.Spawn.Func, err)
		}
		if u.Spawn.Within < 0 {
			return fmt.Errorf("spawn of %s: negative time %v to its spawner's deadline", u.Spawn.Func, u.Spawn.Within)
		}
		return CheckOptions(u.Spawn.Thread, u.Spawn.Occupancy, u.Spawn.Timeout)
	case u.Cancel != nil:
		return u.Cancel.check()
	case u.Done != nil:
		return u.Done.check()
	case u.Events != nil:
		return u.Events.check()
	}
	return nil
}

// The bounds of an Events message: the events it carries, and in each,
// the bytes of a task's name and the tasks it depends on.
const (
	MaxEvents    = 1 << 12
	maxEventName = 1 << 12
	maxEventDeps = 1 << 16
	fullOcc      = 1 << 20 // a whole processor, as the engine counts occupancy
	maxProcs     = 1 << 16
)

func (e *Events) check() error {
	if len(e.Events) > MaxEvents {
		return fmt.Errorf("%d events in one message, more than %d", len(e.Events), MaxEvents)
	}
	for i, ev := range e.Events {
		var bad string
		switch {
		case ev.Task>>48 != uint64(e.From): // a worker logs its own tasks only
			bad = fmt.Sprintf("task %d is not one of worker %d's", ev.Task, e.From)
		case ev.Kind < 1 || ev.Kind > 4: // the kinds of the event log, from 1
			bad = fmt.Sprintf("kind %d", ev.Kind)
		case ev.Outcome > 3:
			bad = fmt.Sprintf("outcome %d", ev.Outcome)
		case ev.Proc < -1 || ev.Proc >= maxProcs:
			bad = fmt.Sprintf("processor %d", ev.Proc)
		case ev.Occ > fullOcc:
			bad = fmt.Sprintf("occupancy %d, more than a whole processor (%d)", ev.Occ, fullOcc)
		case ev.Time <= 0:
			bad = fmt.Sprintf("time %d", ev.Time)
		case len(ev.Name) > maxEventName:
			bad = fmt.Sprintf("a name of %d bytes, more than %d", len(ev.Name), maxEventName)
		case len(ev.Deps) > maxEventDeps:
			bad = fmt.Sprintf("%d dependencies, more than %d", len(ev.Deps), maxEventDeps)
		}
		if bad != "" {
			return fmt.Errorf("event %d of %d from worker %d: %s", i+1, len(e.Events), e.From, bad)
		}
	}
	return nil
}

func (s *Submit) check() error {
	if s.Func == "" {
		return errors.New("no function named")
	}
	if err := validRaw(s.Args...); err != nil {
		return err
	}
	if err := s.Scoped.check(); err != nil {
		return fmt.Errorf("task %d of %s: %w", s.Task, s.Func, err)
	}
	return CheckOptions(s.Thread, s.Occupancy, s.Timeout)
}

// check checks the form of the scope of scoped options; nil has none.
func (s *Scoped) check() error {
	if s == nil {
		return nil
	}
	if s.Nowhere && len(s.Scope) > 0 {
		return fmt.Errorf("scoped options whose scope allows no processor, and %d blocks of processors", len(s.Scope))
	}
	for i, b := range s.Scope {
		for _, l := range []struct {
			what string
			ids  []int
		}{{"workers", b.Workers}, {"processors", b.Threads}} {
			if !increasingFrom1(l.ids) {
				return fmt.Errorf("block %d of %d of the scope of scoped options: %s %v do not increase from 1", i+1, len(s.Scope), l.what, l.ids)
			}
		}
	}
	return nil
}

// increasingFrom1 reports whether ids increase, without repeats, from 1
// or more.
func increasingFrom1(ids []int) bool {
	for i, id := range ids {
		if id < 1 || i > 0 && id <= ids[i-1] {
			return false
		}
	}
	return true
}

// check checks a task's failure: its kind, and its tries.
func (e *Error) check() error {
	switch {
	case e.Kind > KindDeadline:
		return fmt.Errorf("unknown kind of failure %d", e.Kind)
	case e.Tries < 0 || e.Tries > MaxTries:
		return fmt.Errorf("a failure after %d tries: tries count from 0 (one try) to %d", e.Tries, MaxTries)
	}
	return nil
}

// validRaw checks that each of raws is a CBOR item that may be sent on as
// it is: well formed, and with the built-in tags (times, big numbers...)
// around what they must be around, as the encoder checks; the decoder of
// a message checks the form of a raw value only.
func validRaw(raws ...cbor.RawMessage) error {
	for _, r := range raws {
		if len(r) == 0 {
			continue
		}
		if _, err := encMode.Marshal(r); err != nil {
			return fmt.Errorf("a value that cannot be sent on: %w", err)
		}
	}
	return nil
}

// TimeLeft is the time left until ctx's deadline, as a message carries
// it (Submit.Timeout, Spawn.Within): a duration, since the receiver's
// clock may differ from the sender's, and at least a nanosecond, so that a
// deadline that has passed is still one (the task then ends at once); 0
// when ctx has no deadline.
func TimeLeft(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Nanosecond)
	}
	return 0
}

// CheckOptions returns an error saying what is wrong with a task's
// processor (from 1, or 0 for any), occupancy (in [0, 1], or -1 for none)
// and timeout as a message carries them, or nil: a sender checks with it
// what the receiver would refuse.
func CheckOptions(thread int, occupancy float64, timeout time.Duration) error {
	switch {
	case thread < 0:
		return fmt.Errorf("processor %d", thread)
	case occupancy != -1 && !(occupancy >= 0 && occupancy <= 1):
		return fmt.Errorf("occupancy %v is neither in [0, 1] nor -1", occupancy)
	case timeout < 0:
		return fmt.Errorf("negative timeout %v", timeout)
	}
	return nil
}

func (d *Done) check() error {
	if d.Err != nil && len(d.Result) > 0 {
		return errors.New("both a result and an error")
	}
	if d.Err != nil {
		if err := d.Err.check(); err != nil {
			return fmt.Errorf("the end of task %d on worker %d: %w", d.Task, d.Worker, err)
		}
	}
	switch {
	case d.Thread < 0:
		return fmt.Errorf("processor %d: processors count from 1 (0: unknown)", d.Thread)
	case d.Moved < 0:
		return fmt.Errorf("%d bytes of arguments pulled", d.Moved)
	case d.Pulled < 0:
		return fmt.Errorf("%d bytes pulled in all", d.Pulled)
	}
	return validRaw(d.Result)
}

func (b *Beat) check() error {
	if b.Pulled < 0 {
		return fmt.Errorf("%d bytes pulled in all", b.Pulled)
	}
	return nil
}

func (p *Pull) check() error {
	if p.Offset < 0 || p.Len < 0 || p.Len > MaxPiece {
		return fmt.Errorf("a piece of %d bytes at %d (pieces are at most %d bytes)", p.Len, p.Offset, MaxPiece)
	}
	return nil
}

// MaxPiece is the largest piece of a value a message carries.
const MaxPiece = 512 << 10

func (c *Cancel) check() error {
	if c.Reason != KindCanceled && c.Reason != KindDeadline {
		return fmt.Errorf("unknown reason %d", c.Reason)
	}
	return nil
}
