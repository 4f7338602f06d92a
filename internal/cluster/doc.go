// Package cluster runs a dagr program on several processes: it starts and
// stops worker processes of the program's own binary, admits them to the
// run, sends them tasks of registered functions, and serves tasks in a
// worker process. The engine (internal/sched) knows nothing of it: a task
// placed on another worker runs through sched.Spec.Call, which Coordinator
// provides.
//
// # The run's rules
//
// Processes. Worker 1 is the process that called AddProcs: its
// Coordinator starts the NATS server, with a user and password made for
// the run, and the worker processes, each with a Join in the environment
// variable EnvVar. A worker connects, subscribes to its own subject, and
// only then asks to join (Hello, answered by a Welcome), so that no order
// sent to an admitted worker is lost. Worker 1 refuses a worker whose
// registry differs, or that it gave up on. A worker leaves when told
// (Order.Stop: it finishes its tasks, waits until its large results were
// pulled, and exits), when its connection closes, or when its standard
// input ends, which happens however worker 1's process ends.
//
// Subjects, all under "dagr.<run>":
//
//	join      worker -> 1, request: Hello, answered by Welcome
//	w.<id>    1 -> worker: Order (Submit, Cancel, Stop, Result)
//	up        worker -> 1: Up (Done, Spawn, Watch, Cancel, Release)
//	ask       worker -> 1, request: Ask (live workers, RemoveProc)
//	d.<id>    anyone -> process id, request: Pull of a piece of a held
//	          value, or Free
//
// Order. NATS keeps the order of one connection's messages on one
// subject, and a subscription's handler takes them one at a time. So each
// direction between worker 1 and a worker is one subject: a worker's
// Spawn of a task reaches worker 1 before any Done or Spawn that names the
// task, and a Submit sent before worker 1 marked a worker gone reaches it
// before the Stop (workerProc.sendMu orders the two).
//
// Tasks. The DAG lives on worker 1. A task placed on a worker is a node
// on worker 1 that takes no processor there and whose Spec.Call sends a
// Submit and waits for the Done (Coordinator.Call); its context ending
// sends a Cancel. A task that a task on a worker spawns is sent to worker
// 1 (Spawn, under an id the worker chose: wire.TaskID), which spawns it
// as its options say and keeps it by id (Home); the worker keeps a handle,
// a node whose Spec.Call waits for the Result. A *Task travels in values
// as a reference (wire.EncodeRef) to a task that lives on worker 1.
// Worker 1 counts the holds of each such task (Home): a worker's handle
// holds it from its Spawn or Watch to its Release, sent once the handle is
// garbage; a value that names it holds it while it may be decoded, the
// tasks its sender lists (wire.RefsIn: Done.Refs, Spawn.Refs) until its
// Value is garbage or the task it is an argument of ends. A worker's
// messages arrive in order, so a value decoded on a worker adds its
// handles' holds before the value's hold ends. At no hold, worker 1
// forgets the task.
//
// Values. A value whose encoding is over InlineMax bytes does not travel
// in the message that carries it: its sender keeps it (mover) and sends a
// wire.Held, which names the holder, the value's key and size, and the
// address where the holder streams values. The receiver pulls it over
// that TCP stream (stream.go), or, when it cannot reach it, in pieces of
// at most wire.MaxPiece bytes over NATS, pullWindow at a time. A value
// held for one pull (an argument, a spawn's argument) is dropped once
// pulled, or once its receiver decides not to pull it (Free).
//
// Results. A task's result stays on the worker that ran it: a large one
// is kept there (wire.Held.Kept) for any number of pulls, and worker 1,
// which holds the DAG, holds a Value for it. A Value sent on to another
// worker travels as it came, so that the value moves once, from its
// holder to where it is needed. Worker 1 frees a kept value when its
// Value becomes unreachable (a runtime cleanup), and brings the values a
// worker keeps to itself before RemoveProc stops that worker. Placement
// (cost.go) weighs where a task's inputs are against how busy each worker
// is.
//
// Liveness. A worker whose process exits fails the tasks it ran with an
// error that says so; recomputing them elsewhere is for later.
package cluster
