package geoip_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/seedcast/seedcast/geoip"
	"github.com/seedcast/seedcast/geoip/geoiptest"
)

func TestCountry(t *testing.T) {
	path := geoiptest.Write(t, t.TempDir(), map[string]string{
		"127.0.5.0/24":  "DE",
		"127.1.0.0/16":  "FR",
		"127.2.0.0/16":  "bogus", // not an ISO code: unknown
		"2001:db8::/32": "JP",
	})
	db, err := geoip.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for addr, want := range map[string]string{
		"127.0.5.9":         "DE",
		"::ffff:127.0.5.10": "DE", // IPv4-mapped is its IPv4 address
		"127.1.2.3":         "FR",
		"127.2.0.1":         "",
		"127.3.0.1":         "",
		"2001:db8:1::7":     "JP",
		"2001:db9::1":       "",
	} {
		if got := db.Country(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Country(%s) = %q, want %q", addr, got, want)
		}
	}
}

func TestOpenNamesTheFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "not.mmdb")
	if err := os.WriteFile(bad, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := geoip.Open(bad); err == nil {
		t.Fatal("opened a file that is not a database")
	}
}
