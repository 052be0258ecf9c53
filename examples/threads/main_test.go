//go:build linux

package main

import (
	"testing"

	"github.com/mp-go/mp/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

func TestProgram(t *testing.T) {
	exampletest.Contains(t, main,
		"Start main thread\n", "Done job task2 (short)\n", "Done job task1 (long)\n", "All done!\n",
		"Thread 0\n", "Thread 4\n", "Done.\n",
		"Worker 1: Data", "Queue done: 10 items.\n",
		"Lock acquired by Worker", "Lock done: at most 1 worker inside at once.\n",
		"Semaphore acquired by Thread-", "Semaphore done: 6 items, never more than", "(limit 2): true.\n")
}
