package ring

import (
	"bytes"
	"os"
	"strconv"
)

// runnable returns the threads runnable now, system-wide, this one
// included: the fourth field of /proc/loadavg, "running/total".
func runnable() (int, bool) {
	f, err := os.Open("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	var buf [128]byte
	n, _ := f.Read(buf[:])
	f.Close()
	fields := bytes.Fields(buf[:n])
	if len(fields) < 4 {
		return 0, false
	}
	run, _, ok := bytes.Cut(fields[3], []byte("/"))
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(string(run))
	return v, err == nil
}
