package spec

// Event types that the server itself interprets.
const (
	MRoomCreate            = "m.room.create"
	MRoomMember            = "m.room.member"
	MRoomPowerLevels       = "m.room.power_levels"
	MRoomJoinRules         = "m.room.join_rules"
	MRoomThirdPartyInvite  = "m.room.third_party_invite"
	MRoomAliases           = "m.room.aliases"
	MRoomCanonicalAlias    = "m.room.canonical_alias"
	MRoomHistoryVisibility = "m.room.history_visibility"
	MRoomGuestAccess       = "m.room.guest_access"
	MRoomRedaction         = "m.room.redaction"
	MRoomEncryption        = "m.room.encryption"
	MRoomName              = "m.room.name"
	MRoomTopic             = "m.room.topic"
	MRoomAvatar            = "m.room.avatar"
	MRoomTombstone         = "m.room.tombstone"
	MRoomServerACL         = "m.room.server_acl"
	MRoomMessage           = "m.room.message"
)

// Membership values of m.room.member.
const (
	MembershipJoin   = "join"
	MembershipInvite = "invite"
	MembershipLeave  = "leave"
	MembershipBan    = "ban"
	MembershipKnock  = "knock"
)

// Join rules of m.room.join_rules.
const (
	JoinRulePublic          = "public"
	JoinRuleInvite          = "invite"
	JoinRuleKnock           = "knock"
	JoinRuleRestricted      = "restricted"
	JoinRuleKnockRestricted = "knock_restricted"
	JoinRulePrivate         = "private"
)

// StateKeyTuple identifies a piece of room state: an event type and a state key.
type StateKeyTuple struct {
	Type     string
	StateKey string
}
