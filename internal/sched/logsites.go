//go:build !dagrnolog

package sched

// logSites says whether the engine has the sites of the event log and of
// timing. A build with the tag dagrnolog has none (the compiler drops
// them): bench/ compares such a build with the usual one, to measure what
// the sites cost while the log and timing are off. That build logs
// nothing, and is for that measure only.
const logSites = true
