package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// The ranges every value must fall in. A value past them either breaks
// something later (an int64 that overflows a reader, an interval whose
// doubling overflows peer expiry, an @every that rounds up to one second) or
// is a mistake nobody means; either way the gateway refuses to start and
// names the key. README's configuration table repeats them.
const (
	maxFeedBytes      = int64(1) << 30 // 1 GiB: a feed is text, far smaller than this
	maxEnclosureBytes = int64(1) << 40 // 1 TiB
	maxStoreBytes     = int64(1) << 50 // 1 PiB: fetch.min_free_bytes and feeds[].max_bytes
	maxUploadRate     = int64(1) << 40 // 1 TiB/s
	minUploadRate     = int64(1) << 10 // 1 KiB/s: slower, a 16 KiB block outlasts peers' patience
	maxRedirects      = 20
	maxAnnouncesPerIP = 60000 // per minute: 1000 a second
	maxKeepEpisodes   = 1000000
	maxItems          = 1000000
	maxUserAgentLen   = 256
)

// durationRange is the accepted span of a duration key.
type durationRange struct{ min, max time.Duration }

var durationRanges = map[string]durationRange{
	// Clients are told whole seconds; peers expire after twice it plus a minute.
	"tracker.announce_interval":    {10 * time.Second, 24 * time.Hour},
	"fetch.feed_timeout":           {time.Second, time.Hour},
	"fetch.header_timeout":         {time.Second, time.Hour},
	"fetch.enclosure_timeout":      {time.Minute, 7 * 24 * time.Hour},
	"fetch.enclosure_idle_timeout": {time.Second, time.Hour},
}

// Shortest time between two runs of each schedule. Polls and scrapes may be
// a second apart (conditional GETs; the e2e tests poll every 2s) but not
// "@every 0s" or negative, which robfig/cron turns into every second;
// re-hashing every file more than hourly keeps the disk busy for nothing.
var minScheduleGap = map[string]time.Duration{
	"schedule.poll":   time.Second,
	"schedule.scrape": time.Second,
	"schedule.verify": time.Hour,
}

// maxEvery bounds @every: a year between runs is as far apart as makes sense.
const maxEvery = 365 * 24 * time.Hour

// checkInt reports v outside [lo, hi] as an error naming key.
func checkInt(key string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return fmt.Errorf("%s: %d is out of range: want %d to %d", key, v, lo, hi)
	}
	return nil
}

// checkDuration parses v and checks it against key's range.
func checkDuration(key, v string) error {
	r := durationRanges[key]
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%s: %q: %w", key, v, err)
	}
	if d < r.min || d > r.max {
		return fmt.Errorf("%s: %q is out of range: want %s to %s", key, v, short(r.min), short(r.max))
	}
	return nil
}

// checkSchedule parses spec as the scheduler will and refuses one that runs
// more often than min apart, or never. robfig/cron rounds @every up to one
// second (so "@every 0s" and "@every -15m" would run every second): @every is
// checked as written.
func checkSchedule(key, spec string, min time.Duration) error {
	s, err := ParseSchedule(spec)
	if err != nil {
		return fmt.Errorf("%s: %q: %w", key, spec, err)
	}
	if rest, ok := strings.CutPrefix(strings.TrimSpace(spec), "@every "); ok {
		d, _ := time.ParseDuration(strings.TrimSpace(rest)) // parsed above
		if d < min || d > maxEvery {
			return fmt.Errorf("%s: %q is out of range: @every wants %s to %s", key, spec, short(min), short(maxEvery))
		}
		return nil
	}
	// A cron expression: look at its next runs from a fixed instant (the
	// answer must not depend on today's date).
	t := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := s.Next(t)
	if prev.IsZero() {
		return fmt.Errorf("%s: %q never runs", key, spec)
	}
	for range 100 {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		if gap := next.Sub(prev); gap < min {
			return fmt.Errorf("%s: %q runs every %s: want at least %s between runs", key, spec, short(gap), short(min))
		}
		prev = next
	}
	return nil
}

// short writes 24h and 1m rather than 24h0m0s and 1m0s.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// checkHostPort accepts host:port with a numeric port, as net.Listen will.
func checkHostPort(key, v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%s: %q: the port must be a number from 0 to 65535", key, v)
	}
	return nil
}

// checkNodeAddr accepts a host (name or address) and a port from 1 to 65535, as a DHT node's
// address must be.
func checkNodeAddr(key, v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%s: %q is not host:port: %w", key, v, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%s: %q: the port must be a number from 1 to 65535", key, v)
	}
	if host == "" || strings.ContainsAny(host, " /\\\x00") {
		return fmt.Errorf("%s: %q: the host must be a name or an IP address", key, v)
	}
	return nil
}

// checkUserAgent refuses what cannot go in an HTTP header (CR, LF and other
// control characters make every request fail, or split it).
func checkUserAgent(v string) error {
	switch {
	case len(v) > maxUserAgentLen:
		return fmt.Errorf("fetch.user_agent: %d bytes, want at most %d", len(v), maxUserAgentLen)
	case !httpguts.ValidHeaderFieldValue(v) || strings.ContainsAny(v, "\t\x7f"):
		return errors.New("fetch.user_agent: must be printable text on one line (no CR, LF, tab or other control character)")
	}
	return nil
}
