package mjson

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	gmsl "github.com/matrix-org/gomatrixserverlib"
)

// bigEvent builds a realistic ~60 KB federation event: a state event whose
// content holds a power-levels-like map of many users, a formatted message
// body with non-ASCII text and escapes, and nested relation data. Keys are
// written in non-sorted order with indentation, as a non-canonical sender
// would.
func bigEvent(targetSize int) []byte {
	r := rand.New(rand.NewPCG(7, 7))
	var b strings.Builder
	words := []string{"hello", "wörld", "日本語", "привет", "😀", "naïve", "\\\"quoted\\\"", "tab\\t", "line\\n", "\\u00e9t\\u00e9", "<b>bold</b>", "&amp;"}
	text := func(n int) string {
		var s []string
		for i := 0; i < n; i++ {
			s = append(s, words[r.IntN(len(words))])
		}
		return strings.Join(s, " ")
	}
	b.WriteString("{\n  \"type\": \"m.room.power_levels\",\n  \"state_key\": \"\",\n  \"sender\": \"@alice:example.org\",\n")
	b.WriteString("  \"room_id\": \"!room:example.org\",\n  \"origin_server_ts\": 1716400000000,\n  \"depth\": 12345,\n")
	b.WriteString("  \"prev_events\": [\"$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg\", \"$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\"],\n")
	b.WriteString("  \"auth_events\": [\"$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"$bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\", \"$ccccccccccccccccccccccccccccccccccccccccccc\"],\n")
	b.WriteString("  \"hashes\": {\"sha256\": \"5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos\"},\n")
	b.WriteString("  \"signatures\": {\"example.org\": {\"ed25519:a_AbC1\": \"KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg\"}},\n")
	b.WriteString("  \"unsigned\": {\"age_ts\": 1716400000000, \"replaces_state\": \"$dddddddddddddddddddddddddddddddddddddddddd\"},\n")
	b.WriteString("  \"content\": {\n    \"events_default\": 0, \"state_default\": 50, \"ban\": 50, \"kick\": 50, \"redact\": 50, \"invite\": 0,\n")
	b.WriteString("    \"events\": {\"m.room.name\": 50, \"m.room.power_levels\": 100, \"m.room.history_visibility\": 100, \"m.room.canonical_alias\": 50, \"m.room.avatar\": 50, \"m.room.tombstone\": 100, \"m.room.server_acl\": 100, \"m.room.encryption\": 100},\n")
	b.WriteString("    \"notifications\": {\"room\": 50},\n")
	b.WriteString("    \"description\": {\"body\": \"" + text(200) + "\", \"format\": \"org.matrix.custom.html\", \"formatted_body\": \"" + text(200) + "\"},\n")
	b.WriteString("    \"users\": {")
	for i := 0; b.Len() < targetSize-200; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		name := fmt.Sprintf("@%s_%d:%s", []string{"zed", "alice", "bob", "élodie", "ユーザー", "mallory"}[r.IntN(6)], r.IntN(1000000), []string{"example.org", "matrix.org", "hs.example.com"}[r.IntN(3)])
		fmt.Fprintf(&b, "\n      %q: %d", name, r.IntN(101))
	}
	b.WriteString("\n    }\n  }\n}\n")
	return []byte(b.String())
}

func BenchmarkCanonical60KB(b *testing.B) {
	in := bigEvent(60 * 1024)
	if _, err := Canonical(in); err != nil {
		b.Fatal(err)
	}
	b.Run("myelin", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := Canonical(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gmsl", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := gmsl.CanonicalJSON(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gmsl-enforced", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := gmsl.EnforcedCanonicalJSON(in, gmsl.RoomVersionV6); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCanonicalOfCanonical60KB measures the common federation case of
// already-canonical input (no reordering needed).
func BenchmarkCanonicalOfCanonical60KB(b *testing.B) {
	in, err := Canonical(bigEvent(60 * 1024))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("myelin", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := Canonical(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gmsl", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := gmsl.CanonicalJSON(in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkValid60KB(b *testing.B) {
	in := bigEvent(60 * 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if err := Valid(in, true); err != nil {
			b.Fatal(err)
		}
	}
}
