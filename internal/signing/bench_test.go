package signing

import (
	"strings"
	"testing"

	gmsl "github.com/matrix-org/gomatrixserverlib"
)

// typicalEvent is a ~1.5 KB room version 10 m.room.message PDU as received over
// federation (non-canonical key order).
func typicalEvent() []byte {
	body := strings.Repeat("Hello wörld, 日本語 text with \\\"quotes\\\" and emoji 😀. ", 12)
	return []byte(`{
  "type": "m.room.message",
  "room_id": "!OGEhHVWSdvArJzumhm:matrix.org",
  "sender": "@alice:example.org",
  "origin_server_ts": 1716400000000,
  "depth": 123456,
  "content": {
    "msgtype": "m.text",
    "body": "` + body + `",
    "format": "org.matrix.custom.html",
    "formatted_body": "<p>` + string([]rune(body)[:250]) + `</p>",
    "m.relates_to": {"m.in_reply_to": {"event_id": "$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg"}}
  },
  "prev_events": ["$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],
  "auth_events": ["$bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "$ccccccccccccccccccccccccccccccccccccccccccc", "$ddddddddddddddddddddddddddddddddddddddddddd"],
  "hashes": {"sha256": "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"},
  "unsigned": {"age_ts": 1716400000000}
}`)
}

func BenchmarkVerifyJSON(b *testing.B) {
	k := vectorKey(b)
	signed, err := SignJSON(typicalEvent(), "example.org", k)
	if err != nil {
		b.Fatal(err)
	}
	pub := k.Public()
	b.Logf("event size %d bytes", len(signed))
	b.Run("myelin", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := VerifyJSON(signed, "example.org", k.ID, pub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gmsl", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := gmsl.VerifyJSON("example.org", gmsl.KeyID(k.ID), pub, signed); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSignJSON(b *testing.B) {
	k := vectorKey(b)
	ev := typicalEvent()
	b.Run("myelin", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := SignJSON(ev, "example.org", k); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gmsl", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := gmsl.SignJSON("example.org", gmsl.KeyID(k.ID), k.Private, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkContentHash(b *testing.B) {
	ev := typicalEvent()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ContentHash(ev, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseXMatrix(b *testing.B) {
	h := `X-Matrix origin="origin.hs.example.com",destination="destination.hs.example.com",key="ed25519:key1",sig="KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg"`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseXMatrix(h); err != nil {
			b.Fatal(err)
		}
	}
}
