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

func TestAudienceCostPerGB(t *testing.T) {
	c, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Audience.CostPerGBOrDefault(); got != 0.05 {
		t.Errorf("default cost_per_gb = %v, want 0.05", got)
	}
	for v, want := range map[string]float64{"0": 0, "0.02": 0.02, "12": 12} {
		c, err := Parse([]byte("audience:\n  cost_per_gb: " + v + "\n"))
		if err != nil {
			t.Fatalf("cost_per_gb %s: %v", v, err)
		}
		if got := c.Audience.CostPerGBOrDefault(); got != want {
			t.Errorf("cost_per_gb %s read as %v", v, got)
		}
	}
	for _, v := range []string{"-1", ".nan", "1e9"} {
		if _, err := Parse([]byte("audience:\n  cost_per_gb: " + v + "\n")); err == nil || !strings.Contains(err.Error(), "audience.cost_per_gb") {
			t.Errorf("cost_per_gb %s: %v, want an error naming audience.cost_per_gb", v, err)
		}
	}
	if _, err := Parse([]byte("audience:\n  cost_per_gib: 1\n")); err == nil || !strings.Contains(err.Error(), "cost_per_gib") {
		t.Errorf("a typo under audience: %v, want it named", err)
	}
}
