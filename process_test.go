package dagr_test

import (
	"errors"
	"syscall"
)

// processExists reports whether a process of that pid exists (a zombie
// counts).
func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
