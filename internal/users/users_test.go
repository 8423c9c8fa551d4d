package users_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"myelin/internal/spec"
	"myelin/internal/sqlstore"
	"myelin/internal/testkit/testdb"
	"myelin/internal/users"
)

// The vectors were computed with Python's hmac module, the construction of
// Synapse's register_new_matrix_user (and of Complement's client).
func TestSharedSecretMAC(t *testing.T) {
	for _, tc := range []struct {
		secret, nonce, user, password string
		admin                         bool
		userType, want                string
	}{
		{"complement", "abcdef", "adminuser", "sUp3rs3kr1t", true, "", "e570de4e337bb8832222bf95dcd71070565f51c6"},
		{"complement", "abcdef", "user-UPPER-shared-SECRET", "übers3kr1t", false, "", "db4cdea49e290cb5cfc0ed1a7e5c0fa3acf952ce"},
		{"s3cret", "n0nce", "bot", "pw", false, "bot", "c1678f6effbcc8653f6866282b07069642f22f1c"},
	} {
		if got := users.SharedSecretMAC(tc.secret, tc.nonce, tc.user, tc.password, tc.admin, tc.userType); got != tc.want {
			t.Errorf("SharedSecretMAC(%q, %q, %q, %q, %v, %q) = %s, want %s", tc.secret, tc.nonce, tc.user, tc.password, tc.admin, tc.userType, got, tc.want)
		}
	}
}

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

func newService(t *testing.T, e testdb.Engine, clock *fakeClock, mode users.RegistrationMode) *users.Service {
	t.Helper()
	dbURL, path := e.New(t)
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{URL: dbURL, SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return users.New(users.Options{ServerName: "example.org", PasswordHashCost: 4, Registration: mode, Now: clock.Now}, db)
}

// Authenticated requests record the device's activity at most once per
// LastSeenInterval, so that most requests cost no write.
func TestLastSeenIsThrottled(t *testing.T) {
	for _, e := range testdb.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := &fakeClock{time.UnixMilli(1_000_000)}
			svc := newService(t, e, clock, users.RegistrationClosed)
			if _, err := svc.CreateAccount(ctx, "ann", "a long password", false); err != nil {
				t.Fatal(err)
			}
			tok, err := svc.NewSession(ctx, "ann", "DEV", "", "10.0.0.1", false)
			if err != nil {
				t.Fatal(err)
			}
			lastSeen := func() users.Device {
				t.Helper()
				c, err := svc.Authenticate(ctx, tok.AccessToken, "")
				if err != nil {
					t.Fatal(err)
				}
				d, err := svc.Device(ctx, c, "DEV")
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			// Login recorded 10.0.0.1 at the start time; a request from
			// elsewhere 59 s later changes nothing.
			clock.t = clock.t.Add(59 * time.Second)
			if _, err := svc.Authenticate(ctx, tok.AccessToken, "10.0.0.2"); err != nil {
				t.Fatal(err)
			}
			if d := lastSeen(); d.LastSeenIP != "10.0.0.1" || d.LastSeenTS != 1_000_000 {
				t.Fatalf("after 59 s: %+v, want the login's record", d)
			}
			clock.t = clock.t.Add(time.Second)
			if _, err := svc.Authenticate(ctx, tok.AccessToken, "10.0.0.3"); err != nil {
				t.Fatal(err)
			}
			if d := lastSeen(); d.LastSeenIP != "10.0.0.3" || d.LastSeenTS != 1_060_000 {
				t.Fatalf("after 60 s: %+v, want 10.0.0.3 at 1060000", d)
			}
		})
	}
}

// Concurrent registrations with a one-use token: exactly one account is
// created, and the token ends with one completed use and none pending.
func TestRegistrationTokenIsConsumedOnce(t *testing.T) {
	for _, e := range testdb.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			svc := newService(t, e, &fakeClock{time.UnixMilli(5_000_000)}, users.RegistrationByToken)
			once, token := int64(1), "only-once"
			if _, err := svc.CreateRegistrationToken(ctx, users.NewRegistrationToken{Token: &token, UsesAllowed: &once}); err != nil {
				t.Fatal(err)
			}
			const n = 8
			errs := make(chan error, n)
			for i := range n {
				go func() {
					_, err := svc.Register(ctx, users.RegisterRequest{
						Username: fmt.Sprintf("racer%d", i), Password: "a long password",
						Auth: &users.AuthDict{Type: users.StageRegistrationToken, Token: token},
					})
					errs <- err
				}()
			}
			ok := 0
			for range n {
				err := <-errs
				var ar *users.AuthRequired
				switch {
				case err == nil:
					ok++
				case errors.As(err, &ar) && ar.Err != nil && ar.Err.Code == spec.ErrUnauthorized:
				default:
					t.Errorf("Register = %v, want success or 401 M_UNAUTHORIZED", err)
				}
			}
			if ok != 1 {
				t.Fatalf("%d registrations succeeded with a one-use token, want 1", ok)
			}
			list, err := svc.RegistrationTokens(ctx, nil)
			if err != nil || len(list) != 1 || list[0].Completed != 1 || list[0].Pending != 0 {
				t.Fatalf("token after the race = %+v, %v", list, err)
			}
			if valid, err := svc.RegistrationTokenValid(ctx, token); err != nil || valid {
				t.Fatalf("validity after use = %v, %v", valid, err)
			}
		})
	}
}

// A UIA session expires after UIASessionLifetime: continuing it gives a new
// session and M_UNKNOWN.
func TestUIASessionExpires(t *testing.T) {
	for _, e := range testdb.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := &fakeClock{time.UnixMilli(5_000_000)}
			svc := newService(t, e, clock, users.RegistrationOpen)
			var ar *users.AuthRequired
			if _, err := svc.Register(ctx, users.RegisterRequest{Username: "dora"}); !errors.As(err, &ar) || ar.Err != nil {
				t.Fatalf("Register(no auth) = %v, want AuthRequired", err)
			}
			sess := ar.Session
			clock.t = clock.t.Add(users.UIASessionLifetime)
			_, err := svc.Register(ctx, users.RegisterRequest{Username: "dora", Auth: &users.AuthDict{Type: users.StageDummy, Session: sess}})
			if !errors.As(err, &ar) || ar.Err == nil || ar.Err.Code != spec.ErrUnknown || ar.Session == sess {
				t.Fatalf("Register(expired session) = %v, want a new session and M_UNKNOWN", err)
			}
			if err := svc.UsernameAvailable(ctx, "dora"); err != nil {
				t.Fatalf("an expired session registered dora: %v", err)
			}
			if _, err := svc.Register(ctx, users.RegisterRequest{Username: "dora", Auth: &users.AuthDict{Type: users.StageDummy, Session: ar.Session}}); err != nil {
				t.Fatalf("Register(new session) = %v", err)
			}
		})
	}
}

// BenchmarkAuthenticate measures what every authenticated request costs the
// accounts service: one read (the last-seen write is throttled).
func BenchmarkAuthenticate(b *testing.B) {
	for _, e := range testdb.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			ctx := context.Background()
			dbURL, path := e.New(b)
			db, err := sqlstore.Open(ctx, sqlstore.Options{URL: dbURL, SQLitePath: path})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			svc := users.New(users.Options{ServerName: "example.org", PasswordHashCost: 4}, db)
			if _, err := svc.CreateAccount(ctx, "ann", "a long password", false); err != nil {
				b.Fatal(err)
			}
			tok, err := svc.NewSession(ctx, "ann", "DEV", "", "10.0.0.1", false)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := svc.Authenticate(ctx, tok.AccessToken, "10.0.0.1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
