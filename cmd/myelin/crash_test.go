package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"myelin/internal/testkit/testdb"
)

// TestNothingAcknowledgedIsLostOnKill runs the real binary, sends messages,
// kills the process with SIGKILL (no graceful shutdown), starts it again on
// the same database, and checks that every event answered with 200 is still
// there and that retrying each transaction ID returns the same event ID.
func TestNothingAcknowledgedIsLostOnKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "myelin")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, e := range testdb.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			dbURL, _ := e.New(t)
			env := append(os.Environ(),
				"MYELIN_DATA_DIR="+t.TempDir(), "MYELIN_DATABASE_URL="+dbURL, "MYELIN_LISTEN=127.0.0.1:0",
				"MYELIN_RATELIMIT=off", "MYELIN_PASSWORD_HASH_COST=4")
			reg := exec.Command(bin, "register", "--user", "alice", "--password", "a long password")
			reg.Env = env
			if out, err := reg.CombinedOutput(); err != nil {
				t.Fatalf("register: %v\n%s", err, out)
			}
			proc, base := startBinary(t, bin, env)
			c := &client{t: t, base: base}
			token := c.login("alice", "a long password")
			roomID := c.do("POST", "/_matrix/client/v3/createRoom", token, `{"preset":"private_chat"}`)["room_id"].(string)
			sent := map[string]string{} // txn ID → event ID
			for i := 0; i < 30; i++ {
				txn := fmt.Sprintf("txn%d", i)
				resp := c.do("PUT", "/_matrix/client/v3/rooms/"+roomID+"/send/m.room.message/"+txn, token,
					fmt.Sprintf(`{"msgtype":"m.text","body":"message %d"}`, i))
				sent[txn] = resp["event_id"].(string)
			}
			proc.Process.Signal(syscall.SIGKILL)
			proc.Wait()

			_, base = startBinary(t, bin, env)
			c.base = base
			for txn, eventID := range sent {
				ev := c.do("GET", "/_matrix/client/v3/rooms/"+roomID+"/event/"+eventID, token, "")
				if ev["event_id"] != eventID {
					t.Fatalf("event %s lost after kill: %v", eventID, ev)
				}
				again := c.do("PUT", "/_matrix/client/v3/rooms/"+roomID+"/send/m.room.message/"+txn, token, `{"msgtype":"m.text","body":"retry"}`)
				if again["event_id"] != eventID {
					t.Fatalf("retry of %s gave %v, want %s", txn, again["event_id"], eventID)
				}
			}
		})
	}
}

// startBinary runs `myelin serve` and returns the process and its client
// API base URL, read from the line the server prints when it listens.
func startBinary(t *testing.T, bin string, env []string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	})
	addr := regexp.MustCompile(`client API on (http://[0-9.:]+)`)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	}()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("server exited before listening: %s", stderr.String())
			}
			if m := addr.FindStringSubmatch(line); m != nil {
				go func() {
					for range lines {
					}
				}()
				return cmd, m[1]
			}
		case <-timeout:
			t.Fatalf("server did not start: %s", stderr.String())
		}
	}
}

type client struct {
	t    *testing.T
	base string
}

func (c *client) login(user, password string) string {
	resp := c.do("POST", "/_matrix/client/v3/login", "",
		fmt.Sprintf(`{"type":"m.login.password","identifier":{"type":"m.id.user","user":%q},"password":%q}`, user, password))
	return resp["access_token"].(string)
}

// do sends a request and decodes the JSON answer; anything but 200 fails.
func (c *client) do(method, path, token, body string) map[string]any {
	c.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, data)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return out
}
