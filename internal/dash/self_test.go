package dash

import "syscall"

func selfPID() int  { return syscall.Getpid() }
func selfPGID() int { return syscall.Getpgrp() }
