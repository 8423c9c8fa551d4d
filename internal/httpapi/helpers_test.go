package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"myelin/internal/testkit/testserver"
)

// The plumbing shared by this package's integration tests: raw HTTP
// requests (for bad input and exact status/errcode checks) and logged-in
// mautrix clients (for everything a real client would do).

// do sends one raw request to hs: body is sent as is (nil: none), token as
// a bearer token ("" for none), header as name/value pairs. It returns the
// response (its body closed) and the body read in full.
func do(t testing.TB, hs *testserver.Server, token, method, path string, body io.Reader, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, hs.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the response: %v", method, path, err)
	}
	return resp, data
}

// reply is a decoded response.
type reply struct {
	status int
	body   map[string]any
	raw    string
}

// str returns the string field key of the body ("" when absent).
func (r reply) str(key string) string { s, _ := r.body[key].(string); return s }

// errcode returns the body's Matrix errcode ("" for none).
func (r reply) errcode() string { return r.str("errcode") }

// call makes a raw request. body is sent as is when it is a string ("":
// none), as JSON otherwise (nil: no body).
func call(t testing.TB, hs *testserver.Server, method, path, token string, body any) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		if b != "" {
			rd = strings.NewReader(b)
		}
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	resp, data := do(t, hs, token, method, path, rd)
	r := reply{status: resp.StatusCode, raw: string(data)}
	json.Unmarshal(data, &r.body)
	return r
}

// expect fails unless the reply has the status and errcode ("" for none).
func (r reply) expect(t testing.TB, status int, errcode string) reply {
	t.Helper()
	if r.status != status || r.errcode() != errcode {
		t.Fatalf("got %d %s, want %d %q", r.status, r.raw, status, errcode)
	}
	return r
}

// testUser is a logged-in test user: a mautrix client holding its
// credentials, and its raw access token.
type testUser struct {
	*mautrix.Client
	token string
}

// client returns a mautrix client of hs using token ("" for none).
func client(t testing.TB, hs *testserver.Server, token string) *mautrix.Client {
	t.Helper()
	cli, err := mautrix.NewClient(hs.URL, "", token)
	if err != nil {
		t.Fatal(err)
	}
	return cli
}

// passwordLogin logs user in through cli with the password login flow on
// device deviceID ("" for a new one); store makes cli keep the credentials.
func passwordLogin(t testing.TB, cli *mautrix.Client, user, password, deviceID string, store bool) *mautrix.RespLogin {
	t.Helper()
	resp, err := cli.Login(context.Background(), &mautrix.ReqLogin{
		Type:             mautrix.AuthTypePassword,
		Identifier:       mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: user},
		Password:         password,
		DeviceID:         id.DeviceID(deviceID),
		StoreCredentials: store,
	})
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return resp
}

// login logs user in on device deviceID ("" for a new one) and returns the
// response; no client keeps the credentials.
func login(t testing.TB, hs *testserver.Server, user, password, deviceID string) *mautrix.RespLogin {
	t.Helper()
	return passwordLogin(t, client(t, hs, ""), user, password, deviceID, false)
}

// createAccount creates the account name with the password "password".
func createAccount(t testing.TB, hs *testserver.Server, name string, admin bool) {
	t.Helper()
	if _, err := hs.Srv.Users.CreateAccount(context.Background(), name, "password", admin); err != nil {
		t.Fatalf("creating %s: %v", name, err)
	}
}

// loginClient logs name (password "password") in on a new device and
// returns a client holding the credentials, and the login response.
func loginClient(t testing.TB, hs *testserver.Server, name string) (*mautrix.Client, *mautrix.RespLogin) {
	t.Helper()
	cli := client(t, hs, "")
	return cli, passwordLogin(t, cli, name, "password", "", true)
}

// restart restarts the server and drops the default client's idle
// connections to the old one (a reused dead connection fails a
// non-idempotent request).
func restart(hs *testserver.Server) {
	hs.Restart()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
}

func mustNot(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// matrixError returns the status and Matrix errcode of a mautrix error.
func matrixError(err error) (int, string) {
	var he mautrix.HTTPError
	if errors.As(err, &he) && he.RespError != nil {
		return he.Response.StatusCode, he.RespError.ErrCode
	}
	return 0, ""
}

// expectMatrixError fails unless err is a Matrix error with the status
// and errcode.
func expectMatrixError(t testing.TB, err error, status int, errcode string) {
	t.Helper()
	if st, code := matrixError(err); st != status || code != errcode {
		t.Fatalf("error = %v, want %d %s", err, status, errcode)
	}
}
