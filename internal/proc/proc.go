// Package proc holds the platform-specific parts of starting worker
// processes: on Linux a worker gets SIGKILL when its parent dies
// (Pdeathsig) and its own process group, so that a signal can reach it and
// anything it started.
package proc
