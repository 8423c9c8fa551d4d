package httpapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"myelin/internal/testkit/testserver"
)

// udLogin creates an account and a session for it directly through the
// accounts service (login itself is tested elsewhere).
func udLogin(t *testing.T, hs *testserver.Server, localpart string) testUser {
	t.Helper()
	ctx := context.Background()
	uid, err := hs.Srv.Users.CreateAccount(ctx, localpart, "pw", false)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := hs.Srv.Users.NewSession(ctx, localpart, "", "test", "127.0.0.1", false)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := mautrix.NewClient(hs.URL, id.UserID(uid.String()), tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return testUser{Client: cli, token: tok.AccessToken}
}

// udCall is one raw request: method, path under the server, body (raw
// JSON text, "" for none), and the expected status and errcode ("" for a
// success body).
type udCall struct {
	name, method, path, body string
	status                   int
	errcode                  string
}

// udDo sends a raw request with token ("" for none) and returns the status
// and body.
func udDo(t *testing.T, hs *testserver.Server, token, method, path, body string) (int, string) {
	t.Helper()
	r := call(t, hs, method, path, token, body)
	return r.status, r.raw
}

// udRun runs table calls as subtests.
func udRun(t *testing.T, hs *testserver.Server, token string, calls []udCall) {
	t.Helper()
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			status, body := udDo(t, hs, token, c.method, c.path, c.body)
			if status != c.status {
				t.Fatalf("%s %s = %d %s, want %d %s", c.method, c.path, status, body, c.status, c.errcode)
			}
			if c.errcode != "" && !strings.Contains(body, `"errcode":"`+c.errcode+`"`) {
				t.Fatalf("%s %s = %d %s, want errcode %s", c.method, c.path, status, body, c.errcode)
			}
		})
	}
}

// udJSON decodes a response body.
func udJSON(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return m
}
