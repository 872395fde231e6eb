package tracker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"sync"
	"time"

	"github.com/seedcast/seedcast/store"
)

// Locator names the ISO 3166 country of an address, "" when it does not know; geoip.DB is one.
type Locator interface {
	Country(addr netip.Addr) string
}

// countryUnknown is the country of a listener no Locator placed.
const countryUnknown = "unknown"

// pruneEvery is how often Run deletes per-listener rows past store.AudienceRetention.
const pruneEvery = time.Hour

// periodSalt is the salt of one audience period's listener keys.
type periodSalt struct {
	period int64 // whole store.AudiencePeriods since the Unix epoch
	salt   []byte
}

func periodOf(at time.Time) int64 { return at.Unix() / int64(store.AudiencePeriod/time.Second) }

// audienceKey is what the sponsor figures store for l: an HMAC of the prefix and family
// under the salt of at's 30-day period (kept in the store, so every node and restart keys
// l alike through the period), never the address. Unlike the daily listener key it links
// one listener's days, which unique listeners over 7 and 30 days need.
func (t *Tracker) audienceKey(ctx context.Context, l listener, at time.Time) string {
	p := periodOf(at)
	t.saltMu.Lock()
	defer t.saltMu.Unlock()
	if t.aSalt.period != p || t.aSaltUnsaved {
		fresh := t.aSalt.salt
		if t.aSalt.period != p || fresh == nil {
			fresh = make([]byte, 32)
			_, _ = rand.Read(fresh) // never fails (it crashes instead)
		}
		t.aSalt = periodSalt{period: p, salt: fresh}
		t.aSaltUnsaved = t.store != nil
		if t.store != nil {
			if s, err := t.store.AudienceSalt(ctx, at, fresh); err != nil {
				t.log.Error("tracker: store audience salt", "err", err)
			} else {
				t.aSalt.salt, t.aSaltUnsaved = s, false
			}
		}
	}
	return l.keyUnder(t.aSalt.salt)
}

// listen is the audience row of req at now (Kind to be set).
func (t *Tracker) listen(ctx context.Context, req announceRequest, kind string, now time.Time) store.Listen {
	addr := req.addr.Addr().Unmap().WithZone("")
	country := ""
	if t.cfg.Locator != nil {
		country = t.cfg.Locator.Country(addr)
	}
	if country == "" {
		country = countryUnknown
	}
	return store.Listen{InfoHash: hex.EncodeToString(req.infoHash[:]), Kind: kind,
		Listener: t.audienceKey(ctx, listenerOf(addr, req.peerID), now),
		Client:   ClientApp(req.peerID), Country: country, At: now}
}

// recordListen stores l; a failure loses one figure of the audience breakdown, never a
// counted download, so it is logged and not retried.
func (t *Tracker) recordListen(ctx context.Context, l store.Listen) {
	if t.store == nil {
		return
	}
	if _, err := t.store.RecordListen(ctx, l); err != nil {
		t.log.Error("tracker: record audience "+l.Kind, "info_hash", l.InfoHash, "err", err)
	}
}

// recordStart stores a started download: a listener's announce with bytes left.
func (t *Tracker) recordStart(ctx context.Context, req announceRequest, now time.Time) {
	if t.store == nil {
		return // the audience figures live in the store only
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	l := t.listen(ctx, req, store.ListenStart, now)
	if !t.starts.first(l.InfoHash+" "+l.Listener, now) {
		return // recorded today already: the store would keep the first anyway
	}
	t.recordListen(ctx, l)
}

// maxDayOnce bounds dayOnce's memory (~100 MB at its fullest); past it every key is "first"
// and the store's own dedupe does the work.
const maxDayOnce = 1 << 20

// dayOnce remembers keys seen on the current UTC day.
type dayOnce struct {
	mu   sync.Mutex
	day  string
	seen map[string]struct{}
}

// first reports whether key is new today (or the memory is full).
func (d *dayOnce) first(key string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if day := now.UTC().Format(time.DateOnly); day != d.day || d.seen == nil {
		d.day, d.seen = day, make(map[string]struct{})
	}
	if _, ok := d.seen[key]; ok {
		return false
	}
	if len(d.seen) < maxDayOnce {
		d.seen[key] = struct{}{}
	}
	return true
}

// pruneListens deletes the per-listener rows past their retention, at most once per pruneEvery.
func (t *Tracker) pruneListens(ctx context.Context) {
	now := t.now()
	if t.store == nil || now.Sub(t.lastPrune) < pruneEvery {
		return
	}
	t.lastPrune = now
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	n, err := t.store.PruneListens(ctx, now.Add(-store.AudienceRetention))
	if err != nil {
		t.log.Error("tracker: prune audience rows", "err", err)
		return
	}
	if n > 0 {
		t.log.Debug("tracker: pruned audience rows past retention", "count", n)
	}
}

// self reports whether addr is one of the gateway's own (Config.SelfAddrs).
func (t *Tracker) self(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	for _, a := range t.cfg.SelfAddrs {
		if a.Unmap() == addr {
			return true
		}
	}
	return false
}
