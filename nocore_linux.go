package main

import "golang.org/x/sys/unix"

// withholdCoreDumps makes the process write no core file and refuse
// ptrace from other processes of the same user (gcore, gdb attach), as
// ssh-agent and gpg-agent do: PR_SET_DUMPABLE 0, and a core size limit of
// 0 that can't be raised again. Both are best effort: a kernel that
// refuses them leaves idcon as it was.
func withholdCoreDumps() {
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
}
