//go:build !linux

package proc

import "os"

// MemFile returns an unlinked temporary file (no memfd here).
func MemFile(name string) (*os.File, error) {
	f, err := os.CreateTemp("", name+"-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	return f, nil
}
