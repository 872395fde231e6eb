package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// testHub is a small real WebSub hub: subscriptions with intent verification, content
// distribution signed with each subscriber's secret, and publish pings recorded.
type testHub struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	// active are the verified subscriptions by topic.
	active map[string]url.Values
	pings  []hubPing
}

type hubPing struct {
	topic string
	at    time.Time
}

func newTestHub(t *testing.T) *testHub {
	h := &testHub{t: t, active: map[string]url.Values{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.ParseForm() != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		f := r.PostForm
		switch f.Get("hub.mode") {
		case "subscribe":
			if f.Get("hub.callback") == "" || f.Get("hub.topic") == "" || f.Get("hub.secret") == "" {
				http.Error(w, "callback, topic and secret wanted", http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusAccepted)
			go h.verify(f)
		case "publish":
			h.mu.Lock()
			for _, u := range f["hub.url"] {
				h.pings = append(h.pings, hubPing{u, time.Now()})
			}
			h.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		default:
			http.Error(w, "unknown hub.mode", http.StatusBadRequest)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// verify asks the subscriber to echo a challenge, as a hub does before it takes a subscription.
func (h *testHub) verify(f url.Values) {
	challenge := fmt.Sprintf("challenge-%d", time.Now().UnixNano())
	code, body := h.askIntent(f.Get("hub.callback"), f.Get("hub.topic"), challenge)
	if code == 200 && body == challenge {
		h.mu.Lock()
		h.active[f.Get("hub.topic")] = f
		h.mu.Unlock()
	}
}

func (h *testHub) askIntent(callback, topic, challenge string) (int, string) {
	q := url.Values{"hub.mode": {"subscribe"}, "hub.topic": {topic}, "hub.challenge": {challenge}, "hub.lease_seconds": {"3600"}}
	resp, err := http.Get(callback + "?" + q.Encode())
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b)
}

func (h *testHub) subscription(topic string) (url.Values, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.active[topic]
	return f, ok
}

// distribute fetches the topic and sends it to its subscriber, signed with secret (the
// subscriber's own, unless the test forges one).
func (h *testHub) distribute(topic, secret string) int {
	h.t.Helper()
	f, ok := h.subscription(topic)
	if !ok {
		h.t.Fatalf("hub: no subscription to %s", topic)
	}
	resp, err := http.Get(topic)
	if err != nil {
		h.t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		h.t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, f.Get("hub.callback"), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/rss+xml")
	req.Header.Set("Link", fmt.Sprintf(`<%s>; rel="hub", <%s>; rel="self"`, h.srv.URL+"/", topic))
	req.Header.Set("X-Hub-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	out, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	out.Body.Close()
	return out.StatusCode
}

func (h *testHub) pingedSince(topic string, since time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.pings {
		if p.topic == topic && !p.at.Before(since) {
			return true
		}
	}
	return false
}

// withHub declares the Atom namespace and puts the hub and self links in an origin feed.
func withHub(feed, hub, self string) string {
	feed = strings.Replace(feed, `<rss version="2.0"`, `<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"`, 1)
	return strings.Replace(feed, "<channel>", fmt.Sprintf(`<channel><atom:link rel="hub" href="%s"/><atom:link rel="self" href="%s" type="application/rss+xml"/>`, hub, self), 1)
}

// A source feed naming a WebSub hub is subscribed to (intent verified, secret given); the
// hub's signed notification of a new episode has it published within 5 s, with the poll
// schedule at an hour; a mis-signed one is ignored, a verification for a topic never asked is
// refused. The output feeds name the operator's hub and Podping, and both are told of the change.
func TestWebSub(t *testing.T) {
	o := newOrigin(t, 2, 256<<10)
	h := newTestHub(t)
	var ppMu sync.Mutex
	var podpings []*http.Request
	pp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ppMu.Lock()
		podpings = append(podpings, r)
		ppMu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer pp.Close()

	topic := o.feedURL()
	all := o.episodes
	o.episodes = all[:1]
	one := withHub(o.feed(), h.srv.URL+"/", topic)
	o.episodes = all
	two := withHub(o.feed(), h.srv.URL+"/", topic)
	o.feedBody.Store(one)

	g := newGateway(t, feedEntry{"show", topic})
	cfg, err := os.ReadFile(g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// The operator's hub is the same test hub; schedule.poll stays @every 1h (newGateway).
	cfg = append(cfg, fmt.Sprintf("push:\n  websub_hub: %s/\n  podping_url: %s/\n  podping_token: e2e-podping-token\n", h.srv.URL, pp.URL)...)
	if err := os.WriteFile(g.cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	g.start()
	g.waitPublished("show", 1, 60*time.Second)
	waitFor(t, 30*time.Second, "the gateway's verified subscription at the hub", func() error {
		if _, ok := h.subscription(topic); !ok {
			return fmt.Errorf("not subscribed to %s", topic)
		}
		return nil
	})
	sub, _ := h.subscription(topic)
	if cb := sub.Get("hub.callback"); cb != g.baseURL()+"/websub/show" {
		t.Fatalf("callback = %q", cb)
	}
	if code, body := h.askIntent(sub.Get("hub.callback"), "http://127.0.0.1:1/other.xml", "forged"); code != 404 || body == "forged" {
		t.Fatalf("verification of a topic never asked = %d %q, want 404", code, body)
	}

	_, body, err := g.outputFeed("show")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf(`<atom:link href="%s/feeds/show.rss" rel="self" type="application/rss+xml">`, g.baseURL()),
		fmt.Sprintf(`<atom:link href="%s/" rel="hub">`, h.srv.URL),
		`<podcast:podping usesPodping="true">`,
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("output feed lacks %s", want)
		}
	}
	if bytes.Contains(body, []byte(topic+`" rel="self"`)) {
		t.Error("the output feed copies the source's self link")
	}

	o.feedBody.Store(two)
	if code := h.distribute(topic, "not the secret"); code/100 != 2 {
		t.Fatalf("mis-signed notification answered %d, want 2xx (and ignored)", code)
	}
	waitFor(t, 10*time.Second, "the mis-signed notification logged as ignored", func() error {
		if !strings.Contains(g.logs.String(), "signature does not match") {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	if f, _, err := g.outputFeed("show"); err != nil || len(torrentURLs(f)) != 1 {
		t.Fatalf("after a mis-signed notification the feed lists %d torrents (err %v), want 1", len(torrentURLs(f)), err)
	}

	notified := time.Now()
	if code := h.distribute(topic, sub.Get("hub.secret")); code/100 != 2 {
		t.Fatalf("signed notification answered %d", code)
	}
	g.waitPublished("show", 2, 5*time.Second)
	t.Logf("new episode published %s after the hub's notification", time.Since(notified).Round(time.Millisecond))

	// The change is announced for every flavour, to the hub and to Podping.
	for _, path := range []string{"/feeds/show.rss", "/feeds/show/podcast.rss", "/feeds/show.atom", "/feeds/show.json"} {
		u := g.baseURL() + path
		waitFor(t, 10*time.Second, "the hub told of "+path, func() error {
			if !h.pingedSince(u, notified) {
				return fmt.Errorf("no publish ping for %s", u)
			}
			return nil
		})
		waitFor(t, 10*time.Second, "podping told of "+path, func() error {
			ppMu.Lock()
			defer ppMu.Unlock()
			for _, r := range podpings {
				if r.URL.Query().Get("url") == u && r.Header.Get("Authorization") == "e2e-podping-token" {
					return nil
				}
			}
			return fmt.Errorf("no podping for %s", u)
		})
	}
	if strings.Contains(g.logs.String(), sub.Get("hub.secret")) || strings.Contains(g.logs.String(), "e2e-podping-token") {
		t.Error("a secret is in the gateway's log")
	}
}
