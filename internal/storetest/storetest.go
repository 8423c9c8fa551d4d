// Package storetest is the conformance suite every store implementation
// passes. Run calls one subtest per domain; each gets a fresh, empty store
// from the open function.
package storetest

import (
	"testing"

	"myelin/internal/store"
)

// Store is everything the suite exercises.
type Store interface {
	store.Accounts
	store.AccountAdmin
	store.UIASessions
	store.Profiles
	store.AccountData
	store.Presence
	store.Filters
	store.Rooms
	store.Receipts
	store.Directory
	store.Sync
	store.Media
	store.E2EEKeys
	store.ToDevice
	store.KeyBackups
	store.UserDirectoryRooms
	store.Relations
	store.Pushers
	store.Search
	store.ServerNotices
	store.DehydratedDevices
}

// Run runs the whole suite against stores made by open.
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, open(t)) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open(t)) })
	t.Run("AccountAdmin", func(t *testing.T) { testAccountAdmin(t, open(t)) })
	t.Run("Registration", func(t *testing.T) { testRegistration(t, open(t)) })
	t.Run("UIASessions", func(t *testing.T) { testUIASessions(t, open(t)) })
	t.Run("RegistrationTokens", func(t *testing.T) { testRegistrationTokens(t, open(t)) })
	t.Run("Nonces", func(t *testing.T) { testNonces(t, open(t)) })
	t.Run("Profiles", func(t *testing.T) { testProfiles(t, open(t)) })
	t.Run("ProfilePresencePosition", func(t *testing.T) { testProfilePresencePosition(t, open(t)) })
	t.Run("UserDirectoryScope", func(t *testing.T) { testUserDirectoryScope(t, open(t)) })
	t.Run("AccountData", func(t *testing.T) { testAccountData(t, open(t)) })
	t.Run("Presence", func(t *testing.T) { testPresence(t, open(t)) })
	t.Run("Filters", func(t *testing.T) { testFilters(t, open(t)) })
	t.Run("RoomsBasics", func(t *testing.T) { testRoomsBasics(t, open(t)) })
	t.Run("RoomsMemberships", func(t *testing.T) { testRoomsMemberships(t, open(t)) })
	t.Run("RoomsTimeline", func(t *testing.T) { testRoomsTimeline(t, open(t)) })
	t.Run("SnapshotDeltas", func(t *testing.T) { testSnapshotDeltas(t, open(t)) })
	t.Run("Relations", func(t *testing.T) { testRelations(t, open(t)) })
	t.Run("Pushers", func(t *testing.T) { testPushers(t, open(t)) })
	t.Run("Search", func(t *testing.T) { testSearch(t, open(t)) })
	t.Run("ServerNotices", func(t *testing.T) { testServerNotices(t, open(t)) })
	t.Run("ConcurrentRoomWrites", func(t *testing.T) { testConcurrentRoomWrites(t, open(t)) })
	t.Run("Receipts", func(t *testing.T) { testReceipts(t, open(t)) })
	t.Run("ReceiptsConcurrent", func(t *testing.T) { testReceiptsConcurrent(t, open(t)) })
	t.Run("Directory", func(t *testing.T) { testDirectory(t, open(t)) })
	t.Run("SyncReads", func(t *testing.T) { testSyncReads(t, open(t)) })
	t.Run("Media", func(t *testing.T) { testMedia(t, open(t)) })
	t.Run("MediaConcurrent", func(t *testing.T) { testMediaConcurrent(t, open(t)) })
	t.Run("E2EEKeys", func(t *testing.T) { testE2EEKeys(t, open(t)) })
	t.Run("E2EECrossSigning", func(t *testing.T) { testE2EECrossSigning(t, open(t)) })
	t.Run("E2EEDeviceLists", func(t *testing.T) { testE2EEDeviceLists(t, open(t)) })
	t.Run("E2EEClaimConcurrent", func(t *testing.T) { testE2EEClaimConcurrent(t, open(t)) })
	t.Run("ToDevice", func(t *testing.T) { testToDevice(t, open(t)) })
	t.Run("KeyBackups", func(t *testing.T) { testKeyBackups(t, open(t)) })
	t.Run("DehydratedDevices", func(t *testing.T) { testDehydratedDevices(t, open(t)) })
}
