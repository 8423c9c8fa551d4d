package store

import (
	"context"
	"fmt"
)

// End-to-end encryption records. Every row is keyed by the full user ID, so
// that the keys of remote users (fetched over federation) fit in the same
// tables. Local users also carry their Localpart, which is the key of their
// account and devices: for them, a device's keys count only while the
// device exists.

// KeyOwner names a user whose keys are read or written: the full user ID,
// and for a local user the localpart of the account ("" for remote users).
type KeyOwner struct {
	UserID    string
	Localpart string
}

// DeviceKeys is a device's identity keys.
type DeviceKeys struct {
	UserID   string
	DeviceID string
	// JSON is the canonical JSON of the keys object as uploaded, without
	// "unsigned" (signatures added later through /keys/signatures/upload
	// are KeySignature records).
	JSON []byte
	// DisplayName is the device's display name (read from the device of a
	// local user).
	DisplayName string
}

// OneTimeKey is a one-time or fallback key of a device.
type OneTimeKey struct {
	Algorithm string
	KeyID     string
	// JSON is the canonical JSON of the key: a string or a key object.
	JSON []byte
}

// KeyUpload is everything one /keys/upload stores, in one transaction.
type KeyUpload struct {
	KeyOwner
	DeviceID string
	// DeviceKeys is the canonical JSON of the device keys to store, nil to
	// leave them as they are. PrevDeviceKeys is what the caller read before
	// deciding to write them (nil: there were none); if the stored keys
	// differ from it, nothing is stored and the error is ErrConflict.
	DeviceKeys, PrevDeviceKeys []byte
	// OneTimeKeys are added. A key whose (algorithm, key ID) the device
	// uploaded before is skipped if its JSON is the same (also when it was
	// claimed since: a key is handed out once), and fails the whole upload
	// with ErrConflict otherwise.
	OneTimeKeys []OneTimeKey
	// FallbackKeys replace the device's fallback key of their algorithm;
	// re-uploading the current key leaves its used flag alone.
	FallbackKeys []OneTimeKey
	// MaxOneTimeKeys bounds the unclaimed one-time keys per algorithm the
	// device may hold after the upload (0: no bound); above it nothing is
	// stored and the error is ErrConflict.
	MaxOneTimeKeys int64
}

// KeyConflictKind says what made an upload conflict.
type KeyConflictKind int

// The kinds of KeyConflict.
const (
	// ConflictDeviceKeys: the stored device keys are not the expected ones.
	ConflictDeviceKeys KeyConflictKind = iota + 1
	// ConflictOneTimeKey: a one-time key ID exists with other content.
	ConflictOneTimeKey
	// ConflictTooManyKeys: the device would hold more than MaxOneTimeKeys.
	ConflictTooManyKeys
)

// KeyConflict is the ErrConflict of UploadKeys, saying what conflicted: Key
// is the "<algorithm>:<key ID>" of a one-time key, or the algorithm whose
// keys are too many.
type KeyConflict struct {
	Kind KeyConflictKind
	Key  string
}

func (e *KeyConflict) Error() string {
	return fmt.Sprintf("%v: key upload (kind %d, key %q)", ErrConflict, e.Kind, e.Key)
}

// Unwrap makes errors.Is(err, ErrConflict) hold.
func (e *KeyConflict) Unwrap() error { return ErrConflict }

// KeyUploadResult reports what an upload changed.
type KeyUploadResult struct {
	// Counts are the device's unclaimed one-time keys per algorithm, after
	// the upload.
	Counts map[string]int64
	// DeviceListPos is the device-lists position of the change of device
	// keys, 0 if they did not change.
	DeviceListPos int64
}

// DeviceKeysQuery asks for the device keys of one user: the devices listed,
// or all of them when DeviceIDs is empty.
type DeviceKeysQuery struct {
	KeyOwner
	DeviceIDs []string
}

// KeyClaim asks for one key of a device.
type KeyClaim struct {
	KeyOwner
	DeviceID  string
	Algorithm string
}

// ClaimedKey is the key a claim got: an unclaimed one-time key (the oldest
// upload first), or else the device's fallback key of the algorithm.
type ClaimedKey struct {
	UserID   string
	DeviceID string
	OneTimeKey
	Fallback bool
}

// The usages of cross-signing keys.
const (
	UsageMaster      = "master"
	UsageSelfSigning = "self_signing"
	UsageUserSigning = "user_signing"
)

// CrossSigningKey is one of a user's cross-signing keys.
type CrossSigningKey struct {
	UserID string
	// Usage is UsageMaster, UsageSelfSigning or UsageUserSigning.
	Usage string
	// PublicKey is the unpadded base64 ed25519 public key (the key ID
	// without "ed25519:").
	PublicKey string
	// JSON is the canonical JSON of the key object as uploaded.
	JSON []byte
}

// KeySignature is a signature uploaded through /keys/signatures/upload: a
// signature by the signer's key SignerKeyID ("ed25519:<device ID or public
// key>") of the target's key TargetKeyID (a device ID, or a cross-signing
// public key).
type KeySignature struct {
	TargetUserID string
	TargetKeyID  string
	SignerUserID string
	SignerKeyID  string
	Signature    string
}

// DeviceListChange records that a user's devices or cross-signing keys
// changed. Viewer, when set, limits who is told: a signature by a user's
// user-signing key concerns only that user.
type DeviceListChange struct {
	UserID string
	Viewer string
}

// MemberChange is a membership event of the events stream.
type MemberChange struct {
	RoomNID    int64
	UserID     string
	Membership string
	Pos        int64
}

// E2EEKeys stores device keys, one-time and fallback keys, cross-signing
// keys and signatures, and the device-lists stream: every change of a
// user's devices or cross-signing keys takes the next position of that
// stream in the transaction of the change.
//
// Error contract: ErrConflict as documented per method (nothing is
// changed); absent records are left out of bulk results; other errors are
// storage failures.
type E2EEKeys interface {
	// UploadKeys stores a /keys/upload: device keys, one-time and fallback
	// keys, all or nothing. ErrConflict (as a *KeyConflict) as KeyUpload
	// describes.
	UploadKeys(ctx context.Context, u KeyUpload) (KeyUploadResult, error)
	// DeviceKeys returns the device keys asked for. A local user's keys are
	// returned only for devices that exist, with their display names.
	DeviceKeys(ctx context.Context, qs []DeviceKeysQuery) ([]DeviceKeys, error)
	// KeyCounts returns the device's unclaimed one-time keys per algorithm
	// and the algorithms of its unused fallback keys (sorted).
	KeyCounts(ctx context.Context, userID, deviceID string) (map[string]int64, []string, error)
	// ClaimKeys claims one key per claim, atomically: no one-time key is
	// ever returned twice, whatever claims run concurrently. A claimed
	// fallback key is marked used and stays. Claims that find no key (or
	// name a local device that does not exist) are left out.
	ClaimKeys(ctx context.Context, claims []KeyClaim) ([]ClaimedKey, error)

	// CrossSigningKeys returns the cross-signing keys of the given users.
	CrossSigningKeys(ctx context.Context, userIDs []string) ([]CrossSigningKey, error)
	// PutCrossSigningKeys replaces a user's cross-signing keys of the given
	// usages and records a device-list change, whose position it returns.
	// expectMaster is the public key of the master key the caller's
	// decision was based on ("" for none): if the stored one differs,
	// nothing is stored and the error is ErrConflict.
	PutCrossSigningKeys(ctx context.Context, userID string, keys []CrossSigningKey, expectMaster string) (int64, error)
	// KeySignatures returns the signatures of the keys of targetUserIDs
	// that viewer may see: those made by viewer's keys, and those made by
	// the target user's own keys.
	KeySignatures(ctx context.Context, targetUserIDs []string, viewer string) ([]KeySignature, error)
	// PutKeySignatures stores signatures (replacing one with the same
	// target, signer and key IDs) and records the device-list changes in
	// the same transaction. It returns the last position taken (0 if
	// changes is empty).
	PutKeySignatures(ctx context.Context, sigs []KeySignature, changes []DeviceListChange) (int64, error)

	// PruneDevices deletes what the E2EE tables hold for devices of a local
	// user that no longer exist: device keys, one-time and fallback keys,
	// signatures of the device keys, and the to-device inbox. If device
	// keys were deleted it records a device-list change and returns its
	// position, else 0.
	PruneDevices(ctx context.Context, owner KeyOwner) (int64, error)

	// DeviceListChanges returns the users whose device-list changes in
	// (after, upTo] viewer is told of: changes of viewer itself and of
	// users who share a joined room with viewer now, and changes meant for
	// viewer only.
	DeviceListChanges(ctx context.Context, viewer string, after, upTo int64) ([]string, error)
	// DeviceListPosition returns the last committed device-lists position.
	DeviceListPosition(ctx context.Context) (int64, error)
	// MemberChanges returns the membership events with events-stream
	// positions in (after, upTo] of the rooms userID is joined to now or
	// whose membership of userID changed in that range, ordered by
	// position.
	MemberChanges(ctx context.Context, userID string, after, upTo int64) ([]MemberChange, error)
	// JoinedUsers returns the users joined to any of the rooms, sorted and
	// without duplicates.
	JoinedUsers(ctx context.Context, roomNIDs []int64) ([]string, error)
}

// ToDeviceMessage is a send-to-device message for one device, or for every
// device of the user when DeviceID is "*".
type ToDeviceMessage struct {
	// Recipient is a local user.
	Recipient KeyOwner
	DeviceID  string
	// Content is the JSON object of the message content.
	Content []byte
}

// ToDeviceBatch is one /sendToDevice request.
type ToDeviceBatch struct {
	Sender       string
	SenderDevice string
	Type         string
	// TxnID is the client's transaction ID: a batch with the (sender,
	// sender device, type, transaction ID) of an earlier one stores
	// nothing.
	TxnID    string
	Messages []ToDeviceMessage
	// TS is the time of the request (Unix ms), recorded with the
	// transaction ID.
	TS int64
}

// ToDeviceEvent is a to-device message waiting in a device's inbox.
type ToDeviceEvent struct {
	// Pos is the message's position in the to-device stream.
	Pos     int64
	Sender  string
	Type    string
	Content []byte
}

// ToDevice stores send-to-device messages: each message for each device
// takes a position of the to-device stream in the transaction that stores
// it, and stays in the device's inbox until acknowledged.
//
// Error contract: errors are storage failures.
type ToDevice interface {
	// SendToDevice stores the messages of a batch for the devices that
	// exist (a message to "*" goes to every device of the recipient) and
	// records its transaction ID, all in one transaction. It returns the
	// last position taken (0 if no device got a message) and whether the
	// batch was a repeat of a stored transaction (then nothing is stored).
	SendToDevice(ctx context.Context, b ToDeviceBatch) (pos int64, repeat bool, err error)
	// ToDeviceInbox returns up to limit messages of the device's inbox with
	// positions in (after, upTo], in position order.
	ToDeviceInbox(ctx context.Context, userID, deviceID string, after, upTo int64, limit int) ([]ToDeviceEvent, error)
	// AckToDevice deletes the messages of the device's inbox at or below
	// position upTo (delivered: the client synced past them).
	AckToDevice(ctx context.Context, userID, deviceID string, upTo int64) error
	// ToDevicePosition returns the last committed to-device position.
	ToDevicePosition(ctx context.Context) (int64, error)
	// DeleteToDeviceTxns deletes the transaction IDs recorded before ts
	// (Unix ms).
	DeleteToDeviceTxns(ctx context.Context, before int64) error
}

// BackupVersion is a version of a user's server-side key backup.
type BackupVersion struct {
	UserID    string
	Version   int64
	Algorithm string
	// AuthData is the JSON object of the algorithm's data.
	AuthData []byte
	// Count is the number of keys stored; ETag changes whenever they do.
	Count int64
	ETag  int64
}

// BackupKey is one megolm session's key in a backup.
type BackupKey struct {
	RoomID            string
	SessionID         string
	FirstMessageIndex int64
	ForwardedCount    int64
	IsVerified        bool
	// SessionData is the JSON object of the encrypted session data.
	SessionData []byte
}

// KeyBackups stores server-side key backups. Version numbers are never
// reused; a deleted version stays known as deleted.
//
// Error contract: ErrNotFound for a version that never existed or (where
// documented) was deleted; ErrConflict as documented; other errors are
// storage failures.
type KeyBackups interface {
	// CreateBackupVersion stores a new version, which becomes the current
	// one, and returns it.
	CreateBackupVersion(ctx context.Context, userID, algorithm string, authData []byte) (int64, error)
	// BackupVersion returns a version, or the current one (the latest not
	// deleted) when version is 0. ErrNotFound if it does not exist or was
	// deleted.
	BackupVersion(ctx context.Context, userID string, version int64) (BackupVersion, error)
	// UpdateBackupVersion replaces a version's auth data. ErrNotFound if it
	// does not exist or was deleted.
	UpdateBackupVersion(ctx context.Context, userID string, version int64, authData []byte) error
	// DeleteBackupVersion deletes a version and its keys. Deleting a
	// deleted version is not an error; ErrNotFound if it never existed.
	DeleteBackupVersion(ctx context.Context, userID string, version int64) error
	// PutBackupKeys stores keys in a version, which must be the current
	// one: else nothing is stored and the error is ErrConflict (or
	// ErrNotFound when the user has no current version). A key for a
	// session the backup holds replaces it only if it is better, by the
	// spec's rules: verified beats unverified, then the lower
	// first_message_index, then the lower forwarded_count. It returns the
	// version's count and etag after the change.
	PutBackupKeys(ctx context.Context, userID string, version int64, keys []BackupKey) (BackupVersion, error)
	// BackupKeys returns the keys of a version: all of them (roomID ""),
	// those of a room (sessionID ""), or one session's. ErrNotFound if the
	// version does not exist or was deleted.
	BackupKeys(ctx context.Context, userID string, version int64, roomID, sessionID string) ([]BackupKey, error)
	// DeleteBackupKeys deletes keys of a version, selected as for
	// BackupKeys, and returns its count and etag after. ErrNotFound if the
	// version does not exist or was deleted.
	DeleteBackupKeys(ctx context.Context, userID string, version int64, roomID, sessionID string) (BackupVersion, error)
}
