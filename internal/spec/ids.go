package spec

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// MaxIDLength is the spec's limit, in bytes, on user IDs, room IDs (with a
// domain), room aliases and event IDs, sigil and domain included.
const MaxIDLength = 255

// ErrInvalidID is wrapped by every identifier parse error.
var ErrInvalidID = errors.New("invalid identifier")

func idErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidID}, args...)...)
}

// ServerName is a homeserver's name: a hostname (DNS name, IPv4 literal or
// bracketed IPv6 literal) and an optional port. Server names are
// case-sensitive.
type ServerName string

// ParseServerName validates s against the server name grammar of the
// appendices ("Server Name"). It returns an error wrapping ErrInvalidID.
func ParseServerName(s string) (ServerName, error) {
	host, port, err := splitHostPort(s)
	if err != nil {
		return "", err
	}
	if port != "" {
		if len(port) > 5 || !allDigits(port) {
			return "", idErrorf("server name %q: bad port", s)
		}
	}
	switch {
	case strings.HasPrefix(host, "["):
		inner := host[1 : len(host)-1]
		if len(inner) < 2 || len(inner) > 45 {
			return "", idErrorf("server name %q: bad IPv6 literal", s)
		}
		addr, err := netip.ParseAddr(inner)
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", idErrorf("server name %q: bad IPv6 literal", s)
		}
	case host == "":
		return "", idErrorf("empty server name")
	case len(host) > 255:
		return "", idErrorf("server name too long")
	default:
		for i := 0; i < len(host); i++ {
			c := host[i]
			if !(isAlnum(c) || c == '-' || c == '.') {
				return "", idErrorf("server name %q: bad character %q", s, c)
			}
		}
		if looksLikeIPv4(host) {
			if _, err := netip.ParseAddr(host); err != nil {
				return "", idErrorf("server name %q: bad IPv4 literal", s)
			}
		}
	}
	return ServerName(s), nil
}

// Host returns the server name without its port.
func (s ServerName) Host() string {
	h, _, _ := splitHostPort(string(s))
	return h
}

// Port returns the explicit port, or "" when there is none.
func (s ServerName) Port() string {
	_, p, _ := splitHostPort(string(s))
	return p
}

func (s ServerName) String() string { return string(s) }

func splitHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", idErrorf("server name %q: unclosed IPv6 literal", s)
		}
		host, rest := s[:end+1], s[end+1:]
		if rest == "" {
			return host, "", nil
		}
		if rest[0] != ':' || len(rest) == 1 {
			return "", "", idErrorf("server name %q: bad port", s)
		}
		return host, rest[1:], nil
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if i == len(s)-1 {
			return "", "", idErrorf("server name %q: empty port", s)
		}
		return s[:i], s[i+1:], nil
	}
	return s, "", nil
}

func looksLikeIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || !allDigits(p) {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// splitID splits "&localpart:domain" into its parts, checking the sigil,
// the total length and the domain.
func splitID(s string, sigil byte, what string) (local string, domain ServerName, err error) {
	if len(s) == 0 || s[0] != sigil {
		return "", "", idErrorf("%s %q must start with %q", what, s, sigil)
	}
	if len(s) > MaxIDLength {
		return "", "", idErrorf("%s is longer than %d bytes", what, MaxIDLength)
	}
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return "", "", idErrorf("%s %q has no domain", what, s)
	}
	domain, err = ParseServerName(s[i+1:])
	if err != nil {
		return "", "", idErrorf("%s %q: %v", what, s, err)
	}
	return s[1:i], domain, nil
}

// historicalLocalpartOK reports whether local is a valid historical
// localpart: valid UTF-8 with no NUL and no ':' (surrogates cannot appear
// in valid UTF-8).
func historicalLocalpartOK(local string) bool {
	return utf8.ValidString(local) && !strings.ContainsAny(local, ":\x00")
}

// UserID is a Matrix user ID, "@localpart:domain".
type UserID struct {
	local  string
	domain ServerName
}

// ParseUserID parses a user ID with the current grammar: a non-empty
// localpart of a-z, 0-9 and "-._=/+" (appendices, "User Identifiers").
func ParseUserID(s string) (UserID, error) {
	local, domain, err := splitID(s, '@', "user ID")
	if err != nil {
		return UserID{}, err
	}
	if local == "" {
		return UserID{}, idErrorf("user ID %q has an empty localpart", s)
	}
	for i := 0; i < len(local); i++ {
		if !isUserIDChar(local[i]) {
			return UserID{}, idErrorf("user ID %q: localpart has %q", s, local[i])
		}
	}
	return UserID{local, domain}, nil
}

// ParseHistoricalUserID parses a user ID as events over federation must
// accept it: any localpart of valid code points except ':' and NUL, the empty
// one included ("Historical User IDs").
func ParseHistoricalUserID(s string) (UserID, error) {
	local, domain, err := splitID(s, '@', "user ID")
	if err != nil {
		return UserID{}, err
	}
	if !historicalLocalpartOK(local) {
		return UserID{}, idErrorf("user ID %q: bad localpart", s)
	}
	return UserID{local, domain}, nil
}

// IsValidLocalpart reports whether local may be the localpart of a new user.
func IsValidLocalpart(local string) bool {
	if local == "" {
		return false
	}
	for i := 0; i < len(local); i++ {
		if !isUserIDChar(local[i]) {
			return false
		}
	}
	return true
}

func isUserIDChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._=/+", c) >= 0
}

// NewUserID builds a user ID from its parts and validates it.
func NewUserID(local string, domain ServerName) (UserID, error) {
	return ParseUserID("@" + local + ":" + string(domain))
}

// Localpart returns the part between the sigil and the colon.
func (u UserID) Localpart() string { return u.local }

// Domain returns the server name of the user's homeserver.
func (u UserID) Domain() ServerName { return u.domain }

// String returns the full user ID.
func (u UserID) String() string {
	if u.domain == "" {
		return ""
	}
	return "@" + u.local + ":" + string(u.domain)
}

// IsZero reports whether u is the zero value.
func (u UserID) IsZero() bool { return u.domain == "" }

// MarshalText implements encoding.TextMarshaler.
func (u UserID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with the historical
// grammar, which is what must be accepted inside events.
func (u *UserID) UnmarshalText(b []byte) error {
	v, err := ParseHistoricalUserID(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// RoomID is a room ID: "!opaque:domain" in room versions 1–11, or "!" and
// the create event's reference hash in version 12.
type RoomID string

// ParseRoomID accepts both room ID forms: with a domain (localpart of valid
// code points except ':' and NUL) or without one (v12: "!" + 43 characters of
// URL-safe unpadded base64).
func ParseRoomID(s string) (RoomID, error) {
	if len(s) < 2 || s[0] != '!' {
		return "", idErrorf("room ID %q must start with '!'", s)
	}
	if len(s) > MaxIDLength {
		return "", idErrorf("room ID is longer than %d bytes", MaxIDLength)
	}
	if !strings.Contains(s, ":") {
		if !isURLSafeHash(s[1:]) {
			return "", idErrorf("room ID %q: no domain and not a hash", s)
		}
		return RoomID(s), nil
	}
	local, _, err := splitID(s, '!', "room ID")
	if err != nil {
		return "", err
	}
	if !historicalLocalpartOK(local) {
		return "", idErrorf("room ID %q: bad opaque part", s)
	}
	return RoomID(s), nil
}

// Domain returns the domain of a room ID that has one, else "".
func (r RoomID) Domain() ServerName {
	if i := strings.IndexByte(string(r), ':'); i >= 0 {
		return ServerName(r[i+1:])
	}
	return ""
}

func (r RoomID) String() string { return string(r) }

// isURLSafeHash reports whether s is 43 characters of URL-safe unpadded
// base64, the encoding of a SHA-256 hash.
func isURLSafeHash(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlnum(c) || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// EventID is an event ID: "$opaque:domain" in room versions 1 and 2, "$" and
// a base64 reference hash from version 3 on.
type EventID string

// ParseEventID checks the sigil, the length and that the rest is valid UTF-8
// with no NUL. Which form is right depends on the room version; package pdu
// checks that.
func ParseEventID(s string) (EventID, error) {
	if len(s) < 2 || s[0] != '$' {
		return "", idErrorf("event ID %q must start with '$'", s)
	}
	if len(s) > MaxIDLength {
		return "", idErrorf("event ID is longer than %d bytes", MaxIDLength)
	}
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return "", idErrorf("event ID %q: bad characters", s)
	}
	return EventID(s), nil
}

// Domain returns the domain of a v1/v2 event ID, else "".
func (e EventID) Domain() ServerName {
	if i := strings.IndexByte(string(e), ':'); i >= 0 {
		return ServerName(e[i+1:])
	}
	return ""
}

func (e EventID) String() string { return string(e) }

// RoomAlias is a room alias, "#localpart:domain".
type RoomAlias struct {
	local  string
	domain ServerName
}

// ParseRoomAlias validates s as a room alias: a localpart of valid code
// points except ':' and NUL, and a valid server name, 255 bytes in all.
func ParseRoomAlias(s string) (RoomAlias, error) {
	local, domain, err := splitID(s, '#', "room alias")
	if err != nil {
		return RoomAlias{}, err
	}
	if !historicalLocalpartOK(local) {
		return RoomAlias{}, idErrorf("room alias %q: bad localpart", s)
	}
	return RoomAlias{local, domain}, nil
}

// Localpart returns the alias without sigil and domain.
func (a RoomAlias) Localpart() string { return a.local }

// Domain returns the server name that owns the alias.
func (a RoomAlias) Domain() ServerName { return a.domain }

func (a RoomAlias) String() string {
	if a.domain == "" {
		return ""
	}
	return "#" + a.local + ":" + string(a.domain)
}
