package push

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/store"
)

// maxURL bounds a hub or topic URL taken from a source feed.
const maxURL = 2048

// follow brings the feed's subscription in line with the hub and topic its source names now:
// a new hub or topic gets a new subscription (and secret), no hub forgets it.
func (p *Pusher) follow(ctx context.Context, slug string, src source) {
	sub, err := p.st.Subscription(ctx, slug)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		p.log.Error("websub: read subscription", "feed", slug, "err", err)
		return
	}
	if src.hub == "" || !webURL(src.hub) || !webURL(src.topic) {
		if src.hub != "" {
			p.log.Debug("websub: the source's hub or self link is not an http(s) URL: not subscribing", "feed", slug)
		}
		if exists {
			if err := p.st.DeleteSubscription(ctx, slug); err != nil {
				p.log.Error("websub: forget subscription", "feed", slug, "err", err)
				return
			}
			p.log.Info("websub: the source names no hub any more: subscription forgotten", "feed", slug)
		}
		return
	}
	if exists && sub.Hub == src.hub && sub.Topic == src.topic {
		return // renewLoop keeps it
	}
	secret := make([]byte, 32)
	rand.Read(secret) // never fails (crypto/rand)
	sub = store.Subscription{FeedSlug: slug, Hub: src.hub, Topic: src.topic, Secret: hex.EncodeToString(secret)}
	if err := p.st.SaveSubscription(ctx, sub); err != nil {
		p.log.Error("websub: save subscription", "feed", slug, "err", err)
		return
	}
	p.request(ctx, sub, p.now().Add(-p.cfg.RetryAfter))
}

// webURL accepts an absolute http(s) URL of bounded length.
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && len(s) <= maxURL && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// request sends the subscribe request, unless another request (here or on another node) was
// sent after since.
func (p *Pusher) request(ctx context.Context, sub store.Subscription, since time.Time) {
	now := p.now()
	ok, err := p.st.ClaimSubscribe(ctx, sub.FeedSlug, now, since)
	if err != nil {
		p.log.Error("websub: claim subscribe request", "feed", sub.FeedSlug, "err", err)
		return
	}
	if !ok {
		return
	}
	form := url.Values{
		"hub.callback":      {p.callbackURL(sub.FeedSlug)},
		"hub.mode":          {"subscribe"},
		"hub.topic":         {sub.Topic},
		"hub.lease_seconds": {strconv.Itoa(p.cfg.LeaseSeconds)},
		"hub.secret":        {sub.Secret},
	}
	hub := safehttp.RedactURL(sub.Hub)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Hub, strings.NewReader(form.Encode()))
	if err != nil {
		p.log.Warn("websub: subscribe request", "feed", sub.FeedSlug, "hub", hub, "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// The source's hub is a stranger's: the SSRF-guarded client, as for the feed itself.
	if err := p.send(req, p.source, "hub "+hub); err != nil {
		p.log.Warn("websub: subscribe request failed", "feed", sub.FeedSlug, "err", err, "retry_in", p.cfg.RetryAfter)
		return
	}
	p.log.Info("websub: subscribe requested", "feed", sub.FeedSlug, "hub", hub, "topic", safehttp.RedactURL(sub.Topic))
}

// renewLoop sends a subscription's request again in the last tenth of its lease, or when an
// earlier request went unanswered for RetryAfter.
func (p *Pusher) renewLoop(ctx context.Context) {
	t := time.NewTicker(p.cfg.RenewEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		subs, err := p.st.Subscriptions(ctx)
		if err != nil {
			p.log.Error("websub: list subscriptions", "err", err)
			continue
		}
		for _, sub := range subs {
			if since, due := p.renewal(sub); due {
				p.request(ctx, sub, since)
			}
		}
	}
}

// renewal says whether sub needs a request now, and since when a request already sent covers it.
func (p *Pusher) renewal(sub store.Subscription) (since time.Time, due bool) {
	now := p.now()
	since = now.Add(-p.cfg.RetryAfter)
	if sub.VerifiedAt.IsZero() || !sub.LeaseUntil.After(sub.VerifiedAt) {
		return since, true // never verified: retried once RetryAfter has passed
	}
	renewAt := sub.LeaseUntil.Add(-sub.LeaseUntil.Sub(sub.VerifiedAt) / 10)
	if now.Before(renewAt) {
		return since, false
	}
	// The request that got this lease was sent before renewAt; one sent after is a renewal
	// under way, sent again only after RetryAfter.
	if renewAt.After(since) {
		since = renewAt
	}
	return since, true
}
