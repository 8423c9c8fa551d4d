package storetest

import (
	"context"
	"errors"
	"testing"

	"myelin/internal/store"
)

// testServerNotices checks that a user's server notices room is recorded
// once: the first room recorded wins.
func testServerNotices(t *testing.T, s Store) {
	ctx := context.Background()
	if _, err := s.ServerNoticeRoom(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ServerNoticeRoom(none) = %v, want ErrNotFound", err)
	}
	if got, err := s.SetServerNoticeRoom(ctx, "alice", "!a:test"); err != nil || got != "!a:test" {
		t.Fatalf("SetServerNoticeRoom = %q, %v", got, err)
	}
	if got, err := s.SetServerNoticeRoom(ctx, "alice", "!b:test"); err != nil || got != "!a:test" {
		t.Fatalf("second SetServerNoticeRoom = %q, %v; want the first room", got, err)
	}
	if got, err := s.ServerNoticeRoom(ctx, "alice"); err != nil || got != "!a:test" {
		t.Fatalf("ServerNoticeRoom = %q, %v", got, err)
	}
	if _, err := s.ServerNoticeRoom(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ServerNoticeRoom(bob) = %v", err)
	}
}
