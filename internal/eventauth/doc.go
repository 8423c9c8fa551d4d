// Package eventauth implements the Matrix authorization rules ("auth rules")
// of every room version as pure functions: an event and the room state it is
// checked against go in, a verdict comes out.
//
// The rules are those of the room version specifications (rooms/v1.md to
// v12.md and the fragments they include) together with the server-server
// API's "Auth events selection". Every behaviour that differs between room
// versions is read from a field of spec.RoomVersion; no code compares
// version strings.
//
// A rejection is a *Rejection naming the rule of the room version's own rule
// list that rejected the event ("4.4.1", "10.4", ...), so logs and tests can
// point at the spec text.
//
// The checks performed on receipt of a PDU use this package three times: once
// against the event's auth events (CheckAuthEvents, then Check with
// StateFromEvents of the auth events, plus the create event in room version
// 12), once against the state before the event and once against the current
// state of the room (soft failure). Which state to use is the caller's
// choice; this package only evaluates the rules.
//
// Two parts of the rules need information this package does not have and are
// the caller's responsibility: signatures on the event itself (including rule
// "content has a join_authorised_via_users_server key: the event must be
// validly signed by that user's homeserver", which needs the server's keys),
// and whether an auth event was itself rejected (rule "entries which were
// themselves rejected", and in v12 "an accepted (not rejected) m.room.create
// event"), which pdu.Event does not record. Both are documented where they
// apply.
//
// State resolution orders events by their sender's power level: it uses
// PowerLevelsFromState (or SenderPowerLevel) with UserLevel and Infinite.
//
// The package does no I/O and keeps no global state.
package eventauth
