package spec

import "sort"

// EventIDFormat is how a room version forms event IDs.
type EventIDFormat int

// Event ID formats.
const (
	// EventIDOpaque: "$opaque:domain", carried in the event's event_id field (v1, v2).
	EventIDOpaque EventIDFormat = iota + 1
	// EventIDHashStd: "$" + unpadded standard base64 of the reference hash (v3).
	EventIDHashStd
	// EventIDHashURL: "$" + unpadded URL-safe base64 of the reference hash (v4+).
	EventIDHashURL
)

// RoomIDFormat is how a room version forms room IDs.
type RoomIDFormat int

// Room ID formats.
const (
	// RoomIDOpaque: "!opaque:domain", chosen by the creating server (v1–v11).
	RoomIDOpaque RoomIDFormat = iota + 1
	// RoomIDCreateHash: "!" + the create event's reference hash (v12).
	RoomIDCreateHash
)

// RedactionAlgorithm names the set of keys a redaction keeps.
type RedactionAlgorithm int

// Redaction algorithms, each named after the room version that introduced it.
const (
	RedactionV1  RedactionAlgorithm = iota + 1 // rooms v1–v5
	RedactionV6                                // v6, v7: m.room.aliases keeps nothing
	RedactionV8                                // v8: join_rules keeps allow
	RedactionV9                                // v9, v10: member keeps join_authorised_via_users_server
	RedactionV11                               // v11, v12
)

// StateResAlgorithm names a state resolution algorithm.
type StateResAlgorithm int

// State resolution algorithms.
const (
	StateResV1   StateResAlgorithm = iota + 1 // room v1
	StateResV2                                // rooms v2–v11
	StateResV2_1                              // room v12
)

// RoomVersion describes one room version as data: every behaviour that
// differs between versions is a field here, so no code needs to compare
// version strings. Each version is written as the previous one plus its
// differences (see the table in roomversions.go).
type RoomVersion struct {
	// ID is the version string, e.g. "12".
	ID string
	// Stable reports whether the spec lists the version as stable.
	Stable bool

	EventIDFormat EventIDFormat
	RoomIDFormat  RoomIDFormat
	Redaction     RedactionAlgorithm
	StateRes      StateResAlgorithm

	// StrictCanonicalJSON (v6+): events must be canonical JSON with
	// integers in range and no floats; otherwise they are rejected.
	StrictCanonicalJSON bool
	// EnforceKeyValidity (v5+): a signing key must be valid at the event's
	// origin_server_ts.
	EnforceKeyValidity bool
	// SpecialAliasesAuth (v1–v5): m.room.aliases has its own auth rule and
	// is allowed when state_key equals the sender's domain.
	SpecialAliasesAuth bool
	// RedactionAuthRule (v1–v2): the auth rules check m.room.redaction
	// (domain of redacts or redact power level).
	RedactionAuthRule bool
	// SignedByEventIDDomain (v1–v2): events must also be signed by the
	// server named in their event ID.
	SignedByEventIDDomain bool
	// NotificationsPowerLevel (v6+): the notifications key of power levels
	// is checked like events.
	NotificationsPowerLevel bool
	// Knock (v7+): the knock membership and join rule exist.
	Knock bool
	// Restricted (v8+): the restricted join rule exists.
	Restricted bool
	// KnockRestricted (v10+): the knock_restricted join rule exists.
	KnockRestricted bool
	// IntegerPowerLevels (v10+): power level values must be JSON integers,
	// not strings.
	IntegerPowerLevels bool
	// CreatorFromSender (v11+): m.room.create has no creator field; the
	// sender is the creator.
	CreatorFromSender bool
	// RedactsInContent (v11+): m.room.redaction carries redacts in content.
	RedactsInContent bool
	// PrivilegedCreators (v12): creators (create sender and
	// additional_creators) have infinite power and cannot appear in the
	// power levels' users map.
	PrivilegedCreators bool
	// CreateEventHasNoRoomID (v12): m.room.create has no room_id and must
	// not be in auth_events; the room ID derives from its event ID.
	CreateEventHasNoRoomID bool
}

// DefaultRoomVersion is the version used for new rooms unless configured
// otherwise ("Servers SHOULD use room version 12 as the default").
const DefaultRoomVersion = "12"

var roomVersions = buildRoomVersions()

func buildRoomVersions() map[string]*RoomVersion {
	v1 := RoomVersion{
		ID: "1", Stable: true,
		EventIDFormat: EventIDOpaque, RoomIDFormat: RoomIDOpaque,
		Redaction: RedactionV1, StateRes: StateResV1,
		SpecialAliasesAuth: true, RedactionAuthRule: true, SignedByEventIDDomain: true,
	}
	next := func(prev RoomVersion, id string, change func(*RoomVersion)) RoomVersion {
		prev.ID = id
		change(&prev)
		return prev
	}
	v2 := next(v1, "2", func(v *RoomVersion) { v.StateRes = StateResV2 })
	v3 := next(v2, "3", func(v *RoomVersion) {
		v.EventIDFormat = EventIDHashStd
		v.RedactionAuthRule = false
		v.SignedByEventIDDomain = false
	})
	v4 := next(v3, "4", func(v *RoomVersion) { v.EventIDFormat = EventIDHashURL })
	v5 := next(v4, "5", func(v *RoomVersion) { v.EnforceKeyValidity = true })
	v6 := next(v5, "6", func(v *RoomVersion) {
		v.StrictCanonicalJSON = true
		v.SpecialAliasesAuth = false
		v.NotificationsPowerLevel = true
		v.Redaction = RedactionV6
	})
	v7 := next(v6, "7", func(v *RoomVersion) { v.Knock = true })
	v8 := next(v7, "8", func(v *RoomVersion) { v.Restricted = true; v.Redaction = RedactionV8 })
	v9 := next(v8, "9", func(v *RoomVersion) { v.Redaction = RedactionV9 })
	v10 := next(v9, "10", func(v *RoomVersion) { v.KnockRestricted = true; v.IntegerPowerLevels = true })
	v11 := next(v10, "11", func(v *RoomVersion) {
		v.CreatorFromSender = true
		v.RedactsInContent = true
		v.Redaction = RedactionV11
	})
	v12 := next(v11, "12", func(v *RoomVersion) {
		v.RoomIDFormat = RoomIDCreateHash
		v.StateRes = StateResV2_1
		v.PrivilegedCreators = true
		v.CreateEventHasNoRoomID = true
	})
	m := map[string]*RoomVersion{}
	for _, v := range []RoomVersion{v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12} {
		v := v
		m[v.ID] = &v
	}
	return m
}

// LookupRoomVersion returns the version with the given ID, or false when
// this server does not know it (the caller answers M_UNSUPPORTED_ROOM_VERSION).
func LookupRoomVersion(id string) (*RoomVersion, bool) {
	v, ok := roomVersions[id]
	return v, ok
}

// MustRoomVersion returns a known version and panics on an unknown one. It is
// for constants in code and tests, never for input.
func MustRoomVersion(id string) *RoomVersion {
	v, ok := roomVersions[id]
	if !ok {
		panic("spec: unknown room version " + id)
	}
	return v
}

// RoomVersions returns every known version, in numeric order.
func RoomVersions() []*RoomVersion {
	out := make([]*RoomVersion, 0, len(roomVersions))
	for _, v := range roomVersions {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return versionLess(out[i].ID, out[j].ID) })
	return out
}

func versionLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
