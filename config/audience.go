package config

import (
	"fmt"
	"strings"
)

// Audience configures the sponsor figures beyond counted downloads (package report).
type Audience struct {
	// GeoIPDB is the path of a country .mmdb (DB-IP Lite Country or GeoLite2 Country) that
	// places listeners in countries; empty = every country "unknown".
	GeoIPDB string `yaml:"geoip_db"`
}

// maxPath bounds a path in the config.
const maxPath = 4096

func (c *Config) validateAudience() []error {
	var errs []error
	if p := c.Audience.GeoIPDB; len(p) > maxPath || strings.ContainsRune(p, 0) {
		errs = append(errs, fmt.Errorf("audience.geoip_db: must be a file path of at most %d bytes", maxPath))
	}
	return errs
}
