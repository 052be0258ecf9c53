package dash

import (
	"bytes"
	"os"
	"strconv"
)

// pageSize is the unit of /proc's memory figures.
var pageSize = int64(os.Getpagesize())

// rssOf is the resident memory of process pid in bytes, from
// /proc/PID/statm; 0 when it cannot be read (gone, another OS).
func rssOf(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.ParseInt(string(f[1]), 10, 64)
	return n * pageSize
}

// groupRSS sums the resident memory of the processes of each process
// group in groups (a job's shell and what it started), reading /proc
// once.
func groupRSS(groups map[int]int64) {
	if len(groups) == 0 {
		return
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces and ')'
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(b[i+1:])
		if len(f) < 3 {
			continue
		}
		pgrp, _ := strconv.Atoi(string(f[2]))
		if _, ok := groups[pgrp]; ok {
			groups[pgrp] += rssOf(pid)
		}
	}
}
