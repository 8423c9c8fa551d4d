package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"myelin/internal/testkit/testdb"
	"myelin/internal/testkit/testserver"
)

// TestVersionsAdvertisesServedUnstableFeatures: an unstable feature is in
// /versions exactly when it is served (dehydrated devices, MSC3814).
func TestVersionsAdvertisesServedUnstableFeatures(t *testing.T) {
	e := testdb.Engines(t)[0]
	for _, tc := range []struct {
		name  string
		hs    *testserver.Server
		wants bool
	}{
		{"off", testserver.Start(t, e), false},
		{"on", testserver.Start(t, e, withDehydration), true},
	} {
		resp, err := http.Get(tc.hs.URL + "/_matrix/client/versions")
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Versions []string        `json:"versions"`
			Unstable map[string]bool `json:"unstable_features"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || len(body.Versions) == 0 || body.Unstable == nil {
			t.Fatalf("%s: /versions = %+v, %v", tc.name, body, err)
		}
		if got := body.Unstable["org.matrix.msc3814"]; got != tc.wants {
			t.Errorf("%s: org.matrix.msc3814 = %v, want %v", tc.name, got, tc.wants)
		}
	}
}
