package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"myelin/internal/store"
)

func testReceipts(t *testing.T, s Store) {
	ctx := context.Background()
	if pos, err := s.ReceiptsPosition(ctx); err != nil || pos != 0 {
		t.Fatalf("ReceiptsPosition(empty) = %d, %v", pos, err)
	}
	if pos, err := s.PutReceipts(ctx, nil); err != nil || pos != 0 {
		t.Fatalf("PutReceipts(nil) = %d, %v", pos, err)
	}
	rd := func(room, user, typ, thread, event string, ts int64) store.Receipt {
		return store.Receipt{RoomID: room, UserID: user, Type: typ, ThreadID: thread, EventID: event, EventPos: ts * 10, TS: ts}
	}
	p1, err := s.PutReceipts(ctx, []store.Receipt{rd("!a:test", "@alice:test", "m.read", "", "$1", 1)})
	if err != nil || p1 <= 0 {
		t.Fatalf("PutReceipts = %d, %v", p1, err)
	}
	// Several receipts in one call take consecutive positions; the
	// unthreaded, main-timeline, per-thread and private receipts of one
	// user are four different keys.
	p2, err := s.PutReceipts(ctx, []store.Receipt{
		rd("!a:test", "@alice:test", "m.read", "main", "$2", 2),
		rd("!a:test", "@alice:test", "m.read", "$root", "$3", 3),
		rd("!a:test", "@alice:test", "m.read.private", "", "$4", 4),
		rd("!b:test", "@bob:test", "m.read", "", "$b1", 5),
	})
	if err != nil || p2 != p1+4 {
		t.Fatalf("PutReceipts(4) = %d, %v; want %d", p2, err, p1+4)
	}
	if pos, err := s.ReceiptsPosition(ctx); err != nil || pos != p2 {
		t.Fatalf("ReceiptsPosition = %d, %v; want %d", pos, err, p2)
	}
	got, err := s.ReceiptsSince(ctx, []string{"!a:test", "!b:test", "!none:test"}, 0, p2)
	if err != nil || len(got) != 5 {
		t.Fatalf("ReceiptsSince(all) = %+v, %v", got, err)
	}
	for i, r := range got {
		if r.Pos != p1+int64(i) {
			t.Fatalf("receipt %d at position %d, want %d (ordered by position)", i, r.Pos, p1+int64(i))
		}
	}
	if r := got[2]; r != (store.Receipt{RoomID: "!a:test", UserID: "@alice:test", Type: "m.read", ThreadID: "$root",
		EventID: "$3", EventPos: 30, TS: 3, Pos: p1 + 2}) {
		t.Fatalf("receipt read back = %+v", r)
	}
	// Rooms and the position range select.
	if got, err := s.ReceiptsSince(ctx, []string{"!b:test"}, 0, p2); err != nil || len(got) != 1 || got[0].EventID != "$b1" {
		t.Fatalf("ReceiptsSince(!b) = %+v, %v", got, err)
	}
	if got, err := s.ReceiptsSince(ctx, []string{"!a:test"}, p1, p1+2); err != nil || len(got) != 2 || got[0].EventID != "$2" || got[1].EventID != "$3" {
		t.Fatalf("ReceiptsSince(range) = %+v, %v", got, err)
	}
	if got, err := s.ReceiptsSince(ctx, nil, 0, p2); err != nil || len(got) != 0 {
		t.Fatalf("ReceiptsSince(no rooms) = %+v, %v", got, err)
	}

	// A new receipt of a key replaces the old one, whatever its event, and
	// moves to a new position: a reader after p2 sees it once, as it is now.
	p3, err := s.PutReceipts(ctx, []store.Receipt{rd("!a:test", "@alice:test", "m.read", "", "$5", 6)})
	if err != nil || p3 != p2+1 {
		t.Fatalf("PutReceipts(replace) = %d, %v", p3, err)
	}
	p4, err := s.PutReceipts(ctx, []store.Receipt{rd("!a:test", "@alice:test", "m.read", "", "$0", 7)})
	if err != nil {
		t.Fatal(err)
	}
	got, err = s.ReceiptsSince(ctx, []string{"!a:test"}, p2, p4)
	if err != nil || len(got) != 1 || got[0].EventID != "$0" || got[0].Pos != p4 || got[0].TS != 7 {
		t.Fatalf("ReceiptsSince(after replace) = %+v, %v", got, err)
	}
	if got, _ := s.ReceiptsSince(ctx, []string{"!a:test"}, 0, p4); len(got) != 4 {
		t.Fatalf("after replacing, %d receipts in !a, want 4", len(got))
	}
	// The same key twice in one call: the later one wins.
	p5, err := s.PutReceipts(ctx, []store.Receipt{
		rd("!b:test", "@bob:test", "m.read", "", "$b2", 8),
		rd("!b:test", "@bob:test", "m.read", "", "$b3", 9),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ReceiptsSince(ctx, []string{"!b:test"}, 0, p5); len(got) != 1 || got[0].EventID != "$b3" || got[0].Pos != p5 {
		t.Fatalf("receipts of !b = %+v", got)
	}

	mine, err := s.UserReceipts(ctx, "@alice:test", []string{"!a:test", "!b:test"})
	if err != nil || len(mine) != 4 {
		t.Fatalf("UserReceipts = %+v, %v", mine, err)
	}
	if mine, err := s.UserReceipts(ctx, "@alice:test", []string{"!b:test"}); err != nil || len(mine) != 0 {
		t.Fatalf("UserReceipts(!b) = %+v, %v", mine, err)
	}

	// More rooms than one query takes.
	var many []string
	var batch []store.Receipt
	for i := range 1200 {
		room := fmt.Sprintf("!r%d:test", i)
		many = append(many, room)
		if i%100 == 0 {
			batch = append(batch, rd(room, "@carol:test", "m.read", "", "$c", 1))
		}
	}
	pMany, err := s.PutReceipts(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.ReceiptsSince(ctx, many, p5, pMany); err != nil || len(got) != 12 {
		t.Fatalf("ReceiptsSince(1200 rooms) = %d receipts, %v", len(got), err)
	}
	if got, err := s.UserReceipts(ctx, "@carol:test", many); err != nil || len(got) != 12 {
		t.Fatalf("UserReceipts(1200 rooms) = %d receipts, %v", len(got), err)
	}
}

// testReceiptsConcurrent checks that a reader following the stream never
// skips a receipt while several writers commit: it reads up to the current
// position, and every receipt at or below it must already be visible.
func testReceiptsConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	const writers, each = 6, 15
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := store.Receipt{RoomID: "!c:test", UserID: fmt.Sprintf("@u%d-%d:test", g, i), Type: "m.read", EventID: "$e", TS: int64(i)}
				if _, err := s.PutReceipts(ctx, []store.Receipt{r}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var seen []int64
	var after int64
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		upTo, err := s.ReceiptsPosition(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.ReceiptsSince(ctx, []string{"!c:test"}, after, upTo)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			seen = append(seen, r.Pos)
		}
		if int64(len(seen)) != upTo {
			t.Fatalf("read up to position %d but saw %d receipts: a committed position was skipped", upTo, len(seen))
		}
		after = upTo
	}
	if len(seen) != writers*each || !slices.IsSorted(seen) {
		t.Fatalf("saw %d receipts (sorted: %v), want %d", len(seen), slices.IsSorted(seen), writers*each)
	}
}
