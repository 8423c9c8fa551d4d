package httpapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"myelin/internal/config"
	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// expectUIA fails unless the reply is a user-interactive-auth 401 offering
// exactly the one-stage flow stage, with the errcode ("" for none).
func (r reply) expectUIA(t *testing.T, stage, errcode string) string {
	t.Helper()
	r.expect(t, 401, errcode)
	flows, _ := r.body["flows"].([]any)
	_, hasParams := r.body["params"].(map[string]any)
	session := r.str("session")
	if len(flows) != 1 || !hasParams || session == "" {
		t.Fatalf("UIA body %s lacks flows, params or session", r.raw)
	}
	stages, _ := flows[0].(map[string]any)["stages"].([]any)
	if len(stages) != 1 || stages[0] != stage {
		t.Fatalf("UIA flows %v, want [[%s]]", flows, stage)
	}
	return session
}

// available asserts whether a username is free (true) or taken.
func available(t *testing.T, hs *testserver.Server, username string, want bool) {
	t.Helper()
	r := call(t, hs, "GET", "/_matrix/client/v3/register/available?username="+url.QueryEscape(username), "", nil)
	if got := r.status == 200; got != want {
		t.Fatalf("%s available = %v (%d %s), want %v", username, got, r.status, r.raw, want)
	}
}

func passwordAuth(user, password, session string) map[string]any {
	a := map[string]any{
		"type":       "m.login.password",
		"identifier": map[string]any{"type": "m.id.user", "user": user},
		"password":   password,
	}
	if session != "" {
		a["session"] = session
	}
	return a
}

func TestRegisterOpen(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		cli := client(t, hs, "")

		resp, err := cli.RegisterDummy(ctx, &mautrix.ReqRegister[any]{
			Username: "Alice", Password: "correct horse", DeviceID: "PHONE", InitialDeviceDisplayName: "Alice's phone",
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.UserID != "@alice:localhost" || resp.DeviceID != "PHONE" || resp.AccessToken == "" {
			t.Fatalf("register = %+v", resp)
		}
		alice := client(t, hs, resp.AccessToken)
		if who, err := alice.Whoami(ctx); err != nil || who.UserID != "@alice:localhost" || who.DeviceID != "PHONE" {
			t.Fatalf("whoami = %+v, %v", who, err)
		}
		if d, err := alice.GetDeviceInfo(ctx, "PHONE"); err != nil || d.DisplayName != "Alice's phone" {
			t.Fatalf("device = %+v, %v", d, err)
		}
		if _, err := cli.RegisterAvailable(ctx, "alice"); !errors.Is(err, mautrix.MUserInUse) {
			t.Fatalf("available(alice) = %v, want M_USER_IN_USE", err)
		}
		if _, err := cli.RegisterAvailable(ctx, "bob"); err != nil {
			t.Fatalf("available(bob) = %v", err)
		}
		login(t, hs, "alice", "correct horse", "")

		// No username: the server picks one. inhibit_login: no token.
		resp, err = cli.RegisterDummy(ctx, &mautrix.ReqRegister[any]{Password: "correct horse", InhibitLogin: true})
		if err != nil {
			t.Fatal(err)
		}
		if resp.AccessToken != "" || resp.DeviceID != "" || !strings.HasSuffix(string(resp.UserID), ":localhost") {
			t.Fatalf("inhibited register = %+v", resp)
		}
		login(t, hs, string(resp.UserID), "correct horse", "")

		// Refresh tokens on request.
		resp, err = cli.RegisterDummy(ctx, &mautrix.ReqRegister[any]{Username: "carol", Password: "correct horse", RefreshToken: true})
		if err != nil || resp.RefreshToken == "" || resp.ExpiresInMS <= 0 {
			t.Fatalf("register with refresh token = %+v, %v", resp, err)
		}

		// The UIA shape: a 401 with flows, params and session, no errcode;
		// the session completes the registration; used, it is unknown.
		session := call(t, hs, "POST", "/_matrix/client/v3/register", "", map[string]any{"username": "dave", "password": "correct horse"}).
			expectUIA(t, "m.login.dummy", "")
		body := map[string]any{"username": "dave", "password": "correct horse", "auth": map[string]any{"type": "m.login.dummy", "session": session}}
		r := call(t, hs, "POST", "/_matrix/client/r0/register", "", body).expect(t, 200, "")
		if r.str("user_id") != "@dave:localhost" || r.str("home_server") != "localhost" {
			t.Fatalf("register = %s", r.raw)
		}
		body["username"] = "dave2"
		call(t, hs, "POST", "/_matrix/client/v3/register", "", body).expectUIA(t, "m.login.dummy", "M_UNKNOWN")
		available(t, hs, "dave2", true)

		// An account without a password confirms with m.login.dummy.
		resp, err = cli.RegisterDummy(ctx, &mautrix.ReqRegister[any]{Username: "erin"})
		if err != nil {
			t.Fatal(err)
		}
		call(t, hs, "DELETE", "/_matrix/client/v3/devices/"+string(resp.DeviceID), resp.AccessToken, nil).expectUIA(t, "m.login.dummy", "")
		call(t, hs, "DELETE", "/_matrix/client/v3/devices/"+string(resp.DeviceID), resp.AccessToken,
			map[string]any{"auth": map[string]any{"type": "m.login.dummy"}}).expect(t, 200, "")
		call(t, hs, "GET", "/_matrix/client/v3/account/whoami", resp.AccessToken, nil).expect(t, 401, "M_UNKNOWN_TOKEN")
	})
}

func TestRegisterBadInput(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		hs := testserver.Start(t, e)
		if _, err := hs.Srv.Users.CreateAccount(context.Background(), "taken", "correct horse", false); err != nil {
			t.Fatal(err)
		}
		dummy := `"auth":{"type":"m.login.dummy"}`
		for _, tc := range []struct {
			name, query, body string
			status            int
			errcode           string
		}{
			{"not JSON", "", `{"username":"x1",`, 400, "M_NOT_JSON"},
			{"array body", "", `["x1"]`, 400, "M_BAD_JSON"},
			{"username not a string", "", `{"username":5,` + dummy + `}`, 400, "M_BAD_JSON"},
			{"auth not an object", "", `{"username":"x1","auth":"m.login.dummy"}`, 400, "M_BAD_JSON"},
			{"inhibit_login not a bool", "", `{"username":"x1","inhibit_login":"yes",` + dummy + `}`, 400, "M_BAD_JSON"},
			{"invalid username", "", `{"username":"us,er",` + dummy + `}`, 400, "M_INVALID_USERNAME"},
			{"non-ASCII username", "", `{"username":"usé",` + dummy + `}`, 400, "M_INVALID_USERNAME"},
			{"reserved username", "", `{"username":"_x1",` + dummy + `}`, 400, "M_INVALID_USERNAME"},
			{"too long username", "", `{"username":"` + strings.Repeat("x", 250) + `",` + dummy + `}`, 400, "M_INVALID_USERNAME"},
			{"taken username", "", `{"username":"TAKEN","password":"correct horse",` + dummy + `}`, 400, "M_USER_IN_USE"},
			{"weak password", "", `{"username":"x1","password":"short",` + dummy + `}`, 400, "M_WEAK_PASSWORD"},
			{"too long password", "", `{"username":"x1","password":"` + strings.Repeat("p", 73) + `",` + dummy + `}`, 400, "M_WEAK_PASSWORD"},
			{"too long device ID", "", `{"username":"x1","device_id":"` + strings.Repeat("d", 256) + `",` + dummy + `}`, 400, "M_INVALID_PARAM"},
			{"guest", "?kind=guest", `{}`, 403, "M_FORBIDDEN"},
			{"unknown kind", "?kind=robot", `{"username":"x1",` + dummy + `}`, 400, "M_INVALID_PARAM"},
			{"unknown session", "", `{"username":"x1","auth":{"type":"m.login.dummy","session":"nope"}}`, 401, "M_UNKNOWN"},
			{"stage not offered", "", `{"username":"x1","auth":{"type":"m.login.password","identifier":{"type":"m.id.user","user":"x1"},"password":"correct horse"}}`, 401, "M_UNRECOGNIZED"},
			{"appservice without token", "", `{"username":"x1","type":"m.login.application_service"}`, 401, "M_MISSING_TOKEN"},
			{"over-size body", "", `{"username":"x1","pad":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "M_TOO_LARGE"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := call(t, hs, "POST", "/_matrix/client/v3/register"+tc.query, "", tc.body).expect(t, tc.status, tc.errcode)
				if tc.status == 401 && tc.errcode != "M_MISSING_TOKEN" {
					r.expectUIA(t, "m.login.dummy", tc.errcode)
				}
				available(t, hs, "x1", true)
			})
		}
		// Available: missing and invalid usernames.
		call(t, hs, "GET", "/_matrix/client/v3/register/available", "", nil).expect(t, 400, "M_MISSING_PARAM")
		call(t, hs, "GET", "/_matrix/client/v3/register/available?username=a%2Cb", "", nil).expect(t, 400, "M_INVALID_USERNAME")
		call(t, hs, "GET", "/_matrix/client/r0/register/available?username=Taken", "", nil).expect(t, 400, "M_USER_IN_USE")
		// Token validity is forbidden unless registration is by token.
		call(t, hs, "GET", "/_matrix/client/v1/register/m.login.registration_token/validity?token=abc", "", nil).expect(t, 403, "M_FORBIDDEN")
	})
}

func TestRegistrationClosed(t *testing.T) {
	hs := testserver.Start(t, testdb.Engines(t)[0], func(c *config.Config) { c.Registration = config.RegistrationClosed })
	call(t, hs, "POST", "/_matrix/client/v3/register", "", `{"username":"x1","auth":{"type":"m.login.dummy"}}`).expect(t, 403, "M_FORBIDDEN")
	call(t, hs, "POST", "/_matrix/client/v3/register", "", `{}`).expect(t, 403, "M_FORBIDDEN")
	available(t, hs, "x1", true)
	// Without a shared secret, the Synapse endpoint is absent.
	call(t, hs, "GET", "/_synapse/admin/v1/register", "", nil).expect(t, 404, "M_UNRECOGNIZED")
	call(t, hs, "POST", "/_synapse/admin/v1/register", "", `{"nonce":"n","username":"x1","password":"p","mac":"00"}`).expect(t, 404, "M_UNRECOGNIZED")
}

func TestRegistrationTokens(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e, func(c *config.Config) { c.Registration = config.RegistrationToken })
		if _, err := hs.Srv.Users.CreateAccount(ctx, "root", "correct horse", true); err != nil {
			t.Fatal(err)
		}
		if _, err := hs.Srv.Users.CreateAccount(ctx, "pleb", "correct horse", false); err != nil {
			t.Fatal(err)
		}
		admin := login(t, hs, "root", "correct horse", "").AccessToken
		pleb := login(t, hs, "pleb", "correct horse", "").AccessToken
		const newPath, listPath = "/_synapse/admin/v1/registration_tokens/new", "/_synapse/admin/v1/registration_tokens"
		listCount := func() int {
			t.Helper()
			r := call(t, hs, "GET", listPath, admin, nil).expect(t, 200, "")
			list, _ := r.body["registration_tokens"].([]any)
			return len(list)
		}

		// Bad input changes nothing.
		for _, tc := range []struct {
			name, token, body string
			status            int
			errcode           string
		}{
			{"no token", "", `{}`, 401, "M_MISSING_TOKEN"},
			{"not admin", pleb, `{}`, 403, "M_FORBIDDEN"},
			{"not JSON", admin, `{`, 400, "M_NOT_JSON"},
			{"uses not a number", admin, `{"uses_allowed":"2"}`, 400, "M_BAD_JSON"},
			{"negative uses", admin, `{"uses_allowed":-1}`, 400, "M_INVALID_PARAM"},
			{"bad characters", admin, `{"token":"a b"}`, 400, "M_INVALID_PARAM"},
			{"empty token", admin, `{"token":""}`, 400, "M_INVALID_PARAM"},
			{"too long", admin, `{"token":"` + strings.Repeat("t", 65) + `"}`, 400, "M_INVALID_PARAM"},
			{"bad length", admin, `{"length":65}`, 400, "M_INVALID_PARAM"},
			{"expired", admin, `{"expiry_time":1}`, 400, "M_INVALID_PARAM"},
			{"over-size body", admin, `{"pad":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "M_TOO_LARGE"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				call(t, hs, "POST", newPath, tc.token, tc.body).expect(t, tc.status, tc.errcode)
				if n := listCount(); n != 0 {
					t.Fatalf("%d tokens after a failed creation", n)
				}
			})
		}
		call(t, hs, "GET", listPath, pleb, nil).expect(t, 403, "M_FORBIDDEN")
		call(t, hs, "GET", listPath+"?valid=maybe", admin, nil).expect(t, 400, "M_INVALID_PARAM")

		// A one-use token, Synapse's response shape.
		r := call(t, hs, "POST", newPath, admin, map[string]any{"token": "golden-ticket", "uses_allowed": 1}).expect(t, 200, "")
		if r.str("token") != "golden-ticket" || r.body["uses_allowed"] != 1.0 || r.body["pending"] != 0.0 ||
			r.body["completed"] != 0.0 || r.body["expiry_time"] != nil {
			t.Fatalf("new token = %s", r.raw)
		}
		call(t, hs, "POST", newPath, admin, map[string]any{"token": "golden-ticket"}).expect(t, 400, "M_INVALID_PARAM")
		r = call(t, hs, "POST", newPath, admin, map[string]any{"length": 20}).expect(t, 200, "")
		if len(r.str("token")) != 20 || r.body["uses_allowed"] != nil {
			t.Fatalf("random token = %s", r.raw)
		}
		validity := func(token string) bool {
			t.Helper()
			r := call(t, hs, "GET", "/_matrix/client/v1/register/m.login.registration_token/validity?token="+url.QueryEscape(token), "", nil).expect(t, 200, "")
			return r.body["valid"] == true
		}
		if !validity("golden-ticket") || validity("no-such-token") || validity(strings.Repeat("x", 100)) {
			t.Fatal("validity answers wrong")
		}
		call(t, hs, "GET", "/_matrix/client/v1/register/m.login.registration_token/validity", "", nil).expect(t, 400, "M_MISSING_PARAM")

		// Registration: the flow is the token stage; a wrong token is a
		// failed stage; the session survives a restart.
		const regPath = "/_matrix/client/v3/register"
		session := call(t, hs, "POST", regPath, "", `{}`).expectUIA(t, "m.login.registration_token", "")
		hs.Restart()
		body := map[string]any{"username": "newbie", "password": "correct horse",
			"auth": map[string]any{"type": "m.login.registration_token", "token": "wrong-ticket", "session": session}}
		if s := call(t, hs, "POST", regPath, "", body).expectUIA(t, "m.login.registration_token", "M_UNAUTHORIZED"); s != session {
			t.Fatalf("session changed after a failed stage: %s -> %s", session, s)
		}
		body["auth"].(map[string]any)["token"] = "golden-ticket"
		r = call(t, hs, "POST", regPath, "", body).expect(t, 200, "")
		if r.str("user_id") != "@newbie:localhost" || r.str("access_token") == "" {
			t.Fatalf("register = %s", r.raw)
		}
		if validity("golden-ticket") {
			t.Fatal("a used-up token is still valid")
		}
		r = call(t, hs, "GET", listPath+"?valid=false", admin, nil).expect(t, 200, "")
		if list := r.body["registration_tokens"].([]any); len(list) != 1 || list[0].(map[string]any)["completed"] != 1.0 || list[0].(map[string]any)["pending"] != 0.0 {
			t.Fatalf("used tokens = %s", r.raw)
		}
		// Exhausted: nobody else registers with it.
		body = map[string]any{"username": "second", "password": "correct horse",
			"auth": map[string]any{"type": "m.login.registration_token", "token": "golden-ticket"}}
		call(t, hs, "POST", regPath, "", body).expectUIA(t, "m.login.registration_token", "M_UNAUTHORIZED")
		available(t, hs, "second", true)
		// m.login.dummy is not offered in token mode.
		call(t, hs, "POST", regPath, "", `{"username":"second","auth":{"type":"m.login.dummy"}}`).
			expectUIA(t, "m.login.registration_token", "M_UNRECOGNIZED")
		available(t, hs, "second", true)
	})
}

// complementMAC is Complement's construction of the shared-secret MAC,
// copied from its client (client/auth.go RegisterSharedSecret).
func complementMAC(nonce, user, pass string, isAdmin bool) string {
	mac := hmac.New(sha1.New, []byte("complement"))
	mac.Write([]byte(nonce))
	mac.Write([]byte("\x00"))
	mac.Write([]byte(user))
	mac.Write([]byte("\x00"))
	mac.Write([]byte(pass))
	mac.Write([]byte("\x00"))
	if isAdmin {
		mac.Write([]byte("admin"))
	} else {
		mac.Write([]byte("notadmin"))
	}
	return hex.EncodeToString(mac.Sum(nil))
}

func TestSharedSecretRegistration(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		hs := testserver.Start(t, e, func(c *config.Config) {
			c.Registration = config.RegistrationClosed
			c.RegistrationSharedSecret = "complement"
		})
		const path = "/_synapse/admin/v1/register"
		nonce := func() string {
			t.Helper()
			n := call(t, hs, "GET", path, "", nil).expect(t, 200, "").str("nonce")
			if n == "" {
				t.Fatal("no nonce")
			}
			return n
		}
		register := func(n, user, pass string, admin bool, mac string) reply {
			t.Helper()
			return call(t, hs, "POST", path, "", map[string]any{"nonce": n, "username": user, "password": pass, "mac": mac, "admin": admin})
		}

		// Complement's exact requests: an admin, and capitals lower-cased.
		n := nonce()
		r := register(n, "adminuser", "sUp3rs3kr1t", true, complementMAC(n, "adminuser", "sUp3rs3kr1t", true)).expect(t, 200, "")
		if r.str("user_id") != "@adminuser:localhost" || r.str("access_token") == "" || r.str("device_id") == "" {
			t.Fatalf("register = %s", r.raw)
		}
		adminToken := r.str("access_token")
		call(t, hs, "GET", "/_synapse/admin/v1/registration_tokens", adminToken, nil).expect(t, 200, "")
		n = nonce()
		r = register(n, "user-UPPER-shared-SECRET", "übers3kr1t", false, complementMAC(n, "user-UPPER-shared-SECRET", "übers3kr1t", false)).expect(t, 200, "")
		if r.str("user_id") != "@user-upper-shared-secret:localhost" {
			t.Fatalf("register = %s", r.raw)
		}
		call(t, hs, "GET", "/_synapse/admin/v1/registration_tokens", r.str("access_token"), nil).expect(t, 403, "M_FORBIDDEN")
		login(t, hs, "user-upper-shared-secret", "übers3kr1t", "")

		// A used nonce, a wrong MAC (which also uses up the nonce), symbols.
		register(n, "again", "sUp3rs3kr1t", false, complementMAC(n, "again", "sUp3rs3kr1t", false)).expect(t, 400, "M_UNKNOWN")
		n = nonce()
		register(n, "again", "sUp3rs3kr1t", false, complementMAC(n, "again", "sUp3rs3kr1t", true)).expect(t, 403, "M_FORBIDDEN")
		register(n, "again", "sUp3rs3kr1t", false, complementMAC(n, "again", "sUp3rs3kr1t", false)).expect(t, 400, "M_UNKNOWN")
		n = nonce()
		register(n, "again", "sUp3rs3kr1t", false, "not hex").expect(t, 403, "M_FORBIDDEN")
		n = nonce()
		register(n, "us,er", "sUp3rs3kr1t", false, complementMAC(n, "us,er", "sUp3rs3kr1t", false)).expect(t, 400, "M_INVALID_USERNAME")
		n = nonce()
		register(n, "adminuser", "sUp3rs3kr1t", false, complementMAC(n, "adminuser", "sUp3rs3kr1t", false)).expect(t, 400, "M_USER_IN_USE")
		available(t, hs, "again", true)

		for _, tc := range []struct {
			name, body string
			status     int
			errcode    string
		}{
			{"not JSON", `{"nonce":`, 400, "M_NOT_JSON"},
			{"admin not a bool", `{"nonce":"` + nonce() + `","username":"again","password":"pw","mac":"00","admin":"yes"}`, 400, "M_BAD_JSON"},
			{"no nonce", `{"username":"again","password":"pw","mac":"00"}`, 400, "M_MISSING_PARAM"},
			{"unknown nonce", `{"nonce":"nope","username":"again","password":"pw","mac":"00"}`, 400, "M_UNKNOWN"},
			{"no username", `{"nonce":"` + nonce() + `","password":"pw","mac":"00"}`, 400, "M_MISSING_PARAM"},
			{"NUL in password", `{"nonce":"` + nonce() + `","username":"again","password":"p\u0000w","mac":"00"}`, 400, "M_INVALID_PARAM"},
			{"over-size body", `{"pad":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "M_TOO_LARGE"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				call(t, hs, "POST", path, "", tc.body).expect(t, tc.status, tc.errcode)
				available(t, hs, "again", true)
			})
		}
	})
}

func TestChangePassword(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		resp, err := client(t, hs, "").RegisterDummy(ctx, &mautrix.ReqRegister[any]{Username: "alice", Password: "old password"})
		if err != nil {
			t.Fatal(err)
		}
		alice := resp.AccessToken
		other := login(t, hs, "alice", "old password", "OTHER").AccessToken
		if _, err := hs.Srv.Users.CreateAccount(ctx, "bob", "bobs password", false); err != nil {
			t.Fatal(err)
		}
		caps, err := client(t, hs, alice).Capabilities(ctx)
		if err != nil || caps.ChangePassword == nil || !caps.ChangePassword.Enabled {
			t.Fatalf("capabilities = %+v, %v", caps, err)
		}
		const path = "/_matrix/client/v3/account/password"
		unchanged := func() {
			t.Helper()
			login(t, hs, "alice", "old password", "")
			call(t, hs, "GET", "/_matrix/client/v3/account/whoami", other, nil).expect(t, 200, "")
		}
		for _, tc := range []struct {
			name, token string
			body        any
			status      int
			errcode     string
		}{
			{"no token", "", map[string]any{"new_password": "new password", "auth": passwordAuth("alice", "old password", "")}, 401, "M_MISSING_TOKEN"},
			{"not JSON", alice, `{"new_password":`, 400, "M_NOT_JSON"},
			{"wrong type", alice, `{"new_password":12345678}`, 400, "M_BAD_JSON"},
			{"logout_devices not a bool", alice, `{"new_password":"new password","logout_devices":"no"}`, 400, "M_BAD_JSON"},
			{"weak password", alice, map[string]any{"new_password": "short", "auth": passwordAuth("alice", "old password", "")}, 400, "M_WEAK_PASSWORD"},
			{"no auth", alice, map[string]any{"new_password": "new password"}, 401, ""},
			{"wrong password", alice, map[string]any{"new_password": "new password", "auth": passwordAuth("alice", "nope", "")}, 401, "M_FORBIDDEN"},
			{"another user", alice, map[string]any{"new_password": "new password", "auth": passwordAuth("@bob:localhost", "bobs password", "")}, 403, "M_FORBIDDEN"},
			{"another server", alice, map[string]any{"new_password": "new password", "auth": passwordAuth("@alice:elsewhere", "old password", "")}, 403, "M_FORBIDDEN"},
			{"third-party identifier", alice, map[string]any{"new_password": "new password", "auth": map[string]any{"type": "m.login.password", "identifier": map[string]any{"type": "m.id.thirdparty", "medium": "email", "address": "a@b.c"}, "password": "old password"}}, 403, "M_FORBIDDEN"},
			{"dummy stage", alice, map[string]any{"new_password": "new password", "auth": map[string]any{"type": "m.login.dummy"}}, 401, "M_UNRECOGNIZED"},
			{"no new password", alice, map[string]any{"auth": passwordAuth("alice", "old password", "")}, 400, "M_MISSING_PARAM"},
			{"over-size body", alice, `{"pad":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "M_TOO_LARGE"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := call(t, hs, "POST", path, tc.token, tc.body).expect(t, tc.status, tc.errcode)
				if tc.status == 401 && tc.errcode != "M_MISSING_TOKEN" {
					r.expectUIA(t, "m.login.password", tc.errcode)
				}
				unchanged()
			})
		}
		// A session started for registration does not authorize this.
		regSession := call(t, hs, "POST", "/_matrix/client/v3/register", "", `{}`).expectUIA(t, "m.login.dummy", "")
		call(t, hs, "POST", path, alice, map[string]any{"new_password": "new password", "auth": passwordAuth("alice", "old password", regSession)}).
			expect(t, 403, "M_FORBIDDEN")
		unchanged()

		// The UIA dance with a session; the caller's session stays, the
		// other device is logged out.
		session := call(t, hs, "POST", path, alice, map[string]any{"new_password": "new password"}).expectUIA(t, "m.login.password", "")
		call(t, hs, "POST", path, alice, map[string]any{"new_password": "new password", "auth": passwordAuth("ALICE", "old password", session)}).expect(t, 200, "")
		call(t, hs, "GET", "/_matrix/client/v3/account/whoami", alice, nil).expect(t, 200, "")
		call(t, hs, "GET", "/_matrix/client/v3/account/whoami", other, nil).expect(t, 401, "M_UNKNOWN_TOKEN")
		call(t, hs, "POST", "/_matrix/client/v3/login", "", map[string]any{"type": "m.login.password", "user": "alice", "password": "old password"}).expect(t, 403, "M_FORBIDDEN")
		if devs, err := client(t, hs, alice).GetDevicesInfo(ctx); err != nil || len(devs.Devices) != 1 {
			t.Fatalf("devices after logout_devices = %+v, %v", devs, err)
		}
		// The session is spent.
		call(t, hs, "POST", path, alice, map[string]any{"new_password": "third password", "auth": passwordAuth("alice", "new password", session)}).
			expectUIA(t, "m.login.password", "M_UNKNOWN")

		// logout_devices: false keeps other sessions.
		other = login(t, hs, "alice", "new password", "OTHER").AccessToken
		call(t, hs, "POST", "/_matrix/client/r0/account/password", alice,
			map[string]any{"new_password": "third password", "logout_devices": false, "auth": passwordAuth("@alice:localhost", "new password", "")}).expect(t, 200, "")
		call(t, hs, "GET", "/_matrix/client/v3/account/whoami", other, nil).expect(t, 200, "")
		login(t, hs, "alice", "third password", "")
	})
}

func TestDeactivate(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		resp, err := client(t, hs, "").RegisterDummy(ctx, &mautrix.ReqRegister[any]{Username: "alice", Password: "old password"})
		if err != nil {
			t.Fatal(err)
		}
		alice := resp.AccessToken
		other := login(t, hs, "alice", "old password", "OTHER").AccessToken
		const path = "/_matrix/client/v3/account/deactivate"
		for _, tc := range []struct {
			name, token string
			body        any
			status      int
			errcode     string
		}{
			{"no token", "", map[string]any{"auth": passwordAuth("alice", "old password", "")}, 401, "M_MISSING_TOKEN"},
			{"not JSON", alice, `{"auth":`, 400, "M_NOT_JSON"},
			{"erase not a bool", alice, `{"erase":"yes"}`, 400, "M_BAD_JSON"},
			{"no auth", alice, `{}`, 401, ""},
			{"wrong password", alice, map[string]any{"auth": passwordAuth("alice", "nope", "")}, 401, "M_FORBIDDEN"},
			{"unknown session", alice, map[string]any{"auth": passwordAuth("alice", "old password", "nope")}, 401, "M_UNKNOWN"},
			{"no identifier", alice, map[string]any{"auth": map[string]any{"type": "m.login.password", "password": "old password"}}, 400, "M_MISSING_PARAM"},
			{"over-size body", alice, `{"pad":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "M_TOO_LARGE"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := call(t, hs, "POST", path, tc.token, tc.body).expect(t, tc.status, tc.errcode)
				if tc.status == 401 && tc.errcode != "M_MISSING_TOKEN" {
					r.expectUIA(t, "m.login.password", tc.errcode)
				}
				call(t, hs, "GET", "/_matrix/client/v3/account/whoami", other, nil).expect(t, 200, "")
			})
		}
		r := call(t, hs, "POST", "/_matrix/client/r0/account/deactivate", alice,
			map[string]any{"auth": passwordAuth("alice", "old password", ""), "erase": true}).expect(t, 200, "")
		if r.str("id_server_unbind_result") != "success" {
			t.Fatalf("deactivate = %s", r.raw)
		}
		for _, tok := range []string{alice, other} {
			call(t, hs, "GET", "/_matrix/client/v3/account/whoami", tok, nil).expect(t, 401, "M_UNKNOWN_TOKEN")
		}
		call(t, hs, "POST", "/_matrix/client/v3/login", "", map[string]any{"type": "m.login.password", "user": "alice", "password": "old password"}).
			expect(t, 403, "M_USER_DEACTIVATED")
		available(t, hs, "alice", false)
	})
}

func TestDevices(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		ctx := context.Background()
		hs := testserver.Start(t, e)
		if _, err := client(t, hs, "").RegisterDummy(ctx, &mautrix.ReqRegister[any]{Username: "alice", Password: "alice password", DeviceID: "FIRST"}); err != nil {
			t.Fatal(err)
		}
		bob, err := client(t, hs, "").RegisterDummy(ctx, &mautrix.ReqRegister[any]{Username: "bob", Password: "bob password", DeviceID: "BOBDEV"})
		if err != nil {
			t.Fatal(err)
		}
		mainTok := login(t, hs, "alice", "alice password", "MAIN").AccessToken
		second := login(t, hs, "alice", "alice password", "SECOND").AccessToken
		third := login(t, hs, "alice", "alice password", "THIRD").AccessToken
		alice := client(t, hs, mainTok)

		devs, err := alice.GetDevicesInfo(ctx)
		if err != nil || len(devs.Devices) != 4 {
			t.Fatalf("devices = %+v, %v", devs, err)
		}
		for _, d := range devs.Devices {
			if d.LastSeenIP != "127.0.0.1" || d.LastSeenTS == 0 {
				t.Fatalf("device %+v lacks last seen IP or time", d)
			}
		}
		if err := alice.SetDeviceInfo(ctx, "SECOND", &mautrix.ReqDeviceInfo{DisplayName: "laptop"}); err != nil {
			t.Fatal(err)
		}
		if d, err := alice.GetDeviceInfo(ctx, "SECOND"); err != nil || d.DisplayName != "laptop" || d.DeviceID != "SECOND" {
			t.Fatalf("device = %+v, %v", d, err)
		}
		// A device without a name has no display_name key.
		r := call(t, hs, "GET", "/_matrix/client/r0/devices/THIRD", mainTok, nil).expect(t, 200, "")
		if _, ok := r.body["display_name"]; ok {
			t.Fatalf("unnamed device = %s", r.raw)
		}
		call(t, hs, "PUT", "/_matrix/client/v3/devices/THIRD", mainTok, `{}`).expect(t, 200, "")

		// Bad input, and other users' devices: nothing changes.
		unchanged := func() {
			t.Helper()
			if devs, err := alice.GetDevicesInfo(ctx); err != nil || len(devs.Devices) != 4 {
				t.Fatalf("devices = %+v, %v", devs, err)
			}
			if d, err := alice.GetDeviceInfo(ctx, "SECOND"); err != nil || d.DisplayName != "laptop" {
				t.Fatalf("SECOND = %+v, %v", d, err)
			}
			call(t, hs, "GET", "/_matrix/client/v3/account/whoami", second, nil).expect(t, 200, "")
			call(t, hs, "GET", "/_matrix/client/v3/account/whoami", bob.AccessToken, nil).expect(t, 200, "")
		}
		for _, tc := range []struct {
			name, method, path, token string
			body                      any
			status                    int
			errcode                   string
		}{
			{"list without token", "GET", "devices", "", nil, 401, "M_MISSING_TOKEN"},
			{"get unknown", "GET", "devices/NOPE", mainTok, nil, 404, "M_NOT_FOUND"},
			{"get bob's", "GET", "devices/BOBDEV", mainTok, nil, 404, "M_NOT_FOUND"},
			{"rename unknown", "PUT", "devices/NOPE", mainTok, `{"display_name":"x"}`, 404, "M_NOT_FOUND"},
			{"rename bob's", "PUT", "devices/BOBDEV", mainTok, `{"display_name":"x"}`, 404, "M_NOT_FOUND"},
			{"rename not JSON", "PUT", "devices/SECOND", mainTok, `{"display_name":`, 400, "M_NOT_JSON"},
			{"rename wrong type", "PUT", "devices/SECOND", mainTok, `{"display_name":5}`, 400, "M_BAD_JSON"},
			{"rename too long", "PUT", "devices/SECOND", mainTok, `{"display_name":"` + strings.Repeat("n", 1001) + `"}`, 400, "M_INVALID_PARAM"},
			{"rename over-size", "PUT", "devices/SECOND", mainTok, `{"display_name":"` + strings.Repeat("n", 2<<20) + `"}`, 413, "M_TOO_LARGE"},
			{"delete without token", "DELETE", "devices/SECOND", "", nil, 401, "M_MISSING_TOKEN"},
			{"delete no body", "DELETE", "devices/SECOND", mainTok, nil, 401, ""},
			{"delete not JSON", "DELETE", "devices/SECOND", mainTok, `{"auth":`, 400, "M_NOT_JSON"},
			{"delete wrong password", "DELETE", "devices/SECOND", mainTok, map[string]any{"auth": passwordAuth("alice", "nope", "")}, 401, "M_FORBIDDEN"},
			{"delete as bob", "DELETE", "devices/SECOND", mainTok, map[string]any{"auth": passwordAuth("@bob:localhost", "bob password", "")}, 403, "M_FORBIDDEN"},
			{"delete bob's device", "DELETE", "devices/BOBDEV", mainTok, map[string]any{"auth": passwordAuth("alice", "alice password", "")}, 200, ""},
			{"bulk no devices", "POST", "delete_devices", mainTok, map[string]any{"auth": passwordAuth("alice", "alice password", "")}, 400, "M_MISSING_PARAM"},
			{"bulk wrong type", "POST", "delete_devices", mainTok, `{"devices":"SECOND"}`, 400, "M_BAD_JSON"},
			{"bulk wrong item type", "POST", "delete_devices", mainTok, `{"devices":[5]}`, 400, "M_BAD_JSON"},
			{"bulk too many", "POST", "delete_devices", mainTok, map[string]any{"devices": make([]string, 1001)}, 400, "M_INVALID_PARAM"},
			{"bulk over-size", "POST", "delete_devices", mainTok, `{"devices":["` + strings.Repeat("d", 2<<20) + `"]}`, 413, "M_TOO_LARGE"},
			{"bulk unknown stage", "POST", "delete_devices", mainTok, map[string]any{"devices": []string{"SECOND"}, "auth": map[string]any{"type": "m.login.magic"}}, 401, "M_UNRECOGNIZED"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := call(t, hs, tc.method, "/_matrix/client/v3/"+tc.path, tc.token, tc.body).expect(t, tc.status, tc.errcode)
				if tc.status == 401 && tc.errcode != "M_MISSING_TOKEN" {
					r.expectUIA(t, "m.login.password", tc.errcode)
				}
				unchanged()
			})
		}

		// A session bound to one device does not delete another.
		session := call(t, hs, "DELETE", "/_matrix/client/v3/devices/SECOND", mainTok, nil).expectUIA(t, "m.login.password", "")
		call(t, hs, "DELETE", "/_matrix/client/v3/devices/THIRD", mainTok, map[string]any{"auth": passwordAuth("alice", "alice password", session)}).
			expect(t, 403, "M_FORBIDDEN")
		call(t, hs, "POST", "/_matrix/client/v3/delete_devices", mainTok, map[string]any{"devices": []string{"SECOND", "THIRD"}, "auth": passwordAuth("alice", "alice password", session)}).
			expect(t, 403, "M_FORBIDDEN")
		unchanged()

		// mautrix deletes a device with the password stage in one request.
		err = alice.DeleteDevice(ctx, "SECOND", &mautrix.ReqDeleteDevice[any]{Auth: passwordAuth("alice", "alice password", session)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := alice.GetDeviceInfo(ctx, "SECOND"); !errors.Is(err, mautrix.MNotFound) {
			t.Fatalf("deleted device = %v, want M_NOT_FOUND", err)
		}
		if _, err := client(t, hs, second).Whoami(ctx); !errors.Is(err, mautrix.MUnknownToken) {
			t.Fatalf("deleted device's token = %v, want M_UNKNOWN_TOKEN", err)
		}
		// Bulk delete through the UIA dance, unknown IDs ignored.
		// (DeleteDevices drops the 401 body; ask for it the way mautrix's
		// UIA helpers do.)
		uiaBody, err := alice.MakeFullRequest(ctx, mautrix.FullRequest{
			Method:      http.MethodPost,
			URL:         alice.BuildClientURL("v3", "delete_devices"),
			RequestJSON: &mautrix.ReqDeleteDevices[any]{Devices: []id.DeviceID{"THIRD", "FIRST", "GONE"}},
		})
		var httpErr mautrix.HTTPError
		if !errors.As(err, &httpErr) || !httpErr.IsStatus(401) || httpErr.RespError != nil {
			t.Fatalf("delete_devices without auth = %v, want a UIA 401", err)
		}
		var uia mautrix.RespUserInteractive
		if err := json.Unmarshal(uiaBody, &uia); err != nil || !uia.HasSingleStageFlow(mautrix.AuthTypePassword) {
			t.Fatalf("UIA = %+v, %v", uia, err)
		}
		err = alice.DeleteDevices(ctx, &mautrix.ReqDeleteDevices[any]{
			Devices: []id.DeviceID{"THIRD", "FIRST", "GONE"},
			Auth:    passwordAuth("alice", "alice password", uia.Session),
		})
		if err != nil {
			t.Fatal(err)
		}
		devs, err = alice.GetDevicesInfo(ctx)
		if err != nil || len(devs.Devices) != 1 || devs.Devices[0].DeviceID != "MAIN" {
			t.Fatalf("devices = %+v, %v", devs, err)
		}
		if _, err := client(t, hs, third).Whoami(ctx); !errors.Is(err, mautrix.MUnknownToken) {
			t.Fatalf("deleted device's token = %v, want M_UNKNOWN_TOKEN", err)
		}
		if _, err := client(t, hs, bob.AccessToken).GetDeviceInfo(ctx, "BOBDEV"); err != nil {
			t.Fatalf("bob's device after alice's deletions: %v", err)
		}
		// Deleting the current device logs it out.
		call(t, hs, "DELETE", "/_matrix/client/v3/devices/MAIN", mainTok, map[string]any{"auth": passwordAuth("alice", "alice password", "")}).expect(t, 200, "")
		call(t, hs, "GET", "/_matrix/client/v3/devices", mainTok, nil).expect(t, 401, "M_UNKNOWN_TOKEN")
	})
}
