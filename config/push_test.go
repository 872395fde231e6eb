package config

import (
	"strings"
	"testing"
)

func TestPushKeys(t *testing.T) {
	c, err := parse([]byte(""), nil)
	if err != nil || c.Push.WebSubHub != "" || c.Push.PodpingURL != "" || !c.Push.SubscribeEnabled() {
		t.Fatalf("defaults: %+v, %v", c.Push, err)
	}
	env := func(k string) string {
		if k == PodpingTokenEnv {
			return "from-the-env"
		}
		return ""
	}
	c, err = parse([]byte("push:\n  websub_hub: https://hub.example/\n  subscribe: false\n  podping_url: https://podping.cloud/\n  podping_token: in-the-file\n"), env)
	if err != nil || c.Push.WebSubHub != "https://hub.example/" || c.Push.SubscribeEnabled() || c.Push.PodpingToken != "from-the-env" {
		t.Fatalf("push set, token from the environment: %+v, %v", c.Push, err)
	}
	for _, tc := range []struct{ yaml, key string }{
		{"push:\n  websub_hub: ftp://hub.example/\n", "push.websub_hub"},
		{"push:\n  websub_hub: hub.example\n", "push.websub_hub"},
		{"push:\n  podping_url: https://podping.cloud/?x=1\n  podping_token: t\n", "push.podping_url"},
		{"push:\n  podping_url: https://podping.cloud/\n", "push.podping_token"},
		{"push:\n  podping_token: lonely\n", "push.podping_token"},
		{"push:\n  podping_url: https://podping.cloud/\n  podping_token: \"two words\"\n", "push.podping_token"},
	} {
		_, err := parse([]byte(tc.yaml), nil)
		if err == nil || !strings.Contains(err.Error(), tc.key+":") {
			t.Errorf("%q: err = %v, want one naming %s", tc.yaml, err, tc.key)
		}
		if err != nil && strings.Contains(err.Error(), "two words") {
			t.Errorf("the token is repeated in an error: %v", err)
		}
	}
}
