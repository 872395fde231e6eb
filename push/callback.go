package push

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seedcast/seedcast/store"
)

// maxChallenge bounds the hub.challenge echoed back.
const maxChallenge = 1024

// verify answers a hub's intent verification (GET ?hub.mode=subscribe&hub.topic=…&hub.challenge=…):
// the challenge is echoed only for the topic this feed's subscription is for, within RetryAfter
// of a request for it; anything else is 404, so nobody can subscribe the gateway to what it did
// not ask for.
func (p *Pusher) verify(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	q := r.URL.Query()
	mode, topic, challenge := q.Get("hub.mode"), q.Get("hub.topic"), q.Get("hub.challenge")
	switch mode {
	case "subscribe":
	case "denied":
		if sub, err := p.st.Subscription(r.Context(), slug); err == nil && sub.Topic == topic {
			p.log.Warn("websub: the hub refused the subscription", "feed", slug, "reason", clip(q.Get("hub.reason"), 200))
		}
		w.WriteHeader(http.StatusOK)
		return
	default: // unsubscribe included: the gateway never asks for one
		http.NotFound(w, r)
		return
	}
	if topic == "" || challenge == "" || len(challenge) > maxChallenge {
		http.Error(w, "hub.topic and hub.challenge are required", http.StatusBadRequest)
		return
	}
	lease := time.Duration(p.cfg.LeaseSeconds) * time.Second
	if s, err := strconv.Atoi(q.Get("hub.lease_seconds")); err == nil && s > 0 && s < p.cfg.LeaseSeconds {
		lease = time.Duration(s) * time.Second // more than asked for is taken as what was asked
	}
	now := p.now()
	ok, err := p.st.ConfirmSubscription(r.Context(), slug, topic, now.Add(-p.cfg.RetryAfter), now, now.Add(lease))
	if err != nil {
		p.log.Error("websub: confirm subscription", "feed", slug, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if !ok {
		p.log.Debug("websub: intent verification for a topic not asked for", "feed", slug)
		http.NotFound(w, r)
		return
	}
	p.log.Info("websub: subscription verified", "feed", slug, "lease", lease)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	io.WriteString(w, challenge)
}

// notified takes a hub's content distribution: a body signed with the subscription's secret
// (X-Hub-Signature: sha256=…, or sha1, sha384, sha512) polls the feed now. As WebSub requires,
// an unsigned or mis-signed one is answered 2xx too but ignored, and logged; a body over
// MaxBody is refused. The body itself is not used: the poll fetches the feed as it always does.
func (p *Pusher) notified(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	sub, err := p.st.Subscription(r.Context(), slug)
	if errors.Is(err, store.ErrNotFound) {
		// Gone: tells the hub to drop a subscription the gateway no longer has.
		http.Error(w, "no subscription", http.StatusGone)
		return
	}
	if err != nil {
		p.log.Error("websub: read subscription", "feed", slug, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	method, sig, _ := strings.Cut(r.Header.Get("X-Hub-Signature"), "=")
	newHash := hashes[strings.ToLower(method)]
	want, herr := hex.DecodeString(sig)
	if newHash == nil || herr != nil {
		p.log.Warn("websub: notification ignored: not signed with a known method", "feed", slug)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	mac := hmac.New(newHash, []byte(sub.Secret))
	n, err := io.Copy(mac, io.LimitReader(r.Body, p.cfg.MaxBody+1))
	if n > p.cfg.MaxBody {
		p.log.Warn("websub: notification refused: body over the cap", "feed", slug, "max_bytes", p.cfg.MaxBody)
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if err != nil {
		http.Error(w, "reading the body failed", http.StatusBadRequest)
		return
	}
	if !hmac.Equal(mac.Sum(nil), want) {
		p.log.Warn("websub: notification ignored: signature does not match", "feed", slug)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	p.log.Info("websub: notified of a change", "feed", slug, "bytes", n)
	p.trigger(slug)
	w.WriteHeader(http.StatusAccepted)
}

// hashes are the signature methods WebSub allows.
var hashes = map[string]func() hash.Hash{"sha1": sha1.New, "sha256": sha256.New, "sha384": sha512.New384, "sha512": sha512.New}

// gate spaces the notified polls of one feed.
type gate struct {
	last  time.Time   // the last notified poll started
	timer *time.Timer // a poll set for the end of the gap, nil when none
}

// trigger polls the feed now, or, within PollGap of the last notified poll, once at the end of
// the gap: a burst of notifications is one or two polls, and a poll already running is not
// doubled (PollNow runs it once more after it instead).
func (p *Pusher) trigger(slug string) {
	p.mu.Lock()
	g, ok := p.gates[slug]
	if !ok {
		g = &gate{}
		p.gates[slug] = g
	}
	if g.timer != nil {
		p.mu.Unlock()
		return // the poll set for the end of the gap covers this notification
	}
	now := p.now()
	if wait := g.last.Add(p.cfg.PollGap).Sub(now); !g.last.IsZero() && wait > 0 {
		g.timer = time.AfterFunc(wait, func() {
			p.mu.Lock()
			g.timer, g.last = nil, p.now()
			p.mu.Unlock()
			p.pollNow(slug)
		})
		p.mu.Unlock()
		return
	}
	g.last = now
	p.mu.Unlock()
	p.pollNow(slug)
}

// clip bounds a string from a stranger before it is logged.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n]
	}
	return s
}
