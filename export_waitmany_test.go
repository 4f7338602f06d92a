package dagr

// SetSelectBatch makes WaitAny watch at most n tasks per select, so that a
// test reaches the path of several batches with a few tasks; the returned
// function restores the limit.
func SetSelectBatch(n int) (restore func()) {
	old := selectBatch
	selectBatch = n
	return func() { selectBatch = old }
}
