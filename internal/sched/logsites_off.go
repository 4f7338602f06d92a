//go:build dagrnolog

package sched

// logSites: see logsites.go.
const logSites = false
