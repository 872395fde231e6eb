package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
)

// testPushSubscriptions: a subscription saved through one handle is read through another; a
// subscribe request is claimed once per retry period, however many nodes try; a verification
// counts only for the topic asked for and after a request; delete forgets it.
func testPushSubscriptions(t *testing.T, open Opener) {
	ctx := context.Background()
	s, another := open(t)
	b := another()
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for _, slug := range []string{"show", "other"} {
		if err := s.EnsureFeed(ctx, slug, "http://example.com/"+slug+".xml"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Subscription(ctx, "show"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("subscription before any: %v, want ErrNotFound", err)
	}
	sub := store.Subscription{FeedSlug: "show", Hub: "http://hub.example/", Topic: "http://example.com/show.xml", Secret: "s3cret"}
	if err := s.SaveSubscription(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSubscription(ctx, store.Subscription{FeedSlug: "other", Hub: "http://hub2.example/", Topic: "t2", Secret: "x"}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Subscription(ctx, "show"); err != nil || got != sub {
		t.Fatalf("subscription from another handle = %+v, %v; want %+v", got, err, sub)
	}

	// Verification before any request is refused.
	if ok, err := s.ConfirmSubscription(ctx, "show", sub.Topic, t0.Add(-time.Hour), t0, t0.Add(time.Hour)); err != nil || ok {
		t.Fatalf("verification with no request = %v, %v; want refused", ok, err)
	}
	// Racing nodes claim one request.
	var claimed atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		h := s
		if i%2 == 1 {
			h = b
		}
		wg.Go(func() {
			ok, err := h.ClaimSubscribe(ctx, "show", t0, t0.Add(-time.Hour))
			if err != nil {
				t.Error(err)
			}
			if ok {
				claimed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := claimed.Load(); n != 1 {
		t.Fatalf("%d nodes claimed one subscribe request, want 1", n)
	}
	if ok, _ := s.ClaimSubscribe(ctx, "show", t0.Add(30*time.Minute), t0.Add(-30*time.Minute)); ok {
		t.Fatal("a second request was claimed within the retry period")
	}
	if ok, _ := s.ClaimSubscribe(ctx, "nosuch", t0, t0); ok {
		t.Fatal("a request was claimed for a feed without a subscription")
	}
	until := t0.Add(10 * 24 * time.Hour)
	if ok, err := b.ConfirmSubscription(ctx, "show", "http://evil.example/", t0.Add(-time.Hour), t0.Add(time.Second), until); err != nil || ok {
		t.Fatalf("verification of another topic = %v, %v; want refused", ok, err)
	}
	if ok, err := s.ConfirmSubscription(ctx, "show", sub.Topic, t0, t0.Add(time.Second), until); err != nil || ok {
		t.Fatalf("verification of a request older than since = %v, %v; want refused", ok, err)
	}
	if ok, err := b.ConfirmSubscription(ctx, "show", sub.Topic, t0.Add(-time.Hour), t0.Add(time.Second), until); err != nil || !ok {
		t.Fatalf("verification of the topic asked for = %v, %v; want accepted", ok, err)
	}
	want := sub
	want.RequestedAt, want.VerifiedAt, want.LeaseUntil = t0, t0.Add(time.Second), until
	if got, err := s.Subscription(ctx, "show"); err != nil || got != want {
		t.Fatalf("after verification = %+v, %v; want %+v", got, err, want)
	}
	// After the retry period, a renewal is claimed again.
	if ok, err := b.ClaimSubscribe(ctx, "show", t0.Add(2*time.Hour), t0.Add(time.Hour)); err != nil || !ok {
		t.Fatalf("renewal after the retry period = %v, %v", ok, err)
	}
	subs, err := b.Subscriptions(ctx)
	if err != nil || len(subs) != 2 || subs[0].FeedSlug != "other" || subs[1].FeedSlug != "show" || !subs[1].RequestedAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("subscriptions = %+v, %v", subs, err)
	}
	if err := s.DeleteSubscription(ctx, "show"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscription(ctx, "show"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v, want ErrNotFound", err)
	}
	if err := s.DeleteSubscription(ctx, "show"); err != nil {
		t.Fatalf("deleting no subscription: %v", err)
	}
}

// testPushAnnouncements: each version is claimed once, by one of racing nodes, and an older
// version never after a newer one.
func testPushAnnouncements(t *testing.T, open Opener) {
	ctx := context.Background()
	s, another := open(t)
	b := another()
	if err := s.EnsureFeed(ctx, "show", "http://example.com/show.xml"); err != nil {
		t.Fatal(err)
	}
	claim := func(h store.Store, v int64) bool {
		t.Helper()
		ok, err := h.ClaimAnnouncement(ctx, "show", v)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim(s, 3) {
		t.Fatal("the first version was not claimed")
	}
	if claim(b, 3) {
		t.Fatal("version 3 was claimed twice")
	}
	if claim(b, 2) {
		t.Fatal("an older version was claimed after a newer one")
	}
	var claimed atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		h := s
		if i%2 == 1 {
			h = b
		}
		wg.Go(func() {
			ok, err := h.ClaimAnnouncement(ctx, "show", 4)
			if err != nil {
				t.Error(err)
			}
			if ok {
				claimed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := claimed.Load(); n != 1 {
		t.Fatalf("version 4 claimed by %d nodes, want 1", n)
	}
}
