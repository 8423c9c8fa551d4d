//go:build goolm

// Integration tests with a real end-to-end encryption client: mautrix-go's
// crypto package on its pure-Go Olm implementation (build tag goolm).

package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/crypto/backup"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// cryptoClient is a logged-in device running mautrix's OlmMachine with
// in-memory stores, driven by explicit /sync calls.
type cryptoClient struct {
	t     *testing.T
	cli   *mautrix.Client
	state mautrix.StateStore
	mach  *crypto.OlmMachine
	since string
	// plain holds the decrypted bodies of the room messages seen.
	plain map[id.EventID]string
}

func newCryptoClient(t *testing.T, hs *testserver.Server, name, deviceID string) *cryptoClient {
	t.Helper()
	ctx := context.Background()
	hs.Srv.Users.CreateAccount(ctx, name, "password", false)
	cli := client(t, hs, "")
	passwordLogin(t, cli, name, "password", deviceID, true)
	state := mautrix.NewMemoryStateStore()
	cli.StateStore = state
	log := zerolog.Nop()
	mach := crypto.NewOlmMachine(cli, &log, crypto.NewMemoryStore(nil), state.(crypto.StateStore))
	if err := mach.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := mach.ShareKeys(ctx, 0); err != nil {
		t.Fatalf("%s uploading keys: %v", name, err)
	}
	c := &cryptoClient{t: t, cli: cli, state: state, mach: mach, plain: map[id.EventID]string{}}
	c.sync(0)
	return c
}

// sync runs one /sync and feeds it to the state store and the OlmMachine,
// then decrypts the room messages it carries.
func (c *cryptoClient) sync(timeoutMS int) *mautrix.RespSync {
	c.t.Helper()
	ctx := context.Background()
	resp, err := c.cli.SyncRequest(ctx, timeoutMS, c.since, "", false, "")
	if err != nil {
		c.t.Fatalf("%s sync: %v", c.cli.UserID, err)
	}
	for roomID, room := range resp.Rooms.Join {
		for _, evt := range append(room.State.Events, room.Timeline.Events...) {
			evt.RoomID = roomID
			if evt.StateKey == nil {
				continue
			}
			evt.Type.Class = event.StateEventType
			_ = evt.Content.ParseRaw(evt.Type)
			mautrix.UpdateStateStore(ctx, c.state, evt)
			if evt.Type == event.StateMember {
				c.mach.HandleMemberEvent(ctx, evt)
			}
		}
	}
	c.mach.ProcessSyncResponse(ctx, resp, c.since)
	for roomID, room := range resp.Rooms.Join {
		for _, evt := range room.Timeline.Events {
			if evt.Type != event.EventEncrypted {
				continue
			}
			evt.RoomID = roomID
			if body, err := c.decrypt(evt); err == nil {
				c.plain[evt.ID] = body
			}
		}
	}
	c.since = resp.NextBatch
	return resp
}

// decrypt decrypts an m.room.encrypted event and returns its body.
func (c *cryptoClient) decrypt(evt *event.Event) (string, error) {
	evt.Type.Class = event.MessageEventType
	if err := evt.Content.ParseRaw(evt.Type); err != nil {
		return "", err
	}
	dec, err := c.mach.DecryptMegolmEvent(context.Background(), evt)
	if err != nil {
		return "", err
	}
	msg := dec.Content.AsMessage()
	if msg == nil {
		return "", errors.New("not a message")
	}
	return msg.Body, nil
}

// syncUntil syncs until ok holds, for at most ten seconds.
func (c *cryptoClient) syncUntil(what string, ok func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: timed out waiting for %s", c.cli.DeviceID, what)
		}
		c.sync(500)
	}
}

// send encrypts and sends a text message, sharing the megolm session with
// the room's members first when needed, as mautrix's cryptohelper does.
func (c *cryptoClient) send(roomID id.RoomID, body string) (id.EventID, *event.EncryptedEventContent) {
	c.t.Helper()
	ctx := context.Background()
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: body}
	enc, err := c.mach.EncryptMegolmEvent(ctx, roomID, event.EventMessage, content)
	if errors.Is(err, crypto.ErrSessionExpired) || errors.Is(err, crypto.ErrNoGroupSession) || errors.Is(err, crypto.ErrSessionNotShared) {
		members, err := c.state.GetRoomJoinedOrInvitedMembers(ctx, roomID)
		if err != nil {
			c.t.Fatal(err)
		}
		if err := c.mach.ShareGroupSession(ctx, roomID, members); err != nil {
			c.t.Fatalf("sharing the group session: %v", err)
		}
		enc, err = c.mach.EncryptMegolmEvent(ctx, roomID, event.EventMessage, content)
		if err != nil {
			c.t.Fatalf("encrypting: %v", err)
		}
	} else if err != nil {
		c.t.Fatalf("encrypting: %v", err)
	}
	resp, err := c.cli.SendMessageEvent(ctx, roomID, event.EventEncrypted, enc)
	if err != nil {
		c.t.Fatalf("sending: %v", err)
	}
	return resp.EventID, enc
}

// TestE2EEWithRealClient runs end-to-end encryption between real clients:
// two accounts exchange encrypted messages both ways in a room encrypted
// by default; a device added later decrypts new messages; a megolm session
// goes through the key backup to a fresh device; cross-signing keys and
// signatures are seen (and trusted) by the other account.
func TestE2EEWithRealClient(t *testing.T) {
	testserver.ForEachEngine(t, func(t *testing.T, e testdb.Engine) {
		t.Parallel()
		ctx := context.Background()
		hs := testserver.Start(t, e)
		alice := newCryptoClient(t, hs, "alice", "ALICE1")
		bob := newCryptoClient(t, hs, "bob", "BOB1")

		// A private room is encrypted by default (encryption.default private).
		created, err := alice.cli.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{bob.cli.UserID}})
		if err != nil {
			t.Fatal(err)
		}
		room := created.RoomID
		if _, err := bob.cli.JoinRoomByID(ctx, room); err != nil {
			t.Fatal(err)
		}
		alice.syncUntil("bob's join", func() bool {
			m, _ := alice.state.GetMember(ctx, room, bob.cli.UserID)
			return m != nil && m.Membership == event.MembershipJoin
		})
		bob.syncUntil("the room's encryption", func() bool {
			enc, _ := bob.state.IsEncrypted(ctx, room)
			return enc
		})
		if enc, _ := alice.state.IsEncrypted(ctx, room); !enc {
			t.Fatal("the private room is not encrypted")
		}

		// Messages both ways.
		m1, _ := alice.send(room, "hello bob")
		bob.syncUntil("alice's message", func() bool { return bob.plain[m1] == "hello bob" })
		m2, _ := bob.send(room, "hello alice")
		alice.syncUntil("bob's message", func() bool { return alice.plain[m2] == "hello alice" })

		// Bob adds a device: Alice learns of it through device_lists and
		// shares the next session with it too.
		bob2 := newCryptoClient(t, hs, "bob", "BOB2")
		alice.syncUntil("bob's new device", func() bool {
			devs, _ := alice.mach.CryptoStore.GetDevices(ctx, bob.cli.UserID)
			return devs["BOB2"] != nil
		})
		m3, m3enc := alice.send(room, "for both of bob's devices")
		bob2.syncUntil("the message on the new device", func() bool { return bob2.plain[m3] == "for both of bob's devices" })
		bob.syncUntil("the message on the old device", func() bool { return bob.plain[m3] == "for both of bob's devices" })
		if _, ok := bob2.plain[m1]; ok {
			t.Fatal("the new device decrypted a message sent before it existed")
		}

		// Key backup: Alice backs up the megolm session of m3; a fresh
		// device of hers restores it from the backup and decrypts m3.
		backupKey, err := backup.NewMegolmBackupKey()
		if err != nil {
			t.Fatal(err)
		}
		version, err := alice.cli.CreateKeyBackupVersion(ctx, &mautrix.ReqRoomKeysVersionCreate[backup.MegolmAuthData]{
			Algorithm: id.KeyBackupAlgorithmMegolmBackupV1,
			AuthData:  backup.MegolmAuthData{PublicKey: id.Ed25519(base64.RawStdEncoding.EncodeToString(backupKey.PublicKey().Bytes()))},
		})
		if err != nil {
			t.Fatal(err)
		}
		igs, err := alice.mach.CryptoStore.GetGroupSession(ctx, room, m3enc.SessionID)
		if err != nil || igs == nil {
			t.Fatalf("alice's inbound session: %v, %v", igs, err)
		}
		first := igs.Internal.FirstKnownIndex()
		exported, err := igs.Internal.Export(first)
		if err != nil {
			t.Fatal(err)
		}
		sessionData, err := backup.EncryptSessionData(backupKey, backup.MegolmSessionData{
			Algorithm: id.AlgorithmMegolmV1, SenderKey: igs.SenderKey, ForwardingKeyChain: []string{},
			SenderClaimedKeys: backup.SenderClaimedKeys{Ed25519: igs.SigningKey}, SessionKey: string(exported),
		})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(sessionData)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := alice.cli.PutKeysInBackupForRoomAndSession(ctx, version.Version, room, m3enc.SessionID, &mautrix.ReqKeyBackupData{
			FirstMessageIndex: int(first), IsVerified: true, SessionData: raw,
		}); err != nil {
			t.Fatal(err)
		}
		alice2 := newCryptoClient(t, hs, "alice", "ALICE2")
		if v, err := alice2.mach.DownloadAndStoreLatestKeyBackup(ctx, backupKey); err != nil || v != version.Version {
			t.Fatalf("restoring the backup: %q, %v", v, err)
		}
		evt, err := alice2.cli.GetEvent(ctx, room, m3)
		if err != nil {
			t.Fatal(err)
		}
		evt.RoomID = room
		if body, err := alice2.decrypt(evt); err != nil || body != "for both of bob's devices" {
			t.Fatalf("the fresh device decrypting with the restored session: %q, %v", body, err)
		}

		// Cross-signing: Alice publishes her keys (the first upload needs no
		// user-interactive auth) and signs her device; Bob sees her keys,
		// signs her master key with his user-signing key, and then trusts
		// her device.
		noUIA := func(*mautrix.RespUserInteractive) interface{} {
			t.Error("the first cross-signing upload asked for user-interactive auth")
			return nil
		}
		aliceCS, err := alice.mach.GenerateCrossSigningKeys()
		if err != nil {
			t.Fatal(err)
		}
		if err := alice.mach.PublishCrossSigningKeys(ctx, aliceCS, noUIA); err != nil {
			t.Fatalf("alice publishing cross-signing keys: %v", err)
		}
		if err := alice.mach.SignOwnDevice(ctx, alice.mach.OwnIdentity()); err != nil {
			t.Fatalf("alice signing her device: %v", err)
		}
		bobCS, err := bob.mach.GenerateCrossSigningKeys()
		if err != nil {
			t.Fatal(err)
		}
		if err := bob.mach.PublishCrossSigningKeys(ctx, bobCS, noUIA); err != nil {
			t.Fatalf("bob publishing cross-signing keys: %v", err)
		}
		bob.syncUntil("alice's cross-signing keys", func() bool {
			keys, _ := bob.mach.GetCrossSigningPublicKeys(ctx, alice.cli.UserID)
			return keys != nil && keys.MasterKey == aliceCS.MasterKey.PublicKey() && keys.SelfSigningKey == aliceCS.SelfSigningKey.PublicKey()
		})
		if err := bob.mach.SignUser(ctx, alice.cli.UserID, aliceCS.MasterKey.PublicKey()); err != nil {
			t.Fatalf("bob signing alice: %v", err)
		}
		// Bob's store is refreshed from the server, so the trust below
		// rests on what the server returns.
		bob.mach.CryptoStore = crypto.NewMemoryStore(nil)
		if _, err := bob.mach.FetchKeys(ctx, []id.UserID{alice.cli.UserID, bob.cli.UserID}, true); err != nil {
			t.Fatal(err)
		}
		if trusted, err := bob.mach.IsUserTrusted(ctx, alice.cli.UserID); err != nil || !trusted {
			t.Fatalf("bob trusts alice = %v, %v", trusted, err)
		}
		aliceDev, err := bob.mach.CryptoStore.GetDevice(ctx, alice.cli.UserID, "ALICE1")
		if err != nil || aliceDev == nil {
			t.Fatalf("alice's device in bob's store: %v, %v", aliceDev, err)
		}
		if trust, err := bob.mach.ResolveTrustContext(ctx, aliceDev); err != nil || trust != id.TrustStateCrossSignedVerified {
			t.Fatalf("bob's trust in alice's device = %v, %v", trust, err)
		}
		// Bob's signature is his alone to see.
		q, err := alice2.cli.QueryKeys(ctx, &mautrix.ReqQueryKeys{DeviceKeys: mautrix.DeviceKeysRequest{alice.cli.UserID: {}}})
		if err != nil {
			t.Fatal(err)
		}
		if sigs := q.MasterKeys[alice.cli.UserID].Signatures[bob.cli.UserID]; len(sigs) != 0 {
			t.Fatalf("alice sees bob's user-signing signature: %v", sigs)
		}
		fmt.Fprintf(testWriter{t}, "verified with mautrix-go crypto (goolm) on %s\n", e.Name)
	})
}

// testWriter logs through t.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
