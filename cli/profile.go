package cli

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// ProfileEnv names a file to write a CPU profile of the whole run to
// (go tool pprof reads it). It is for measuring idcon, undocumented in the
// help: the bulk benchmark uses it to say where a bulk reset spends its time.
const ProfileEnv = "IDCON_CPUPROFILE"

// startProfile starts the CPU profile ProfileEnv asks for, and returns
// what stops it and writes the file.
func startProfile(path string, stderr io.Writer) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(stderr, "idcon: warning: no CPU profile: %v\n", err)
		if f != nil {
			f.Close()
		}
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
