package config

import (
	"strings"
	"testing"
)

// Values that parsed and then broke the gateway (a panic in every fetch, an
// overflowing peer expiry, polls every second, a header that splits
// requests) and every other value out of its range are refused, naming the
// key.
func TestOutOfRangeValuesNameTheKey(t *testing.T) {
	cases := []struct{ yaml, key string }{
		{"data_dir: \"a\\0b\"\n", "data_dir"},
		{"http:\n  listen: 127.0.0.1:http\n", "http.listen"},
		{"http:\n  listen: 127.0.0.1:70000\n", "http.listen"},
		{"http:\n  public_url: http://u:p@127.0.0.1:8080\n", "http.public_url"},
		{"http:\n  public_url: http://127.0.0.1:8080/?x=1\n", "http.public_url"},
		{"seedbox:\n  peer_port: 65536\n", "seedbox.peer_port"},
		{"seedbox:\n  peer_port: -1\n", "seedbox.peer_port"},
		{"seedbox:\n  upload_rate_limit: -1\n", "seedbox.upload_rate_limit"},
		{"seedbox:\n  upload_rate_limit: 10\n", "seedbox.upload_rate_limit"},
		{"seedbox:\n  upload_rate_limit: 9223372036854775807\n", "seedbox.upload_rate_limit"},
		{"seedbox:\n  dht_bootstrap: [router.example:6881, router.example]\n", "seedbox.dht_bootstrap[1]"},
		{"seedbox:\n  dht_bootstrap: [\":6881\"]\n", "seedbox.dht_bootstrap[0]"},
		{"seedbox:\n  dht_bootstrap: [127.0.0.1:0]\n", "seedbox.dht_bootstrap[0]"},
		{"seedbox:\n  dht_bootstrap: [127.0.0.1:65536]\n", "seedbox.dht_bootstrap[0]"},
		{"seedbox:\n  dht_bootstrap: [\"a/b:6881\"]\n", "seedbox.dht_bootstrap[0]"},
		{"tracker:\n  udp_listen: 127.0.0.1:x\n", "tracker.udp_listen"},
		{"tracker:\n  announces_per_ip_per_minute: 10000000\n", "tracker.announces_per_ip_per_minute"},
		{"tracker:\n  announce_interval: 2000000h\n", "tracker.announce_interval"},
		{"tracker:\n  websocket: {max_conns: -1}\n", "tracker.websocket.max_conns"},
		{"tracker:\n  websocket: {max_conns_per_ip: 100000}\n", "tracker.websocket.max_conns_per_ip"},
		{"tracker:\n  websocket: {max_offers: 101}\n", "tracker.websocket.max_offers"},
		{"tracker:\n  websocket: {max_message_bytes: 1073741824}\n", "tracker.websocket.max_message_bytes"},
		{"tracker:\n  announce_interval: 1s\n", "tracker.announce_interval"},
		{"tracker:\n  announce_interval: -15m\n", "tracker.announce_interval"},
		{"fetch:\n  max_feed_bytes: 9223372036854775807\n", "fetch.max_feed_bytes"},
		{"fetch:\n  max_feed_bytes: 1073741825\n", "fetch.max_feed_bytes"},
		{"fetch:\n  max_feed_bytes: -1\n", "fetch.max_feed_bytes"},
		{"fetch:\n  max_enclosure_bytes: 9223372036854775807\n", "fetch.max_enclosure_bytes"},
		{"fetch:\n  max_enclosure_bytes: -5\n", "fetch.max_enclosure_bytes"},
		{"fetch:\n  min_free_bytes: 9223372036854775807\n", "fetch.min_free_bytes"},
		{"fetch:\n  min_free_bytes: -1\n", "fetch.min_free_bytes"},
		{"fetch:\n  max_redirects: 1000\n", "fetch.max_redirects"},
		{"fetch:\n  max_redirects: -1\n", "fetch.max_redirects"},
		{"fetch:\n  feed_timeout: 2000000h\n", "fetch.feed_timeout"},
		{"fetch:\n  feed_timeout: 1ms\n", "fetch.feed_timeout"},
		{"fetch:\n  header_timeout: 100000h\n", "fetch.header_timeout"},
		{"fetch:\n  enclosure_timeout: 10s\n", "fetch.enclosure_timeout"},
		{"fetch:\n  enclosure_timeout: 2000000h\n", "fetch.enclosure_timeout"},
		{"fetch:\n  user_agent: \"Seedcast\\r\\nX-Evil: 1\"\n", "fetch.user_agent"},
		{"fetch:\n  user_agent: \"Seedcast\\n\"\n", "fetch.user_agent"},
		{"fetch:\n  user_agent: \"" + strings.Repeat("a", 300) + "\"\n", "fetch.user_agent"},
		{"schedule:\n  poll: \"@every -15m\"\n", "schedule.poll"},
		{"schedule:\n  poll: \"@every 0s\"\n", "schedule.poll"},
		{"schedule:\n  poll: \"@every 500ms\"\n", "schedule.poll"},
		{"schedule:\n  poll: \"@every 9000h\"\n", "schedule.poll"},
		{"schedule:\n  poll: \"0 0 30 2 *\"\n", "schedule.poll"}, // 30 February: never
		{"schedule:\n  scrape: \"@every 0s\"\n", "schedule.scrape"},
		{"schedule:\n  scrape: \"@every 500ms\"\n", "schedule.scrape"},
		{"schedule:\n  verify: \"* * * * *\"\n", "schedule.verify"},
		{"schedule:\n  verify: \"@every 10m\"\n", "schedule.verify"},
		{"feeds:\n  - {slug: a, url: \"http://x/\", schedule: \"@every -1m\"}\n", "feeds[0].schedule"},
		{"feeds:\n  - {slug: a, url: \"http://x/\", keep_episodes: -1}\n", "feeds[0].keep_episodes"},
		{"feeds:\n  - {slug: a, url: \"http://x/\", keep_episodes: 2000000}\n", "feeds[0].keep_episodes"},
		{"feeds:\n  - {slug: a, url: \"http://x/\", max_bytes: -1}\n", "feeds[0].max_bytes"},
		{"feeds:\n  - {slug: a, url: \"http://x/\", max_bytes: 9223372036854775807}\n", "feeds[0].max_bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatalf("accepted %q", tc.yaml)
			}
			if !strings.HasPrefix(err.Error(), tc.key+": ") {
				t.Fatalf("error %q does not start with the key %s", err, tc.key)
			}
		})
	}
}

// The edges of each range, and the smallest values the tests use (the e2e
// harness's 20s announce interval, the report test's 2s scrapes), are fine.
func TestInRangeValuesAccepted(t *testing.T) {
	for _, y := range []string{
		"tracker:\n  announce_interval: 20s\nschedule:\n  scrape: \"@every 2s\"\n  poll: \"@every 1h\"\n",
		"tracker:\n  announce_interval: 10s\n",
		"tracker:\n  announce_interval: 24h\n",
		"tracker:\n  announces_per_ip_per_minute: -1\n",
		"tracker:\n  websocket: {max_conns: 100, max_conns_per_ip: 2, max_offers: 5, max_message_bytes: 16384}\n",
		"fetch:\n  max_feed_bytes: 1073741824\n  max_enclosure_bytes: 1099511627776\n  max_redirects: 20\n",
		"fetch:\n  user_agent: \"Podcast mirror/2.0 (+https://example.org/bot; ops@example.org)\"\n",
		"seedbox:\n  upload_rate_limit: 1024\n",
		"schedule:\n  poll: \"@every 1m\"\n  verify: \"@daily\"\n",
		"schedule:\n  poll: \"*/5 * * * *\"\n  verify: \"0 3 * * 0\"\n",
		"schedule:\n  poll: \"@every 8760h\"\n",
		"feeds:\n  - {slug: a, url: \"http://x/\", schedule: \"@hourly\", keep_episodes: 1000000}\n",
	} {
		if _, err := Parse([]byte(y)); err != nil {
			t.Errorf("%q: %v", y, err)
		}
	}
}

// A feed URL in an error is shown without its password or token.
func TestFeedURLErrorRedacted(t *testing.T) {
	_, err := Parse([]byte("feeds:\n  - {slug: a, url: \"ftp://alice:hunter2@host.test/feed?token=s3cret\"}\n"))
	if err == nil || !strings.Contains(err.Error(), "feeds[0].url") || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error = %v", err)
	}
}
