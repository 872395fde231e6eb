package config

import (
	"strings"
	"testing"
	"time"
)

func TestEnclosureIdleTimeout(t *testing.T) {
	c, err := Parse([]byte(""))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.EnclosureIdleTimeout(); got != 2*time.Minute {
		t.Fatalf("default fetch.enclosure_idle_timeout = %s, want 2m", got)
	}
	c, err = Parse([]byte("fetch:\n  enclosure_idle_timeout: 45s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.EnclosureIdleTimeout(); got != 45*time.Second {
		t.Fatalf("fetch.enclosure_idle_timeout = %s, want 45s", got)
	}
	for _, v := range []string{"0s", "-1m", "soon"} {
		_, err := Parse([]byte("fetch:\n  enclosure_idle_timeout: " + v + "\n"))
		if err == nil || !strings.Contains(err.Error(), "fetch.enclosure_idle_timeout") {
			t.Fatalf("enclosure_idle_timeout %q: error %v should name the key", v, err)
		}
	}
}
