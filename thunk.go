package dagr

// Thunk is a call of the lazy API, built by Delayed and run by Compute.
type Thunk struct{}
