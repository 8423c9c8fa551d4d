package eventauth

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"myelin/internal/pdu"
	"myelin/internal/spec"
)

// InfinitePowerLevel is the level UserLevel reports for a room creator in
// room versions with privileged creators (v12): "the power level of room
// creators is infinitely high". It is above every level an event can
// express (canonical JSON integers stay within ±(2**53)-1), so ordinary
// comparisons treat it as infinite: a creator outranks everyone except
// another creator.
const InfinitePowerLevel int64 = math.MaxInt64

// Default levels from the m.room.power_levels schema, used when a property
// is absent or the room has no power levels event.
const (
	DefaultBanLevel         int64 = 50
	DefaultKickLevel        int64 = 50
	DefaultRedactLevel      int64 = 50
	DefaultInviteLevel      int64 = 0
	DefaultStateDefault     int64 = 50
	DefaultEventsDefault    int64 = 0
	DefaultUsersDefault     int64 = 0
	DefaultRoomNotification int64 = 50
)

// creatorLevelWithoutEvents is the creator's level in a room with no power
// levels event before v12 ("the room's creator has a power level of 100").
const creatorLevelWithoutEvents int64 = 100

// ErrInvalidPowerLevels is wrapped by ParsePowerLevels' errors.
var ErrInvalidPowerLevels = errors.New("invalid power levels")

// named identifies one of the seven top-level integer properties whose
// changes rule "for the properties users_default, events_default,
// state_default, ban, redact, kick, invite" checks, in that order.
type named int

const (
	namedUsersDefault named = iota
	namedEventsDefault
	namedStateDefault
	namedBan
	namedRedact
	namedKick
	namedInvite
	namedCount
)

// key returns the property's name in the content.
func (n named) key() string {
	switch n {
	case namedUsersDefault:
		return "users_default"
	case namedEventsDefault:
		return "events_default"
	case namedStateDefault:
		return "state_default"
	case namedBan:
		return "ban"
	case namedRedact:
		return "redact"
	case namedKick:
		return "kick"
	default:
		return "invite"
	}
}

// PowerLevels is the interpreted content of an m.room.power_levels event
// (or the defaults when a room has none), with every value already
// converted to an integer according to the room version.
//
// Use UserLevel and EventLevel rather than reading the maps directly: they
// apply defaults and the room creators' levels.
type PowerLevels struct {
	Ban, Kick, Invite, Redact                 int64
	EventsDefault, StateDefault, UsersDefault int64
	// Events, Notifications and Users hold the entries present in the
	// content. They are nil when the property is absent; callers must not
	// modify them.
	Events, Notifications, Users map[string]int64

	// present records which named properties the content carried.
	present [namedCount]bool
	// creators get creatorLevel regardless of Users: the creator at 100 in a
	// room with no power levels event before v12, or every creator at
	// InfinitePowerLevel in v12.
	creators     []string
	creatorLevel int64
}

// UserLevel returns userID's power level: InfinitePowerLevel for a v12 room
// creator, 100 for the creator of an older room with no power levels event,
// else the users entry or users_default.
func (p PowerLevels) UserLevel(userID string) int64 {
	for _, c := range p.creators {
		if c == userID {
			return p.creatorLevel
		}
	}
	if l, ok := p.Users[userID]; ok {
		return l
	}
	return p.UsersDefault
}

// EventLevel returns the required power level of an event type: its events
// entry, else state_default for state events and events_default for
// others.
func (p PowerLevels) EventLevel(eventType string, isState bool) int64 {
	if l, ok := p.Events[eventType]; ok {
		return l
	}
	if isState {
		return p.StateDefault
	}
	return p.EventsDefault
}

// NotificationLevel returns the level for a notifications key; "room"
// defaults to 50. ok is false for another key with no entry.
func (p PowerLevels) NotificationLevel(key string) (level int64, ok bool) {
	if l, ok := p.Notifications[key]; ok {
		return l, true
	}
	if key == "room" {
		return DefaultRoomNotification, true
	}
	return 0, false
}

func (p *PowerLevels) namedValue(n named) *int64 {
	switch n {
	case namedUsersDefault:
		return &p.UsersDefault
	case namedEventsDefault:
		return &p.EventsDefault
	case namedStateDefault:
		return &p.StateDefault
	case namedBan:
		return &p.Ban
	case namedRedact:
		return &p.Redact
	case namedKick:
		return &p.Kick
	default:
		return &p.Invite
	}
}

func defaultPowerLevels() PowerLevels {
	return PowerLevels{
		Ban: DefaultBanLevel, Kick: DefaultKickLevel, Invite: DefaultInviteLevel, Redact: DefaultRedactLevel,
		EventsDefault: DefaultEventsDefault, StateDefault: DefaultStateDefault, UsersDefault: DefaultUsersDefault,
	}
}

// ParsePowerLevels interprets the content of an m.room.power_levels event
// under room version v. Empty content (nil) stands for a room with no power
// levels event and yields the defaults; the creators' levels are not
// applied (PowerLevelsFromState does that).
//
// Before v10, values may be integer strings ("50", " +050 "); before v6 they
// may also be floats, truncated toward zero. From v10 on they must be JSON
// integers. The users keys must be valid user IDs.
//
// On an invalid value it returns an error wrapping ErrInvalidPowerLevels
// together with a best-effort PowerLevels in which each invalid property
// keeps its default, so that state accepted elsewhere can still be read.
func ParsePowerLevels(v *spec.RoomVersion, content []byte) (PowerLevels, error) {
	p, prob := parsePowerLevels(v, content)
	if prob != nil {
		return p, fmt.Errorf("%w: %s", ErrInvalidPowerLevels, prob.reason)
	}
	return p, nil
}

// problemKind classifies an invalid power levels property by the v10+ rule
// that rejects it.
type problemKind int

const (
	problemNamed problemKind = iota // rule "users_default ... invite present and not an integer"
	problemMaps                     // rule "events or notifications not an object of integers"
	problemUsers                    // rule "users not an object of user IDs to integers"
)

type plProblem struct {
	kind   problemKind
	reason string
}

// problems keeps the first problem of each kind.
type problems [3]*plProblem

func (ps *problems) add(kind problemKind, format string, args ...any) {
	if ps[kind] == nil {
		ps[kind] = &plProblem{kind: kind, reason: fmt.Sprintf(format, args...)}
	}
}

// first returns the problem whose rule comes first, or nil.
func (ps *problems) first() *plProblem {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

func parsePowerLevels(v *spec.RoomVersion, content []byte) (PowerLevels, *plProblem) {
	p := defaultPowerLevels()
	if len(content) == 0 {
		return p, nil
	}
	var ps problems
	var fields [namedCount + 3]field
	for n := named(0); n < namedCount; n++ {
		fields[n].name = n.key()
	}
	fields[namedCount].name = "events"
	fields[namedCount+1].name = "notifications"
	fields[namedCount+2].name = "users"
	if err := getFields(content, fields[:]); err != nil {
		return p, &plProblem{kind: problemNamed, reason: "content is not a JSON object"}
	}
	for n := named(0); n < namedCount; n++ {
		raw := fields[n].raw
		if raw == nil {
			continue
		}
		l, err := parseLevel(v, raw)
		if err != nil {
			ps.add(problemNamed, "%s: %v", n.key(), err)
			continue
		}
		*p.namedValue(n) = l
		p.present[n] = true
	}
	p.Events = parseLevelMap(v, "events", fields[namedCount].raw, problemMaps, &ps)
	p.Notifications = parseLevelMap(v, "notifications", fields[namedCount+1].raw, problemMaps, &ps)
	p.Users = parseLevelMap(v, "users", fields[namedCount+2].raw, problemUsers, &ps)
	return p, ps.first()
}

// parseLevelMap parses an object of levels. Entries with invalid values
// (or, for users, invalid user IDs) are left out and reported.
func parseLevelMap(v *spec.RoomVersion, name string, raw []byte, kind problemKind, ps *problems) map[string]int64 {
	if raw == nil {
		return nil
	}
	if !isObject(raw) {
		ps.add(kind, "%s is not an object", name)
		return nil
	}
	m := map[string]int64{}
	err := eachMember(raw, func(key []byte, _ bool, val []byte) error {
		k, ok := decodeString(key)
		if !ok {
			return errBadJSON
		}
		if kind == problemUsers {
			if _, err := spec.ParseHistoricalUserID(k); err != nil {
				ps.add(kind, "users key %q is not a valid user ID", k)
				return nil
			}
		}
		l, err := parseLevel(v, val)
		if err != nil {
			ps.add(kind, "%s[%q]: %v", name, k, err)
			return nil
		}
		m[k] = l
		return nil
	})
	if err != nil {
		ps.add(kind, "%s: %v", name, err)
	}
	return m
}

// parseLevel converts one power level value under room version v.
func parseLevel(v *spec.RoomVersion, raw []byte) (int64, error) {
	if len(raw) == 0 {
		return 0, errBadJSON
	}
	switch c := raw[0]; {
	case c == '"':
		if v.IntegerPowerLevels {
			return 0, errors.New("a string is not an integer in this room version")
		}
		s, ok := decodeString(raw)
		if !ok {
			return 0, errBadJSON
		}
		return parseStringLevel(s)
	case c == '-' || c >= '0' && c <= '9':
		if n, ok := jsonInteger(raw); ok {
			return n, nil
		}
		if v.StrictCanonicalJSON {
			return 0, fmt.Errorf("%s is not an integer", raw)
		}
		return parseFloatLevel(raw)
	default:
		return 0, fmt.Errorf("%s is not an integer", raw)
	}
}

// parseStringLevel applies "m.room.power_levels events accept values as
// strings": optional leading and trailing whitespace, at most one sign, then
// base-10 digits (leading zeroes allowed).
func parseStringLevel(s string) (int64, error) {
	t := strings.TrimSpace(s)
	digits := t
	if len(digits) > 0 && (digits[0] == '+' || digits[0] == '-') {
		digits = digits[1:]
	}
	if digits == "" {
		return 0, fmt.Errorf("string %q is not an integer", s)
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, fmt.Errorf("string %q is not an integer", s)
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("string %q is out of range", s)
	}
	return n, nil
}

// parseFloatLevel applies "m.room.power_levels events accept values as
// floats" (v1–v5): "first, exponential notation is applied: 5.114698E4
// becomes 51146.98; second, the value is truncated at the decimal point".
// Both steps are done on the decimal text, so the result is exact (a
// conversion through float64 would round values beyond 2**53). Values
// outside the range of a double reject the event. NOTSPEC: so do values
// within a double but beyond int64, which cannot be represented.
func parseFloatLevel(raw []byte) (int64, error) {
	if _, err := strconv.ParseFloat(string(raw), 64); err != nil {
		return 0, fmt.Errorf("%s is out of range", raw)
	}
	text := string(raw)
	neg := strings.HasPrefix(text, "-")
	text = strings.TrimPrefix(text, "-")
	mantissa, expText, _ := strings.Cut(strings.ToLower(text), "e")
	exp := 0
	if expText != "" {
		e, err := strconv.Atoi(expText)
		if err != nil {
			return 0, fmt.Errorf("%s is out of range", raw)
		}
		exp = e
	}
	intPart, frac, _ := strings.Cut(mantissa, ".")
	digits := intPart + frac
	point := len(intPart) + exp // digits[:point] is the integer part
	var whole string
	switch {
	case point <= 0:
		whole = "0"
	case point <= len(digits):
		whole = digits[:point]
	case point-len(digits) > 20:
		return 0, fmt.Errorf("%s is out of range", raw)
	default:
		whole = digits + strings.Repeat("0", point-len(digits))
	}
	if neg {
		whole = "-" + whole
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is out of range", raw)
	}
	return n, nil
}

// PowerLevelsFromState returns the power levels in force in state under room
// version v: the m.room.power_levels event's (parsed leniently, as
// ParsePowerLevels' best effort), or the defaults when there is none, with
// the creators' levels applied: before v12, in a room with no power levels
// event the creator has 100; in v12 every creator has InfinitePowerLevel.
// The error reports an invalid power levels event or create event; the
// returned levels are usable either way.
func PowerLevelsFromState(state StateProvider, v *spec.RoomVersion) (PowerLevels, error) {
	plEvent := state.StateEvent(spec.MRoomPowerLevels, "")
	var content []byte
	if plEvent != nil {
		content = plEvent.Content()
	}
	p, err := ParsePowerLevels(v, content)
	create := state.StateEvent(spec.MRoomCreate, "")
	if create == nil || (plEvent != nil && !v.PrivilegedCreators) {
		return p, err
	}
	creators, cerr := Creators(create)
	if cerr != nil && err == nil {
		err = cerr
	}
	p.setCreators(v, creators)
	return p, err
}

func (p *PowerLevels) setCreators(v *spec.RoomVersion, creators []string) {
	p.creators = creators
	p.creatorLevel = creatorLevelWithoutEvents
	if v.PrivilegedCreators {
		p.creatorLevel = InfinitePowerLevel
	}
}

// SenderPowerLevel returns userID's power level in state under room version
// v, and whether it is infinite (userID is a v12 room creator, in which case
// level is InfinitePowerLevel). It is the level the auth rules use for a
// sender, and what state resolution orders by. Invalid power levels or
// create content degrade to the defaults as in PowerLevelsFromState.
//
// It parses the power levels on every call: to look up many users in the
// same state, call PowerLevelsFromState once and use UserLevel and
// Infinite.
func SenderPowerLevel(state StateProvider, v *spec.RoomVersion, userID string) (level int64, infinite bool) {
	p, _ := PowerLevelsFromState(state, v)
	return p.UserLevel(userID), p.Infinite(userID)
}

// Infinite reports whether userID's power level is infinite: userID is a
// room creator in a version with privileged creators (v12). It is only
// meaningful on levels from PowerLevelsFromState.
func (p PowerLevels) Infinite(userID string) bool {
	return p.creatorLevel == InfinitePowerLevel && contains(p.creators, userID)
}

// Creators returns the room creators named by a create event, by its room
// version: content.creator before v11; the sender in v11; in v12 the sender
// followed by content.additional_creators (duplicates removed). It fails
// when that content is missing or malformed.
func Creators(create *pdu.Event) ([]string, error) {
	v := create.Version()
	if !v.CreatorFromSender {
		var f = [...]field{{name: "creator"}}
		if err := getFields(create.Content(), f[:]); err != nil {
			return nil, fmt.Errorf("create event content: %w", err)
		}
		creator, ok := decodeString(f[0].raw)
		if !ok {
			return nil, errors.New("create event content has no creator string")
		}
		return []string{creator}, nil
	}
	creators := []string{create.Sender()}
	if !v.PrivilegedCreators {
		return creators, nil
	}
	extra, err := additionalCreators(create.Content())
	if err != nil {
		return nil, err
	}
	for _, c := range extra {
		if !contains(creators, c) {
			creators = append(creators, c)
		}
	}
	return creators, nil
}

// additionalCreators returns content.additional_creators, checking it is an
// array of valid user IDs when present.
func additionalCreators(content []byte) ([]string, error) {
	f := [...]field{{name: "additional_creators"}}
	if err := getFields(content, f[:]); err != nil {
		return nil, fmt.Errorf("create event content: %w", err)
	}
	if f[0].raw == nil {
		return nil, nil
	}
	var out []string
	err := eachElement(f[0].raw, func(raw []byte) error {
		s, ok := decodeString(raw)
		if !ok {
			return fmt.Errorf("additional_creators entry %s is not a string", raw)
		}
		if _, err := spec.ParseHistoricalUserID(s); err != nil {
			return fmt.Errorf("additional_creators entry: %w", err)
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("invalid additional_creators: %w", err)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
