package push

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/seedcast/seedcast/safehttp"
)

// announceChange tells the hub and Podping of every flavour of the feed when its output
// version moved since it was last announced; the store makes one node the announcer of each
// version. A failed request is logged and not retried: the next change announces the feed again.
func (p *Pusher) announceChange(ctx context.Context, slug string) {
	v, err := p.st.FeedVersion(ctx, slug)
	if err != nil {
		p.log.Error("push: feed version", "feed", slug, "err", err)
		return
	}
	p.mu.Lock()
	seen, ok := p.seen[slug]
	p.mu.Unlock()
	if ok && seen == v {
		return // the common case, a poll that changed nothing: no write to the store
	}
	claimed, err := p.st.ClaimAnnouncement(ctx, slug, v)
	if err != nil {
		p.log.Error("push: claim announcement", "feed", slug, "err", err)
		return
	}
	p.mu.Lock()
	p.seen[slug] = v
	p.mu.Unlock()
	if !claimed {
		return // announced already, here before a restart or by another node
	}
	for _, u := range p.feedURLs(slug) {
		if p.cfg.Hub != "" {
			p.report(slug, "websub hub", u, p.publish(ctx, u))
		}
		if p.cfg.PodpingURL != "" {
			p.report(slug, "podping", u, p.podping(ctx, u))
		}
	}
}

func (p *Pusher) report(slug, to, feedURL string, err error) {
	if err != nil {
		p.log.Warn("push: announcing a change failed", "feed", slug, "to", to, "url", feedURL, "err", err)
		return
	}
	p.log.Info("push: change announced", "feed", slug, "to", to, "url", feedURL)
}

// publish tells the operator's hub that topic changed (hub.mode=publish, hub.url=topic).
func (p *Pusher) publish(ctx context.Context, topic string) error {
	form := url.Values{"hub.mode": {"publish"}, "hub.url": {topic}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.Hub, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("push.websub_hub %s: %w", safehttp.RedactURL(p.cfg.Hub), err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return p.send(req, p.own, "push.websub_hub "+safehttp.RedactURL(p.cfg.Hub))
}

// podping tells Podping.cloud's HTTP API that the feed changed: GET ?url=FEED with the token.
func (p *Pusher) podping(ctx context.Context, feedURL string) error {
	q := url.Values{"url": {feedURL}, "reason": {"update"}, "medium": {"podcast"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cfg.PodpingURL+"?"+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("push.podping_url %s: %w", safehttp.RedactURL(p.cfg.PodpingURL), err)
	}
	req.Header.Set("Authorization", p.cfg.PodpingToken)
	return p.send(req, p.own, "push.podping_url "+safehttp.RedactURL(p.cfg.PodpingURL))
}

// send does req and wants a 2xx; what fails names what (never a secret: they are in the
// body or headers, not the URL).
func (p *Pusher) send(req *http.Request, client *http.Client, what string) error {
	if p.cfg.UserAgent != "" {
		req.Header.Set("User-Agent", p.cfg.UserAgent)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, safehttp.RedactError(err))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: answered %s", what, resp.Status)
	}
	return nil
}
