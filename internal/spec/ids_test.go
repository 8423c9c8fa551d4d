package spec

import (
	"errors"
	"strings"
	"testing"
)

func TestParseServerName(t *testing.T) {
	good := []string{"matrix.org", "matrix.org:8888", "1.2.3.4", "1.2.3.4:1234",
		"[1234:5678::abcd]", "[1234:5678::abcd]:5678", "localhost", "hs1", "host.docker.internal:40123"}
	for _, s := range good {
		if _, err := ParseServerName(s); err != nil {
			t.Errorf("ParseServerName(%q) = %v, want ok", s, err)
		}
	}
	bad := []string{"", ":80", "matrix.org:", "matrix.org:123456", "matrix.org:8a", "[::1", "[zz::1]",
		"1.2.3.256", "ma trix.org", "matrix_org", "[1234::1]x", strings.Repeat("a", 256)}
	for _, s := range bad {
		if _, err := ParseServerName(s); !errors.Is(err, ErrInvalidID) {
			t.Errorf("ParseServerName(%q) = %v, want ErrInvalidID", s, err)
		}
	}
}

func TestParseUserID(t *testing.T) {
	u, err := ParseUserID("@alice.b=c/d+e_-:example.org:8448")
	if err != nil {
		t.Fatal(err)
	}
	if u.Localpart() != "alice.b=c/d+e_-" || u.Domain() != "example.org:8448" {
		t.Errorf("parts = %q, %q", u.Localpart(), u.Domain())
	}
	if u.String() != "@alice.b=c/d+e_-:example.org:8448" {
		t.Errorf("String() = %q", u.String())
	}
	for _, s := range []string{"alice:x", "@:x", "@Alice:x", "@a b:x", "@a", "@a:", "@" + strings.Repeat("a", 250) + ":x.org"} {
		if _, err := ParseUserID(s); err == nil {
			t.Errorf("ParseUserID(%q) succeeded, want error", s)
		}
	}
	// Historical IDs: any code point but ':' and NUL, the empty localpart too.
	for _, s := range []string{"@Alice:x", "@:x", "@a b☃:x"} {
		if _, err := ParseHistoricalUserID(s); err != nil {
			t.Errorf("ParseHistoricalUserID(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"@a\x00:x", "@\xff:x", "!a:x"} {
		if _, err := ParseHistoricalUserID(s); err == nil {
			t.Errorf("ParseHistoricalUserID(%q) succeeded, want error", s)
		}
	}
}

func TestParseRoomAndEventIDs(t *testing.T) {
	for _, s := range []string{"!abc:example.org", "!" + strings.Repeat("A", 43)} {
		if _, err := ParseRoomID(s); err != nil {
			t.Errorf("ParseRoomID(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"abc:x", "!", "!abc", "!a:bad host", "!" + strings.Repeat("A", 42)} {
		if _, err := ParseRoomID(s); err == nil {
			t.Errorf("ParseRoomID(%q) succeeded, want error", s)
		}
	}
	if d := RoomID("!abc:example.org").Domain(); d != "example.org" {
		t.Errorf("Domain() = %q", d)
	}
	if _, err := ParseEventID("$abc"); err != nil {
		t.Error(err)
	}
	if _, err := ParseEventID("abc"); err == nil {
		t.Error("ParseEventID without sigil succeeded")
	}
	if _, err := ParseRoomAlias("#room:example.org"); err != nil {
		t.Error(err)
	}
	if _, err := ParseRoomAlias("#room"); err == nil {
		t.Error("ParseRoomAlias without domain succeeded")
	}
}

func TestRoomVersionTable(t *testing.T) {
	vs := RoomVersions()
	if len(vs) != 12 || vs[0].ID != "1" || vs[11].ID != "12" {
		t.Fatalf("RoomVersions() = %d versions", len(vs))
	}
	if _, ok := LookupRoomVersion(DefaultRoomVersion); !ok {
		t.Fatal("default room version unknown")
	}
	if _, ok := LookupRoomVersion("13"); ok {
		t.Error("version 13 should be unknown")
	}
	v7, v12 := MustRoomVersion("7"), MustRoomVersion("12")
	if !v7.Knock || v7.Restricted || !v12.PrivilegedCreators || v12.StateRes != StateResV2_1 {
		t.Error("version features wrong")
	}
}
