package signing

import (
	"errors"
	"testing"
)

var xmatrixSeeds = []string{
	`X-Matrix origin="origin.hs.example.com",destination="destination.hs.example.com",key="ed25519:key1",sig="ABCDEF..."`,
	`x-matrix ORIGIN=o , key = ed25519:k ,,sig="a\"b\\c",foo="x,y"`,
	`X-Matrix origin="[::1]:8448",key="ed25519:k",sig="a,b",destination=d`,
	"X-Matrix origin=\"\x80\xff\t\",key=ed25519:k,sig=s",
	`X-Matrix origin=o,origin=o,key=ed25519:k,sig=s`,
	`X-Matrix origin="o\`,
	`Bearer x`,
	``,
}

func FuzzParseXMatrix(f *testing.F) {
	for _, s := range xmatrixSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		x, err := ParseXMatrix(h)
		if err != nil {
			if !errors.Is(err, ErrInvalidXMatrix) {
				t.Fatalf("ParseXMatrix(%q) error %v does not wrap ErrInvalidXMatrix", h, err)
			}
			return
		}
		formatted, err := x.Header()
		if err != nil {
			t.Fatalf("Header() of parsed %+v: %v", x, err)
		}
		again, err := ParseXMatrix(formatted)
		if err != nil || again != x {
			t.Fatalf("round trip: %q → %+v → %q → %+v, %v", h, x, formatted, again, err)
		}
	})
}
