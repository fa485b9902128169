//go:build unix && !linux

package pgembed

import "syscall"

// setParentDeathSignal does nothing: only Linux can tie a child's life to
// ours, so elsewhere a server whose parent was killed keeps running until
// the next Start attaches to it.
func setParentDeathSignal(*syscall.SysProcAttr) {}

// processInfo cannot inspect other processes portably here, so callers fall
// back to trusting that the pid exists.
func processInfo(int) (name string, zombie, known bool) { return "", false, false }
