package eventauth

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"myelin/internal/pdu"
	"myelin/internal/spec"
)

// FuzzJSONScan compares the scanner with encoding/json on valid JSON
// objects without duplicate keys: the same members with the same values.
func FuzzJSONScan(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":"x","b":[1,{"c":null}],"d":{"e":true}}`,
		` { "\u0061" : "\"}" , "b" : -1.5e3 } `, `{"a":1,}`, `[1,2]`, `{"a":{"b":"]"}}`, `{"é":"\ud83d\ude00"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fields []string
		var raws [][]byte
		scanErr := eachMember(data, func(key []byte, _ bool, raw []byte) error {
			k, ok := decodeString(key)
			if !ok {
				return errBadJSON
			}
			fields = append(fields, k)
			raws = append(raws, raw)
			return nil
		})
		var want map[string]json.RawMessage
		if !json.Valid(data) || !utf8.Valid(data) || json.Unmarshal(data, &want) != nil || want == nil {
			return // the scanner only promises to work on valid objects (pdu rejects invalid UTF-8)
		}
		if scanErr != nil {
			t.Fatalf("valid object %q: %v", data, scanErr)
		}
		if len(fields) != len(want) {
			return // duplicate keys: encoding/json keeps the last
		}
		for i, k := range fields {
			w, ok := want[k]
			if !ok {
				t.Fatalf("key %q not in %q", k, data)
			}
			if !bytes.Equal(bytes.TrimSpace(w), raws[i]) {
				t.Fatalf("key %q: value %q, want %q", k, raws[i], w)
			}
			if s, ok := decodeString(raws[i]); ok {
				var ws string
				if json.Unmarshal(raws[i], &ws) != nil || ws != s {
					t.Fatalf("string %q decodes to %q, want %q", raws[i], s, ws)
				}
			}
		}
		// getFields finds the same values.
		fs := make([]field, len(fields))
		for i, k := range fields {
			fs[i].name = k
		}
		if err := getFields(data, fs); err != nil {
			t.Fatal(err)
		}
		for i := range fs {
			if !bytes.Equal(fs[i].raw, raws[i]) {
				t.Fatalf("getFields %q: %q, want %q", fs[i].name, fs[i].raw, raws[i])
			}
		}
	})
}

// FuzzParsePowerLevels checks that parsing never panics, that errors wrap
// ErrInvalidPowerLevels, and that from v10 on an accepted content holds
// only JSON integers.
func FuzzParsePowerLevels(f *testing.F) {
	for _, s := range []string{`{}`, `{"ban":"50","users":{"@a:b":1.5}}`, `{"events":{"x":" -007 "}}`,
		`{"notifications":{"room":5.114698E4}}`, `{"users":{"a":1}}`, `{"kick":1e400}`} {
		f.Add(uint8(1), []byte(s))
		f.Add(uint8(10), []byte(s))
	}
	f.Fuzz(func(t *testing.T, ver uint8, content []byte) {
		vs := spec.RoomVersions()
		v := vs[int(ver)%len(vs)]
		if !json.Valid(content) {
			return
		}
		_, err := ParsePowerLevels(v, content)
		if err != nil && !strings.Contains(err.Error(), ErrInvalidPowerLevels.Error()) {
			t.Fatalf("error %v does not wrap ErrInvalidPowerLevels", err)
		}
		if err == nil && v.IntegerPowerLevels {
			var m map[string]any
			dec := json.NewDecoder(bytes.NewReader(content))
			dec.UseNumber()
			if dec.Decode(&m) == nil {
				for _, k := range namedPLKeys {
					if n, ok := m[k]; ok {
						if _, isNum := n.(json.Number); !isNum {
							t.Fatalf("v%s accepted non-integer %s: %v", v.ID, k, n)
						}
					}
				}
			}
		}
	})
}

// FuzzCheck builds member and power levels events with fuzzed content in a
// std room and checks that Check never panics and names a rule of the
// version's shape ("N" or "N.M...").
func FuzzCheck(f *testing.F) {
	f.Add(uint8(9), uint8(0), `{"membership":"join","join_authorised_via_users_server":"@mod:example.org"}`)
	f.Add(uint8(11), uint8(0), `{"membership":"invite","third_party_invite":{"signed":{"mxid":"@bob:example.org","token":"t","signatures":{"x":{"ed25519:a":"AAAA"}}}}}`)
	f.Add(uint8(11), uint8(1), `{"users":{"@bob:example.org":"5"},"events":{"a":1}}`)
	f.Add(uint8(0), uint8(1), `{"ban":5.5,"users":{"@bob:example.org":1e2}}`)
	f.Add(uint8(6), uint8(2), `{"join_rule":"knock"}`)
	f.Fuzz(func(t *testing.T, ver, kind uint8, content string) {
		vs := spec.RoomVersions()
		v := vs[int(ver)%len(vs)]
		if !json.Valid([]byte(content)) || !strings.HasPrefix(strings.TrimSpace(content), "{") {
			return
		}
		r := stdRoom(t, v)
		types := []string{spec.MRoomMember, spec.MRoomPowerLevels, spec.MRoomJoinRules}
		typ := types[int(kind)%len(types)]
		sk := ""
		if typ == spec.MRoomMember {
			sk = bob
		}
		b := r.builder(typ, strp(sk), mod, json.RawMessage(content))
		ev, err := b.Build(v, "example.org", r.key)
		if err != nil {
			return // not a valid event for the version
		}
		if err := Check(ev, r.state); err != nil {
			rej := AsRejection(err)
			if rej == nil || !validRuleNumber(rej.Rule) {
				t.Fatalf("bad rejection %#v", err)
			}
		}
		_ = CheckAuthEvents(ev, nil)
		_, _ = pdu.AuthEventTypes(v, typ, strp(sk), mod, ev.Content())
	})
}

func validRuleNumber(s string) bool {
	for _, part := range strings.Split(s, ".") {
		if part == "" || strings.Trim(part, "0123456789") != "" || part[0] == '0' {
			return false
		}
	}
	return true
}
