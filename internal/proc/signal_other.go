//go:build !unix

package proc

import "os"

// Terminate ends p: without signals, it is killed.
func Terminate(p *os.Process) error { return p.Kill() }

// NoInherit does nothing here: handles are not inherited unless asked.
func NoInherit(fd int) {}
