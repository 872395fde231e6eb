package config

import (
	"strings"
	"testing"
)

func TestAudienceGeoIPDB(t *testing.T) {
	c, err := Parse([]byte("audience:\n  geoip_db: /var/lib/geoip/dbip-country-lite.mmdb\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Audience.GeoIPDB != "/var/lib/geoip/dbip-country-lite.mmdb" {
		t.Fatalf("geoip_db = %q", c.Audience.GeoIPDB)
	}
	if c, err := Parse(nil); err != nil || c.Audience.GeoIPDB != "" {
		t.Fatalf("default: %+v, %v; want none", c.Audience, err)
	}
	for _, bad := range []string{"audience:\n  geoip: x.mmdb\n", "audience:\n  geoip_db: \"a\\0b\"\n"} {
		if _, err := Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), "geoip") {
			t.Errorf("%q: %v; want an error naming the key", bad, err)
		}
	}
}
