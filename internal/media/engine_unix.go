//go:build unix

package media

import (
	"os/exec"
	"syscall"
)

// killGroup runs the command in its own process group and makes
// cancellation kill the whole group, so that a scan command's children
// (a shell script's programs) do not outlive a timeout.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
