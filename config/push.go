package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/seedcast/seedcast/safehttp"
)

// Push configures WebSub and Podping (package push): telling others of every change to the
// output feeds, and hearing of changes to the sources at once instead of at the next poll.
type Push struct {
	// WebSubHub is a WebSub hub the output feeds name (atom:link rel="hub") and that is told of
	// every change to them (hub.mode=publish); empty = none.
	WebSubHub string `yaml:"websub_hub"`
	// Subscribe subscribes to the hub a source feed names, so its changes are polled at once
	// (the hub calls {http.public_url}/websub/{slug} back); default true.
	Subscribe *bool `yaml:"subscribe"`
	// PodpingURL is a Podping.cloud-style HTTP endpoint (GET ?url=FEED, Authorization: token)
	// told of every change to the output feeds; empty = none. PodpingToken is required with it;
	// the environment variable SEEDCAST_PODPING_TOKEN overrides it.
	PodpingURL   string `yaml:"podping_url"`
	PodpingToken string `yaml:"podping_token"`
}

// PodpingTokenEnv overrides push.podping_token.
const PodpingTokenEnv = "SEEDCAST_PODPING_TOKEN"

// maxPodpingToken bounds the token: it is sent as a header line.
const maxPodpingToken = 1024

// SubscribeEnabled reports whether source feeds' hubs are subscribed to.
func (p Push) SubscribeEnabled() bool { return p.Subscribe == nil || *p.Subscribe }

func (c *Config) applyPushEnv(getenv func(string) string) {
	if getenv == nil {
		return
	}
	if tok := getenv(PodpingTokenEnv); tok != "" {
		c.Push.PodpingToken = tok
	}
}

// validatePush checks the push keys; the token itself never appears in an error.
func (c *Config) validatePush() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	for _, k := range []struct{ key, val string }{{"push.websub_hub", c.Push.WebSubHub}, {"push.podping_url", c.Push.PodpingURL}} {
		if k.val == "" {
			continue
		}
		if u, err := url.Parse(k.val); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.RawQuery != "" || u.Fragment != "" {
			bad(k.key, "%q is not an absolute http(s) URL without query or fragment", safehttp.RedactURL(k.val))
		}
	}
	tok := c.Push.PodpingToken
	switch {
	case c.Push.PodpingURL != "" && tok == "":
		bad("push.podping_token", "is required with push.podping_url (or set %s)", PodpingTokenEnv)
	case c.Push.PodpingURL == "" && tok != "":
		bad("push.podping_token", "is set but push.podping_url is not")
	case len(tok) > maxPodpingToken || strings.IndexFunc(tok, func(r rune) bool { return r < 0x21 || r == 0x7f }) >= 0:
		bad("push.podping_token", "must be at most %d printable characters without spaces", maxPodpingToken)
	}
	return errs
}
