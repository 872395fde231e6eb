package config

import (
	"fmt"
	"math"
)

// Audience configures the sponsor reports' audience figures.
type Audience struct {
	// CostPerGB is what delivering one decimal gigabyte (10^9 bytes) would cost a host, in any
	// currency: the reports price the bytes listeners carried with it. Unset = 0.05.
	CostPerGB *float64 `yaml:"cost_per_gb"`
}

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
	if v := c.Audience.CostPerGB; v != nil && (math.IsNaN(*v) || *v < 0 || *v > maxCostPerGB) {
		return []error{fmt.Errorf("audience.cost_per_gb: %v is not a price between 0 and %g", *v, maxCostPerGB)}
	}
	return nil
}
