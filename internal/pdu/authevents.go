package pdu

import (
	"fmt"

	"myelin/internal/spec"
)

// AuthEventTypes returns the state a new event's auth_events must reference
// (server-server API, "Auth events selection"), as (type, state_key) pairs
// in this order, without duplicates:
//
//  1. m.room.create, except in room versions whose create event is implied
//     by the room ID (v12);
//  2. m.room.power_levels;
//  3. the sender's m.room.member;
//  4. for m.room.member events: the target's m.room.member; m.room.join_rules
//     if membership is join, invite or knock; for an invite whose content has
//     third_party_invite, the m.room.third_party_invite whose state key is
//     content.third_party_invite.signed.token; for a join in a version with
//     restricted rooms (v8+), the m.room.member of
//     content.join_authorised_via_users_server.
//
// The caller includes an entry only if the room's current state has it
// ("if any"). A create event (type m.room.create, empty state key) needs
// nothing. Content fields of the wrong JSON type select nothing (the auth
// rules reject such events). It fails if content is not a JSON object or a
// member event has no state key.
func AuthEventTypes(v *spec.RoomVersion, typ string, stateKey *string, sender string, content []byte) ([]spec.StateKeyTuple, error) {
	if typ == spec.MRoomCreate && stateKey != nil && *stateKey == "" {
		return []spec.StateKeyTuple{}, nil
	}
	if len(content) == 0 {
		content = []byte("{}")
	}
	c, err := canonicalMembers(v, content)
	if err != nil {
		return nil, fmt.Errorf("auth events selection: content: %w", err)
	}
	var out []spec.StateKeyTuple
	add := func(t, sk string) {
		k := spec.StateKeyTuple{Type: t, StateKey: sk}
		for _, x := range out {
			if x == k {
				return
			}
		}
		out = append(out, k)
	}
	if !v.CreateEventHasNoRoomID {
		add(spec.MRoomCreate, "")
	}
	add(spec.MRoomPowerLevels, "")
	add(spec.MRoomMember, sender)
	if typ != spec.MRoomMember {
		return out, nil
	}
	if stateKey == nil {
		return nil, fmt.Errorf("auth events selection: m.room.member event without state_key")
	}
	add(spec.MRoomMember, *stateKey)
	membership := stringField(c, "membership")
	switch membership {
	case spec.MembershipJoin, spec.MembershipInvite, spec.MembershipKnock:
		add(spec.MRoomJoinRules, "")
	}
	if membership == spec.MembershipInvite {
		if token, ok := thirdPartyInviteToken(c); ok {
			add(spec.MRoomThirdPartyInvite, token)
		}
	}
	if membership == spec.MembershipJoin && v.Restricted {
		if via := stringField(c, "join_authorised_via_users_server"); via != "" {
			add(spec.MRoomMember, via)
		}
	}
	return out, nil
}

// stringField returns the string value of key in ms, or "" if it is absent
// or not a string.
func stringField(ms []member, key string) string {
	s, _ := decodeString(lookup(ms, key))
	return s
}

// thirdPartyInviteToken returns content.third_party_invite.signed.token if
// it is a string.
func thirdPartyInviteToken(content []member) (string, bool) {
	tpi, err := splitObject(lookup(content, "third_party_invite"))
	if err != nil {
		return "", false
	}
	signed, err := splitObject(lookup(tpi, "signed"))
	if err != nil {
		return "", false
	}
	return decodeString(lookup(signed, "token"))
}
