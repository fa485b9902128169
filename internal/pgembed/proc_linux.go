package pgembed

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// setParentDeathSignal asks the kernel to send the server SIGINT (a fast,
// clean shutdown) when our process dies without calling Stop, so a killed
// `civic serve` or test binary does not leave an orphaned server holding the
// data directory. The kernel ties this to the forking thread; see launch.
func setParentDeathSignal(a *syscall.SysProcAttr) {
	a.Pdeathsig = syscall.SIGINT
}

// processInfo reads the command name and state of pid from /proc.
func processInfo(pid int) (name string, zombie, known bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false, false
	}
	// Format: pid (comm) state ...; comm may itself contain parentheses.
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open || end+2 >= len(s) {
		return "", false, false
	}
	return s[open+1 : end], s[end+2] == 'Z', true
}
