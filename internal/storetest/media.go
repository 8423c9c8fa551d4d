package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"

	"myelin/internal/store"
)

func mediaKey(id string) store.MediaKey { return store.MediaKey{Origin: "localhost", MediaID: id} }

func uploaded(id, uploader, sha string, size int64) store.MediaRecord {
	return store.MediaRecord{MediaKey: mediaKey(id), Uploader: uploader, ContentType: "image/png", UploadName: "a.png",
		Size: size, SHA256: sha, CreatedTS: 1000, UploadedTS: 1000}
}

func pending(id, uploader string, created, expires int64) store.MediaRecord {
	return store.MediaRecord{MediaKey: mediaKey(id), Uploader: uploader, CreatedTS: created, ExpiresTS: expires}
}

func testMedia(t *testing.T, s Store) {
	ctx := context.Background()
	alice, bob := "@alice:localhost", "@bob:localhost"

	// Uploads, duplicates, and a quota of 100 bytes.
	if err := s.CreateMedia(ctx, uploaded("a1", alice, "aa", 60), 100, 5); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMedia(ctx, uploaded("a1", bob, "bb", 1), 0, 5); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateMedia(same key) = %v, want ErrConflict", err)
	}
	if err := s.CreateMedia(ctx, uploaded("a2", alice, "aa", 41), 100, 5); !errors.Is(err, store.ErrMediaQuota) {
		t.Fatalf("CreateMedia(over quota) = %v, want ErrMediaQuota", err)
	}
	if err := s.CreateMedia(ctx, uploaded("a2", alice, "aa", 40), 100, 5); err != nil {
		t.Fatalf("CreateMedia(exactly at quota) = %v", err)
	}
	if err := s.CreateMedia(ctx, uploaded("b1", bob, "bb", 500), 0, 5); err != nil {
		t.Fatalf("CreateMedia(no quota) = %v", err)
	}
	if used, err := s.MediaUsage(ctx, alice); err != nil || used != 100 {
		t.Fatalf("MediaUsage = %d, %v, want 100", used, err)
	}
	got, err := s.Media(ctx, []store.MediaKey{mediaKey("a1"), mediaKey("nope"), {Origin: "other.org", MediaID: "a1"}})
	if err != nil || len(got) != 1 {
		t.Fatalf("Media = %+v, %v", got, err)
	}
	if want := uploaded("a1", alice, "aa", 60); got[0] != want {
		t.Fatalf("Media[0] = %+v, want %+v", got[0], want)
	}

	// Pending media: the per-user limit counts only unexpired pending ones.
	for i := 0; i < 2; i++ {
		if err := s.CreateMedia(ctx, pending(fmt.Sprintf("p%d", i), bob, 2000, 3000), 0, 2); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateMedia(ctx, pending("p2", bob, 2000, 3000), 0, 2); !errors.Is(err, store.ErrMediaPendingLimit) {
		t.Fatalf("CreateMedia(third pending) = %v, want ErrMediaPendingLimit", err)
	}
	if err := s.CreateMedia(ctx, pending("p2", bob, 3000, 4000), 0, 2); err != nil {
		t.Fatalf("CreateMedia(pending after the others expired) = %v", err)
	}
	content := store.MediaContent{ContentType: "text/plain", UploadName: "t.txt", Size: 5, SHA256: "cc", UploadedTS: 3500}
	if err := s.FinishPendingMedia(ctx, mediaKey("p2"), alice, content, 0); !errors.Is(err, store.ErrMediaNotOwner) {
		t.Fatalf("FinishPendingMedia(other user) = %v, want ErrMediaNotOwner", err)
	}
	if err := s.FinishPendingMedia(ctx, mediaKey("nope"), bob, content, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("FinishPendingMedia(absent) = %v, want ErrNotFound", err)
	}
	if err := s.FinishPendingMedia(ctx, mediaKey("p0"), bob, content, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("FinishPendingMedia(expired) = %v, want ErrNotFound", err)
	}
	if err := s.FinishPendingMedia(ctx, mediaKey("p2"), bob, content, 504); !errors.Is(err, store.ErrMediaQuota) {
		t.Fatalf("FinishPendingMedia(over quota) = %v, want ErrMediaQuota", err)
	}
	if err := s.FinishPendingMedia(ctx, mediaKey("p2"), bob, content, 505); err != nil {
		t.Fatalf("FinishPendingMedia = %v", err)
	}
	if err := s.FinishPendingMedia(ctx, mediaKey("p2"), bob, content, 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("FinishPendingMedia(again) = %v, want ErrConflict", err)
	}
	if err := s.FinishPendingMedia(ctx, mediaKey("b1"), bob, content, 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("FinishPendingMedia(uploaded directly) = %v, want ErrConflict", err)
	}
	got, _ = s.Media(ctx, []store.MediaKey{mediaKey("p2")})
	if len(got) != 1 || got[0].SHA256 != "cc" || got[0].UploadedTS != 3500 || got[0].ExpiresTS != 0 || got[0].ContentType != "text/plain" {
		t.Fatalf("after FinishPendingMedia: %+v", got)
	}
	if n, err := s.DeleteExpiredPendingMedia(ctx, 3500); err != nil || n != 2 {
		t.Fatalf("DeleteExpiredPendingMedia = %d, %v, want 2 (p0, p1)", n, err)
	}
	if got, _ := s.Media(ctx, []store.MediaKey{mediaKey("p0"), mediaKey("p1"), mediaKey("p2")}); len(got) != 1 {
		t.Fatalf("after DeleteExpiredPendingMedia: %+v", got)
	}

	// Thumbnails and blob references.
	thumbs := []store.MediaThumbnail{
		{MediaKey: mediaKey("a1"), Width: 32, Height: 32, Method: "crop", ContentType: "image/png", Size: 10, SHA256: "t1"},
		{MediaKey: mediaKey("a1"), Width: 320, Height: 240, Method: "scale", ContentType: "image/png", Size: 20, SHA256: "t2"},
	}
	if err := s.PutMediaThumbnails(ctx, thumbs); err != nil {
		t.Fatal(err)
	}
	thumbs[1].SHA256, thumbs[1].Size = "t3", 30
	if err := s.PutMediaThumbnails(ctx, thumbs[1:]); err != nil {
		t.Fatal(err)
	}
	gotThumbs, err := s.MediaThumbnails(ctx, []store.MediaKey{mediaKey("a1"), mediaKey("b1")})
	sort.Slice(gotThumbs, func(i, j int) bool { return gotThumbs[i].Width < gotThumbs[j].Width })
	if err != nil || len(gotThumbs) != 2 || gotThumbs[0] != thumbs[0] || gotThumbs[1] != thumbs[1] {
		t.Fatalf("MediaThumbnails = %+v, %v", gotThumbs, err)
	}
	inUse, err := s.BlobsInUse(ctx, []string{"aa", "t1", "t2", "t3", "zz"})
	if err != nil || !inUse["aa"] || !inUse["t1"] || inUse["t2"] || !inUse["t3"] || inUse["zz"] {
		t.Fatalf("BlobsInUse = %v, %v", inUse, err)
	}

	// Quarantine by key, by uploader, by content; placeholders for remote media.
	if n, err := s.QuarantineMedia(ctx, []store.MediaKey{mediaKey("a1"), mediaKey("nope")}, "@admin:localhost", false); err != nil || n != 1 {
		t.Fatalf("QuarantineMedia = %d, %v", n, err)
	}
	if n, _ := s.QuarantineMedia(ctx, []store.MediaKey{mediaKey("a1")}, "@admin:localhost", false); n != 0 {
		t.Fatalf("QuarantineMedia(again) = %d, want 0", n)
	}
	remote := store.MediaKey{Origin: "remote.org", MediaID: "r1"}
	if n, err := s.QuarantineMedia(ctx, []store.MediaKey{remote}, "@admin:localhost", true); err != nil || n != 1 {
		t.Fatalf("QuarantineMedia(placeholder) = %d, %v", n, err)
	}
	if got, _ := s.Media(ctx, []store.MediaKey{remote}); len(got) != 1 || got[0].QuarantinedBy != "@admin:localhost" || got[0].UploadedTS != 0 {
		t.Fatalf("placeholder = %+v", got)
	}
	if n, err := s.QuarantineMediaByUploader(ctx, alice, "@admin:localhost"); err != nil || n != 1 {
		t.Fatalf("QuarantineMediaByUploader = %d, %v, want 1 (a2; a1 already)", n, err)
	}
	if n, err := s.QuarantineMediaBySHA256(ctx, "bb", "scanner"); err != nil || n != 1 {
		t.Fatalf("QuarantineMediaBySHA256 = %d, %v", n, err)
	}
	if n, _ := s.QuarantineMedia(ctx, []store.MediaKey{mediaKey("a1")}, "", false); n != 1 {
		t.Fatalf("lifting quarantine = %d, want 1", n)
	}
	got, _ = s.Media(ctx, []store.MediaKey{mediaKey("a1"), mediaKey("a2"), mediaKey("b1")})
	byID := map[string]string{}
	for _, r := range got {
		byID[r.MediaID] = r.QuarantinedBy
	}
	if byID["a1"] != "" || byID["a2"] != "@admin:localhost" || byID["b1"] != "scanner" {
		t.Fatalf("quarantine marks = %v", byID)
	}

	// Verdicts: infected stays infected.
	if err := s.PutScanVerdicts(ctx, []store.ScanVerdict{
		{Key: "k1", Clean: true, Info: "ok", ScannedTS: 1}, {Key: "k2", Clean: false, Info: "EICAR", ScannedTS: 1},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutScanVerdicts(ctx, []store.ScanVerdict{
		{Key: "k1", Clean: true, Info: "ok again", ScannedTS: 2}, {Key: "k2", Clean: true, Info: "ok", ScannedTS: 2},
	}); err != nil {
		t.Fatal(err)
	}
	vs, err := s.ScanVerdicts(ctx, []string{"k1", "k2", "k3"})
	sort.Slice(vs, func(i, j int) bool { return vs[i].Key < vs[j].Key })
	want := []store.ScanVerdict{{Key: "k1", Clean: true, Info: "ok again", ScannedTS: 2}, {Key: "k2", Clean: false, Info: "EICAR", ScannedTS: 2}}
	if err != nil || len(vs) != 2 || vs[0] != want[0] || vs[1] != want[1] {
		t.Fatalf("ScanVerdicts = %+v, %v, want %+v", vs, err, want)
	}
	if err := s.PutScanVerdicts(ctx, []store.ScanVerdict{{Key: "k1", Clean: false, Info: "found later", ScannedTS: 3}}); err != nil {
		t.Fatal(err)
	}
	if vs, _ := s.ScanVerdicts(ctx, []string{"k1"}); len(vs) != 1 || vs[0].Clean || vs[0].Info != "found later" {
		t.Fatalf("clean then infected = %+v", vs)
	}

	// URL previews.
	if _, err := s.URLPreview(ctx, "https://example.org/"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("URLPreview(absent) = %v", err)
	}
	for i, og := range []string{`{"og:title":"a"}`, `{"og:title":"b"}`} {
		if err := s.PutURLPreview(ctx, store.URLPreview{URL: "https://example.org/", OG: og, FetchedTS: int64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	if p, err := s.URLPreview(ctx, "https://example.org/"); err != nil || p.OG != `{"og:title":"b"}` || p.FetchedTS != 2 {
		t.Fatalf("URLPreview = %+v, %v", p, err)
	}

	// The scanner key: the first candidate wins, also under concurrency.
	var wg sync.WaitGroup
	keys := make([][]byte, 4)
	for i := range keys {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			k, err := s.MediaScannerKey(ctx, bytes.Repeat([]byte{byte(i + 1)}, 32))
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}(i)
	}
	wg.Wait()
	for i := range keys {
		if len(keys[i]) != 32 || !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("MediaScannerKey results differ: %x", keys)
		}
	}
}

// testMediaConcurrent checks that concurrent uploads by one user are all
// stored and counted.
func testMediaConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = s.CreateMedia(ctx, uploaded(fmt.Sprintf("c%d", i), "@carol:localhost", "s", 10), 0, 5)
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if used, err := s.MediaUsage(ctx, "@carol:localhost"); err != nil || used != 160 {
		t.Fatalf("MediaUsage = %d, %v, want 160", used, err)
	}
}
