package config

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Store chooses the store driver.
type Store struct {
	// Driver is sqlite (the default: data_dir/seedcast.db, nothing else to run) or postgres.
	Driver string `yaml:"driver"`
	// DSN is the PostgreSQL connection string (libpq URL or key=value); the environment variable
	// SEEDCAST_STORE_DSN overrides it (with driver postgres), so the password need not be in
	// the file.
	DSN string `yaml:"dsn"`
}

// Node names this gateway process among the nodes sharing a store.
type Node struct {
	Name string `yaml:"name"` // default: the host name
}

// Cluster is how nodes sharing a PostgreSQL store divide the work.
type Cluster struct {
	Replicas    int    `yaml:"replicas"`     // live nodes seeding each torrent
	NodeTimeout string `yaml:"node_timeout"` // a node not heard from for this long is dead
}

// StoreDSNEnv overrides store.dsn.
const StoreDSNEnv = "SEEDCAST_STORE_DSN"

// PollInterval is the time between two polls of the feed slug on its schedule (its own or
// schedule.poll), as the cron spec sets it.
func (c *Config) PollInterval(slug string) time.Duration {
	spec := c.Schedule.Poll
	for _, f := range c.Feeds {
		if f.Slug == slug && f.Schedule != "" {
			spec = f.Schedule
		}
	}
	s, err := ParseSchedule(spec)
	if err != nil {
		return 0
	}
	// Any fixed moment will do: the gap between two runs after it.
	first := s.Next(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))
	return s.Next(first).Sub(first)
}

// NodeTimeout is cluster.node_timeout (validated).
func (c *Config) NodeTimeout() time.Duration {
	d, _ := time.ParseDuration(c.Cluster.NodeTimeout)
	return d
}

func (c *Config) applyStoreDefaults(getenv func(string) string) {
	if c.Store.Driver == "" {
		c.Store.Driver = "sqlite"
	}
	// Only for postgres: a machine-wide variable must not break an installation on SQLite.
	if getenv != nil && c.Store.Driver == "postgres" {
		if dsn := getenv(StoreDSNEnv); dsn != "" {
			c.Store.DSN = dsn
		}
	}
	if c.Node.Name == "" {
		c.Node.Name, _ = os.Hostname()
	}
	if c.Cluster.Replicas == 0 {
		c.Cluster.Replicas = 1
		if c.Store.Driver == "postgres" {
			c.Cluster.Replicas = 2 // a node down and every torrent still has a seeder
		}
	}
	if c.Cluster.NodeTimeout == "" {
		c.Cluster.NodeTimeout = "30s"
	}
}

func (c *Config) validateStore() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	switch c.Store.Driver {
	case "sqlite":
		if c.Store.DSN != "" {
			bad("store.dsn", "must be empty with store.driver sqlite (the store is data_dir/seedcast.db)")
		}
	case "postgres":
		if c.Store.DSN == "" {
			bad("store.dsn", "is required with store.driver postgres (or set %s)", StoreDSNEnv)
		}
	default:
		bad("store.driver", "%q is not sqlite or postgres", c.Store.Driver)
	}
	if c.Node.Name == "" || len(c.Node.Name) > 64 || strings.ContainsFunc(c.Node.Name, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		bad("node.name", "%q must be 1 to 64 printable characters without spaces", c.Node.Name)
	}
	switch {
	case c.Store.Driver == "sqlite" && c.Cluster.Replicas != 1:
		bad("cluster.replicas", "%d: must be 1 with store.driver sqlite (one node)", c.Cluster.Replicas)
	case c.Cluster.Replicas < 1 || c.Cluster.Replicas > 16:
		bad("cluster.replicas", "%d is not from 1 to 16", c.Cluster.Replicas)
	}
	if d, err := time.ParseDuration(c.Cluster.NodeTimeout); err != nil || d < 5*time.Second || d > time.Hour {
		bad("cluster.node_timeout", "%q must be a duration from 5s to 1h", c.Cluster.NodeTimeout)
	}
	return errs
}
