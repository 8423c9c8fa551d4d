package httpapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"maunium.net/go/mautrix"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

func TestLoginWhoamiLogout(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		if _, err := hs.Srv.Users.CreateAccount(ctx, "alice", "correct horse", false); err != nil {
			t.Fatal(err)
		}
		cli, err := mautrix.NewClient(hs.URL, "", "")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := cli.Login(ctx, &mautrix.ReqLogin{
			Type:             mautrix.AuthTypePassword,
			Identifier:       mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: "alice"},
			Password:         "correct horse",
			StoreCredentials: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.UserID != "@alice:localhost" || resp.DeviceID == "" {
			t.Fatalf("login = %+v", resp)
		}
		who, err := cli.Whoami(ctx)
		if err != nil || who.UserID != "@alice:localhost" || who.DeviceID != resp.DeviceID {
			t.Fatalf("whoami = %+v, %v", who, err)
		}
		// The session survives a restart.
		hs.Restart()
		if _, err := cli.Whoami(ctx); err != nil {
			t.Fatalf("whoami after restart: %v", err)
		}
		// A second session, which outlives the first one's logout.
		other, _ := mautrix.NewClient(hs.URL, "", "")
		if _, err := other.Login(ctx, &mautrix.ReqLogin{
			Type:             mautrix.AuthTypePassword,
			Identifier:       mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: "alice"},
			Password:         "correct horse",
			StoreCredentials: true,
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.Logout(ctx); err != nil {
			t.Fatal(err)
		}
		_, err = cli.Whoami(ctx)
		if !errors.Is(err, mautrix.MUnknownToken) {
			t.Fatalf("whoami after logout = %v, want M_UNKNOWN_TOKEN", err)
		}
		// Logout deleted the device of the token, not the other one.
		devs, err := other.GetDevicesInfo(ctx)
		if err != nil || len(devs.Devices) != 1 || devs.Devices[0].DeviceID != other.DeviceID {
			t.Fatalf("devices after logout = %+v, %v; want only %s", devs, err, other.DeviceID)
		}
	})
}

func TestLoginBadInput(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		hs := testserver.Start(t, e)
		if _, err := hs.Srv.Users.CreateAccount(context.Background(), "alice", "pw", false); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, body string
			status     int
			errcode    string
		}{
			{"not JSON", `{"type":`, 400, "M_NOT_JSON"},
			{"duplicate key", `{"type":"m.login.password","type":"x"}`, 400, "M_NOT_JSON"},
			{"wrong type", `{"type":"m.login.password","user":"alice","password":5}`, 400, "M_BAD_JSON"},
			{"unknown login type", `{"type":"m.login.magic"}`, 400, "M_UNKNOWN"},
			{"wrong password", `{"type":"m.login.password","user":"alice","password":"nope"}`, 403, "M_FORBIDDEN"},
			{"unknown user", `{"type":"m.login.password","user":"bob","password":"pw"}`, 403, "M_FORBIDDEN"},
			{"other server", `{"type":"m.login.password","user":"@alice:elsewhere.org","password":"pw"}`, 403, "M_FORBIDDEN"},
			{"third-party identifier", `{"type":"m.login.password","identifier":{"type":"m.id.thirdparty","medium":"email","address":"a@b.c"},"password":"pw"}`, 403, "M_FORBIDDEN"},
			{"unknown identifier type", `{"type":"m.login.password","identifier":{"type":"m.id.magic"},"password":"pw"}`, 400, "M_UNKNOWN"},
			{"too long device ID", `{"type":"m.login.password","user":"alice","password":"pw","device_id":"` + strings.Repeat("d", 256) + `"}`, 400, "M_INVALID_PARAM"},
			{"over-size body", `{"type":"m.login.password","pad":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "M_TOO_LARGE"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, err := http.Post(hs.URL+"/_matrix/client/v3/login", "application/json", strings.NewReader(tc.body))
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.status || !strings.Contains(string(body), `"errcode":"`+tc.errcode+`"`) {
					t.Fatalf("%d %s, want %d %s", resp.StatusCode, body, tc.status, tc.errcode)
				}
			})
		}
	})
}

func TestUnknownEndpointsAndMethods(t *testing.T) {
	hs := testserver.Start(t, testdb.Engines(t)[0])
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/_matrix/client/v3/no/such/thing", 404},
		{"DELETE", "/_matrix/client/v3/login", 405},
		{"GET", "/_matrix/client/r0/account/whoami", 401},
		{"GET", "/_matrix/client/versions", 200},
		{"OPTIONS", "/_matrix/client/v3/login", 200},
	} {
		req, _ := http.NewRequest(tc.method, hs.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s = %d %s, want %d", tc.method, tc.path, resp.StatusCode, body, tc.status)
		}
		if tc.status >= 400 && tc.status != 401 && !strings.Contains(string(body), "M_UNRECOGNIZED") {
			t.Errorf("%s %s body %s lacks M_UNRECOGNIZED", tc.method, tc.path, body)
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s %s: no CORS header", tc.method, tc.path)
		}
	}
}
