package config

import (
	"strings"
	"testing"
	"time"
)

func TestStoreKeys(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	dsnEnv := env(map[string]string{StoreDSNEnv: "postgres://seedcast:secret@db/seedcast"})

	c, err := parse([]byte(""), dsnEnv)
	if err != nil || c.Store.Driver != "sqlite" || c.Store.DSN != "" || c.Cluster.Replicas != 1 || c.Node.Name == "" {
		t.Fatalf("defaults: %+v %+v %+v, %v (a machine-wide %s must not touch SQLite)", c.Store, c.Cluster, c.Node, err, StoreDSNEnv)
	}
	c, err = parse([]byte("store:\n  driver: postgres\n"), dsnEnv)
	if err != nil || c.Store.DSN != "postgres://seedcast:secret@db/seedcast" || c.Cluster.Replicas != 2 {
		t.Fatalf("postgres with the DSN from the environment: %+v, %v", c.Store, err)
	}
	for _, tc := range []struct{ yaml, key string }{
		{"store:\n  driver: mysql\n", "store.driver"},
		{"store:\n  driver: postgres\n", "store.dsn"},
		{"store:\n  dsn: postgres://db/x\n", "store.dsn"},
		{"cluster:\n  replicas: 2\n", "cluster.replicas"},
		{"store:\n  driver: postgres\n  dsn: postgres://db/x\ncluster:\n  replicas: 17\n", "cluster.replicas"},
		{"cluster:\n  node_timeout: 1s\n", "cluster.node_timeout"},
		{"node:\n  name: \"two words\"\n", "node.name"},
	} {
		_, err := parse([]byte(tc.yaml), nil)
		if err == nil || !strings.Contains(err.Error(), tc.key+":") {
			t.Errorf("%q: err = %v, want one naming %s", tc.yaml, err, tc.key)
		}
	}
}

func TestPollInterval(t *testing.T) {
	c, err := Parse([]byte("schedule:\n  poll: \"@every 10m\"\nfeeds:\n  - slug: a\n    url: http://example.com/a.xml\n  - slug: b\n    url: http://example.com/b.xml\n    schedule: \"0 * * * *\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := c.PollInterval("a"); d != 10*time.Minute {
		t.Errorf("feed a (schedule.poll @every 10m): %v", d)
	}
	if d := c.PollInterval("b"); d != time.Hour {
		t.Errorf("feed b (hourly cron): %v", d)
	}
}
