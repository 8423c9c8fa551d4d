//go:build !unix

package media

import "os/exec"

// killGroup leaves cancellation to exec.CommandContext (the process only).
func killGroup(cmd *exec.Cmd) {}
