package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"myelin/internal/store"
)

func testAccounts(t *testing.T, s Store) {
	ctx := context.Background()
	if _, err := s.Account(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Account(absent) = %v, want ErrNotFound", err)
	}
	a := store.Account{Localpart: "alice", PasswordHash: "h1", Admin: true, CreatedTS: 1234}
	if err := s.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, a); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateAccount(twice) = %v, want ErrConflict", err)
	}
	got, err := s.Account(ctx, "alice")
	if err != nil || got != a {
		t.Fatalf("Account = %+v, %v; want %+v", got, err, a)
	}
	if err := s.SetPasswordHash(ctx, "alice", "h2"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPasswordHash(ctx, "nobody", "h2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetPasswordHash(absent) = %v, want ErrNotFound", err)
	}

	for _, id := range []string{"DEV2", "DEV1"} {
		if err := s.UpsertDevice(ctx, store.Device{Localpart: "alice", DeviceID: id, DisplayName: "phone " + id}); err != nil {
			t.Fatal(err)
		}
	}
	// Upserting again keeps the display name.
	if err := s.UpsertDevice(ctx, store.Device{Localpart: "alice", DeviceID: "DEV1", LastSeenTS: 99}); err != nil {
		t.Fatal(err)
	}
	devs, err := s.Devices(ctx, "alice")
	if err != nil || len(devs) != 2 || devs[0].DeviceID != "DEV1" || devs[0].DisplayName != "phone DEV1" || devs[0].LastSeenTS != 99 {
		t.Fatalf("Devices = %+v, %v", devs, err)
	}
	if err := s.SetDeviceDisplayName(ctx, "alice", "DEV2", "laptop"); err != nil {
		t.Fatal(err)
	}
	if d, err := s.Device(ctx, "alice", "DEV2"); err != nil || d.DisplayName != "laptop" {
		t.Fatalf("Device = %+v, %v", d, err)
	}
	if _, err := s.Device(ctx, "alice", "NOPE"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Device(absent) = %v", err)
	}
	if err := s.SetDeviceDisplayName(ctx, "alice", "NOPE", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetDeviceDisplayName(absent) = %v", err)
	}
	if err := s.CreateSession(ctx, store.Session{TokenHash: []byte("t2"), Localpart: "alice", DeviceID: "DEV2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDevices(ctx, "alice", []string{"DEV2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByToken(ctx, []byte("t2")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session of deleted device survived: %v", err)
	}
	if err := s.CreateSession(ctx, store.Session{TokenHash: []byte("t1"), Localpart: "alice", DeviceID: "DEV1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeactivateAccount(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	got, err = s.Account(ctx, "alice")
	if err != nil || !got.Deactivated || got.PasswordHash != "" {
		t.Fatalf("after deactivation: %+v, %v", got, err)
	}
	if devs, _ := s.Devices(ctx, "alice"); len(devs) != 0 {
		t.Fatalf("devices survived deactivation: %+v", devs)
	}
	if _, err := s.SessionByToken(ctx, []byte("t1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session survived deactivation: %v", err)
	}
	if err := s.DeactivateAccount(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeactivateAccount(absent) = %v", err)
	}
}

func testSessions(t *testing.T, s Store) {
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateAccount(ctx, store.Account{Localpart: "bob", PasswordHash: "h"}))
	must(s.UpsertDevice(ctx, store.Device{Localpart: "bob", DeviceID: "A"}))
	must(s.UpsertDevice(ctx, store.Device{Localpart: "bob", DeviceID: "B"}))
	sa := store.Session{TokenHash: []byte("ta"), Localpart: "bob", DeviceID: "A", ExpiresTS: 500, RefreshTokenHash: []byte("ra")}
	must(s.CreateSession(ctx, sa))
	must(s.CreateSession(ctx, store.Session{TokenHash: []byte("tb"), Localpart: "bob", DeviceID: "B"}))
	if err := s.CreateSession(ctx, sa); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateSession(twice) = %v", err)
	}
	got, err := s.SessionByToken(ctx, []byte("ta"))
	if err != nil || got.DeviceID != "A" || got.ExpiresTS != 500 || !bytes.Equal(got.RefreshTokenHash, []byte("ra")) {
		t.Fatalf("SessionByToken = %+v, %v", got, err)
	}
	if got, err := s.SessionByToken(ctx, []byte("tb")); err != nil || got.RefreshTokenHash != nil {
		t.Fatalf("SessionByToken(no refresh) = %+v, %v", got, err)
	}
	if got, err := s.SessionByRefreshToken(ctx, []byte("ra")); err != nil || !bytes.Equal(got.TokenHash, []byte("ta")) {
		t.Fatalf("SessionByRefreshToken = %+v, %v", got, err)
	}
	// Refresh: the old session goes, the new one comes, atomically; a second
	// use of the same old token finds nothing.
	next := store.Session{TokenHash: []byte("ta2"), Localpart: "bob", DeviceID: "A", RefreshTokenHash: []byte("ra2")}
	must(s.ReplaceSession(ctx, []byte("ta"), next))
	if err := s.ReplaceSession(ctx, []byte("ta"), next); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ReplaceSession(used) = %v", err)
	}
	if _, err := s.SessionByRefreshToken(ctx, []byte("ra")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old refresh token still works: %v", err)
	}
	must(s.DeleteDeviceSessions(ctx, "bob", "A"))
	if _, err := s.SessionByToken(ctx, []byte("tb")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other device's session survived: %v", err)
	}
	if _, err := s.SessionByToken(ctx, []byte("ta2")); err != nil {
		t.Fatalf("kept device's session deleted: %v", err)
	}
	must(s.DeleteSessions(ctx, [][]byte{[]byte("ta2")}))
	if _, err := s.SessionByToken(ctx, []byte("ta2")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted session found: %v", err)
	}
}

func testAccountAdmin(t *testing.T, s Store) {
	ctx := context.Background()
	must := mustFunc(t)
	must(s.CreateAccount(ctx, store.Account{Localpart: "carol", PasswordHash: "h1", Admin: true}))
	must(s.UpsertDevice(ctx, store.Device{Localpart: "carol", DeviceID: "D1", LastSeenIP: "10.0.0.1", LastSeenTS: 10}))
	must(s.UpsertDevice(ctx, store.Device{Localpart: "carol", DeviceID: "D2"}))
	must(s.CreateSession(ctx, store.Session{TokenHash: []byte("t1"), Localpart: "carol", DeviceID: "D1", ExpiresTS: 77}))
	must(s.CreateSession(ctx, store.Session{TokenHash: []byte("t2"), Localpart: "carol", DeviceID: "D1"}))
	must(s.CreateSession(ctx, store.Session{TokenHash: []byte("t3"), Localpart: "carol", DeviceID: "D2"}))

	o, err := s.LookupToken(ctx, []byte("t1"))
	if err != nil || o.Localpart != "carol" || o.DeviceID != "D1" || !o.Admin || o.Deactivated || o.ExpiresTS != 77 ||
		o.LastSeenIP != "10.0.0.1" || o.LastSeenTS != 10 || !bytes.Equal(o.TokenHash, []byte("t1")) {
		t.Fatalf("LookupToken = %+v, %v", o, err)
	}
	if _, err := s.LookupToken(ctx, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LookupToken(absent) = %v, want ErrNotFound", err)
	}
	must(s.TouchDevice(ctx, "carol", "D1", "10.0.0.2", 20))
	if o, err := s.LookupToken(ctx, []byte("t2")); err != nil || o.LastSeenIP != "10.0.0.2" || o.LastSeenTS != 20 {
		t.Fatalf("after TouchDevice: %+v, %v", o, err)
	}
	if err := s.TouchDevice(ctx, "carol", "NOPE", "x", 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TouchDevice(absent) = %v, want ErrNotFound", err)
	}

	// Without logout, every session stays.
	must(s.ChangePassword(ctx, "carol", "h2", false, "D1", []byte("t1")))
	if a, _ := s.Account(ctx, "carol"); a.PasswordHash != "h2" {
		t.Fatalf("password hash = %q, want h2", a.PasswordHash)
	}
	for _, tok := range []string{"t1", "t2", "t3"} {
		if _, err := s.LookupToken(ctx, []byte(tok)); err != nil {
			t.Fatalf("session %s lost without logout: %v", tok, err)
		}
	}
	// With logout, only the kept session and device stay.
	must(s.ChangePassword(ctx, "carol", "h3", true, "D1", []byte("t1")))
	if _, err := s.LookupToken(ctx, []byte("t1")); err != nil {
		t.Fatalf("kept session lost: %v", err)
	}
	for _, tok := range []string{"t2", "t3"} {
		if _, err := s.LookupToken(ctx, []byte(tok)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session %s survived logout: %v", tok, err)
		}
	}
	if devs, err := s.Devices(ctx, "carol"); err != nil || len(devs) != 1 || devs[0].DeviceID != "D1" {
		t.Fatalf("devices after logout = %+v, %v", devs, err)
	}
	if err := s.ChangePassword(ctx, "nobody", "h", true, "", nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ChangePassword(absent) = %v, want ErrNotFound", err)
	}

	// DeleteDevices takes many IDs at once, unknown ones included.
	ids := []string{"D1"}
	for i := range 1200 {
		id := fmt.Sprintf("X%04d", i)
		ids = append(ids, id)
		if i%100 == 0 {
			must(s.UpsertDevice(ctx, store.Device{Localpart: "carol", DeviceID: id}))
		}
	}
	must(s.DeleteDevices(ctx, "carol", ids))
	if devs, err := s.Devices(ctx, "carol"); err != nil || len(devs) != 0 {
		t.Fatalf("devices after bulk delete = %d, %v", len(devs), err)
	}
	if _, err := s.LookupToken(ctx, []byte("t1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session of a deleted device survived: %v", err)
	}

	must(s.DeactivateAccount(ctx, "carol"))
	if err := s.ChangePassword(ctx, "carol", "h4", false, "", nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ChangePassword(deactivated) = %v, want ErrNotFound", err)
	}
}

func mustFunc(t *testing.T) func(error) {
	return func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func int64p(v int64) *int64 { return &v }

func tokenCounts(t *testing.T, s Store, token string) (pending, completed int64) {
	t.Helper()
	rt, err := s.RegistrationToken(context.Background(), token)
	if err != nil {
		t.Fatalf("RegistrationToken(%s): %v", token, err)
	}
	return rt.Pending, rt.Completed
}

func testRegistration(t *testing.T, s Store) {
	ctx := context.Background()
	must := mustFunc(t)
	must(s.CreateRegistrationToken(ctx, store.RegistrationToken{Token: "tok", UsesAllowed: int64p(2)}))
	must(s.CreateUIASession(ctx, store.UIASession{ID: "s1", Purpose: "register", ExpiresTS: 1000}, 0))
	must(s.ReserveRegistrationToken(ctx, "s1", "m.login.registration_token", "tok", 0))

	reg := store.NewRegistration{
		Account:    store.Account{Localpart: "dave", PasswordHash: "h", CreatedTS: 5},
		UIASession: "s1",
		Device:     &store.Device{Localpart: "dave", DeviceID: "DD", DisplayName: "phone", LastSeenTS: 5},
		Session:    &store.Session{TokenHash: []byte("td"), Localpart: "dave", DeviceID: "DD"},
	}
	must(s.CreateRegistration(ctx, reg))
	if a, err := s.Account(ctx, "dave"); err != nil || a.PasswordHash != "h" || a.CreatedTS != 5 {
		t.Fatalf("registered account = %+v, %v", a, err)
	}
	if o, err := s.LookupToken(ctx, []byte("td")); err != nil || o.DeviceID != "DD" {
		t.Fatalf("registered session = %+v, %v", o, err)
	}
	if d, err := s.Device(ctx, "dave", "DD"); err != nil || d.DisplayName != "phone" {
		t.Fatalf("registered device = %+v, %v", d, err)
	}
	if _, err := s.UIASession(ctx, "s1", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UIA session survived registration: %v", err)
	}
	if p, c := tokenCounts(t, s, "tok"); p != 0 || c != 1 {
		t.Fatalf("token after registration: pending %d completed %d, want 0 1", p, c)
	}

	// The same session cannot register twice: nothing is written.
	reg.Account.Localpart, reg.Device, reg.Session = "erin", nil, nil
	if err := s.CreateRegistration(ctx, reg); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateRegistration(used session) = %v, want ErrNotFound", err)
	}
	if _, err := s.Account(ctx, "erin"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("account created with a used session: %v", err)
	}

	// A taken name rolls everything back: the session and its token use stay.
	must(s.CreateUIASession(ctx, store.UIASession{ID: "s2", Purpose: "register", ExpiresTS: 1000}, 0))
	must(s.ReserveRegistrationToken(ctx, "s2", "m.login.registration_token", "tok", 0))
	reg = store.NewRegistration{
		Account:    store.Account{Localpart: "dave"},
		UIASession: "s2",
		Device:     &store.Device{Localpart: "dave", DeviceID: "OTHER"},
		Session:    &store.Session{TokenHash: []byte("td2"), Localpart: "dave", DeviceID: "OTHER"},
	}
	if err := s.CreateRegistration(ctx, reg); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateRegistration(taken) = %v, want ErrConflict", err)
	}
	if sess, err := s.UIASession(ctx, "s2", 0); err != nil || sess.RegistrationToken != "tok" {
		t.Fatalf("session after failed registration = %+v, %v", sess, err)
	}
	if p, c := tokenCounts(t, s, "tok"); p != 1 || c != 1 {
		t.Fatalf("token after failed registration: pending %d completed %d, want 1 1", p, c)
	}
	if _, err := s.Device(ctx, "dave", "OTHER"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("device written by a failed registration: %v", err)
	}
	// Another name succeeds with the same session.
	reg.Account.Localpart, reg.Device.Localpart, reg.Session.Localpart = "frank", "frank", "frank"
	must(s.CreateRegistration(ctx, reg))
	if p, c := tokenCounts(t, s, "tok"); p != 0 || c != 2 {
		t.Fatalf("token after second registration: pending %d completed %d, want 0 2", p, c)
	}

	// Without UIA session or login.
	must(s.CreateRegistration(ctx, store.NewRegistration{Account: store.Account{Localpart: "gina", Admin: true}}))
	if a, err := s.Account(ctx, "gina"); err != nil || !a.Admin {
		t.Fatalf("account gina = %+v, %v", a, err)
	}
	if devs, _ := s.Devices(ctx, "gina"); len(devs) != 0 {
		t.Fatalf("devices of a registration without login: %+v", devs)
	}
}

func testUIASessions(t *testing.T, s Store) {
	ctx := context.Background()
	must := mustFunc(t)
	in := store.UIASession{ID: "a", Purpose: "delete_devices", Localpart: "hank", Binding: []byte{1, 2, 3}, CreatedTS: 10, ExpiresTS: 100}
	must(s.CreateUIASession(ctx, in, 10))
	if err := s.CreateUIASession(ctx, in, 10); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateUIASession(twice) = %v, want ErrConflict", err)
	}
	got, err := s.UIASession(ctx, "a", 50)
	if err != nil || got.Purpose != in.Purpose || got.Localpart != "hank" || !bytes.Equal(got.Binding, in.Binding) ||
		got.CreatedTS != 10 || got.ExpiresTS != 100 || len(got.Completed) != 0 || got.RegistrationToken != "" {
		t.Fatalf("UIASession = %+v, %v", got, err)
	}
	if _, err := s.UIASession(ctx, "a", 100); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UIASession(expired) = %v, want ErrNotFound", err)
	}
	if _, err := s.UIASession(ctx, "zz", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UIASession(absent) = %v, want ErrNotFound", err)
	}
	must(s.CompleteUIAStage(ctx, "a", "m.login.dummy", 50))
	must(s.CompleteUIAStage(ctx, "a", "m.login.password", 50))
	if got, _ := s.UIASession(ctx, "a", 50); len(got.Completed) != 2 || got.Completed[0] != "m.login.dummy" || got.Completed[1] != "m.login.password" {
		t.Fatalf("completed = %q", got.Completed)
	}
	if err := s.CompleteUIAStage(ctx, "a", "m.login.dummy", 100); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CompleteUIAStage(expired) = %v, want ErrNotFound", err)
	}
	if err := s.CompleteUIAStage(ctx, "zz", "m.login.dummy", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CompleteUIAStage(absent) = %v, want ErrNotFound", err)
	}
	// A session without binding reads back nil.
	must(s.CreateUIASession(ctx, store.UIASession{ID: "nb", Purpose: "register", ExpiresTS: 100}, 10))
	if got, err := s.UIASession(ctx, "nb", 10); err != nil || got.Binding != nil {
		t.Fatalf("UIASession(no binding) = %+v, %v", got, err)
	}

	// Token reservations.
	must(s.CreateRegistrationToken(ctx, store.RegistrationToken{Token: "one", UsesAllowed: int64p(1)}))
	must(s.CreateRegistrationToken(ctx, store.RegistrationToken{Token: "old", ExpiryTime: int64p(40)}))
	must(s.CreateUIASession(ctx, store.UIASession{ID: "r1", Purpose: "register", ExpiresTS: 100}, 10))
	must(s.CreateUIASession(ctx, store.UIASession{ID: "r2", Purpose: "register", ExpiresTS: 300}, 10))
	must(s.CreateUIASession(ctx, store.UIASession{ID: "r4", Purpose: "register", ExpiresTS: 300}, 10))
	must(s.ReserveRegistrationToken(ctx, "r1", "m.login.registration_token", "one", 20))
	if got, _ := s.UIASession(ctx, "r1", 20); got.RegistrationToken != "one" || len(got.Completed) != 1 || got.Completed[0] != "m.login.registration_token" {
		t.Fatalf("reserving session = %+v", got)
	}
	for _, tc := range []struct{ token, why string }{{"one", "used up"}, {"old", "expired"}, {"nope", "unknown"}} {
		if err := s.ReserveRegistrationToken(ctx, "r2", "m.login.registration_token", tc.token, 50); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("ReserveRegistrationToken(%s token) = %v, want ErrConflict", tc.why, err)
		}
	}
	if got, _ := s.UIASession(ctx, "r2", 50); got.RegistrationToken != "" || len(got.Completed) != 0 {
		t.Fatalf("failed reservations changed the session: %+v", got)
	}
	// A session holds one token use at most; the failed attempt takes none.
	must(s.CreateRegistrationToken(ctx, store.RegistrationToken{Token: "many"}))
	if err := s.ReserveRegistrationToken(ctx, "r1", "m.login.registration_token", "many", 20); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second reservation = %v, want ErrNotFound", err)
	}
	if p, _ := tokenCounts(t, s, "many"); p != 0 {
		t.Fatalf("failed reservation left pending %d", p)
	}
	if err := s.ReserveRegistrationToken(ctx, "zz", "m.login.registration_token", "many", 20); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("reservation for an absent session = %v, want ErrNotFound", err)
	}
	if p, _ := tokenCounts(t, s, "many"); p != 0 {
		t.Fatalf("reservation for an absent session left pending %d", p)
	}
	// Expiry gives the use back: a reservation at 150 first deletes r1,
	// whose use r4 then takes.
	if p, _ := tokenCounts(t, s, "one"); p != 1 {
		t.Fatalf("pending = %d, want 1", p)
	}
	must(s.ReserveRegistrationToken(ctx, "r4", "m.login.registration_token", "one", 150))
	if p, _ := tokenCounts(t, s, "one"); p != 1 {
		t.Fatalf("pending after r1 expired and r4 reserved = %d, want 1", p)
	}
	// Creating a session at 300 deletes r4 (and r2), giving the use back.
	must(s.CreateUIASession(ctx, store.UIASession{ID: "r3", Purpose: "register", ExpiresTS: 400}, 300))
	if p, _ := tokenCounts(t, s, "one"); p != 0 {
		t.Fatalf("pending after expiry = %d, want 0", p)
	}
	if _, err := s.UIASession(ctx, "a", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session survived cleanup: %v", err)
	}
	// Deleting a session gives its use back too.
	must(s.ReserveRegistrationToken(ctx, "r3", "m.login.registration_token", "one", 300))
	if p, _ := tokenCounts(t, s, "one"); p != 1 {
		t.Fatalf("pending = %d, want 1", p)
	}
	must(s.DeleteUIASession(ctx, "r3"))
	if p, _ := tokenCounts(t, s, "one"); p != 0 {
		t.Fatalf("pending after delete = %d, want 0", p)
	}
	if _, err := s.UIASession(ctx, "r3", 300); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted session found: %v", err)
	}
	must(s.DeleteUIASession(ctx, "r3"))
}

func testRegistrationTokens(t *testing.T, s Store) {
	ctx := context.Background()
	must := mustFunc(t)
	if _, err := s.RegistrationToken(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RegistrationToken(absent) = %v, want ErrNotFound", err)
	}
	if list, err := s.RegistrationTokens(ctx); err != nil || len(list) != 0 {
		t.Fatalf("RegistrationTokens(empty) = %+v, %v", list, err)
	}
	must(s.CreateRegistrationToken(ctx, store.RegistrationToken{Token: "b", UsesAllowed: int64p(0), ExpiryTime: int64p(99)}))
	must(s.CreateRegistrationToken(ctx, store.RegistrationToken{Token: "a"}))
	if err := s.CreateRegistrationToken(ctx, store.RegistrationToken{Token: "a"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateRegistrationToken(twice) = %v, want ErrConflict", err)
	}
	list, err := s.RegistrationTokens(ctx)
	if err != nil || len(list) != 2 || list[0].Token != "a" || list[1].Token != "b" {
		t.Fatalf("RegistrationTokens = %+v, %v", list, err)
	}
	if list[0].UsesAllowed != nil || list[0].ExpiryTime != nil {
		t.Fatalf("unlimited token read back as %+v", list[0])
	}
	if b := list[1]; b.UsesAllowed == nil || *b.UsesAllowed != 0 || b.ExpiryTime == nil || *b.ExpiryTime != 99 {
		t.Fatalf("limited token read back as %+v", b)
	}
	if list[0].Usable(1e12) != true || list[1].Usable(0) != false {
		t.Fatalf("Usable: unlimited %v, zero uses %v", list[0].Usable(1e12), list[1].Usable(0))
	}
}

func testNonces(t *testing.T, s Store) {
	ctx := context.Background()
	must := mustFunc(t)
	must(s.CreateNonce(ctx, "n1", 100, 0))
	if err := s.CreateNonce(ctx, "n1", 100, 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateNonce(twice) = %v, want ErrConflict", err)
	}
	must(s.ConsumeNonce(ctx, "n1", 50))
	if err := s.ConsumeNonce(ctx, "n1", 50); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ConsumeNonce(used) = %v, want ErrNotFound", err)
	}
	must(s.CreateNonce(ctx, "n2", 100, 0))
	if err := s.ConsumeNonce(ctx, "n2", 100); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ConsumeNonce(expired) = %v, want ErrNotFound", err)
	}
	// Creating a nonce deletes the expired ones.
	must(s.CreateNonce(ctx, "n3", 100, 0))
	must(s.CreateNonce(ctx, "n4", 300, 200))
	if err := s.ConsumeNonce(ctx, "n3", 50); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired nonce survived cleanup: %v", err)
	}
	if err := s.ConsumeNonce(ctx, "zz", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ConsumeNonce(absent) = %v, want ErrNotFound", err)
	}
}
