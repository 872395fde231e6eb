package config

import (
	"fmt"
	"math"
	"strings"
)

// Audience configures the sponsor reports' audience figures (package report).
type Audience struct {
	// GeoIPDB is the path of a country .mmdb (DB-IP Lite Country or GeoLite2 Country) that
	// places listeners in countries; empty = every country "unknown".
	GeoIPDB string `yaml:"geoip_db"`
	// CostPerGB is what delivering one decimal gigabyte (10^9 bytes) would cost a host, in any
	// currency: the reports price the bytes listeners carried with it. Unset = 0.05.
	CostPerGB *float64 `yaml:"cost_per_gb"`
}

// maxPath bounds a path in the config.
const maxPath = 4096

// defaultCostPerGB is audience.cost_per_gb's default (report.DefaultCostPerGB).
const defaultCostPerGB = 0.05

// maxCostPerGB bounds audience.cost_per_gb: a larger figure is a typo, not a price.
const maxCostPerGB = 1e6

// CostPerGBOrDefault is audience.cost_per_gb, or its default when unset.
func (a Audience) CostPerGBOrDefault() float64 {
	if a.CostPerGB == nil {
		return defaultCostPerGB
	}
	return *a.CostPerGB
}

func (c *Config) validateAudience() []error {
	var errs []error
	if p := c.Audience.GeoIPDB; len(p) > maxPath || strings.ContainsRune(p, 0) {
		errs = append(errs, fmt.Errorf("audience.geoip_db: must be a file path of at most %d bytes", maxPath))
	}
	if v := c.Audience.CostPerGB; v != nil && (math.IsNaN(*v) || *v < 0 || *v > maxCostPerGB) {
		errs = append(errs, fmt.Errorf("audience.cost_per_gb: %v is not a price between 0 and %g", *v, maxCostPerGB))
	}
	return errs
}
