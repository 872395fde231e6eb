package submit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/feedcheck"
	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/sqlite"
)

// newTestService is a service on a real SQLite store whose checker is the real feed check
// (loopback allowed: the origin is an httptest server); it never subscribes (approve mode).
func newTestService(t *testing.T, lim Limits, now func() time.Time) (*Service, *httptest.Server) {
	t.Helper()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, `<rss version="2.0"><channel><title>T</title><link>http://x/</link><description>d</description>
<item><title>1</title><guid>g1</guid><enclosure url="http://x/1.mp3" length="1" type="audio/mpeg"/></item></channel></rss>`)
	}))
	t.Cleanup(origin.Close)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	client := safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 10 * time.Second})
	check := func(ctx context.Context, u string) (Found, error) {
		rep, err := feedcheck.Check(ctx, feedcheck.Options{Client: client}, u)
		return Found{Title: rep.Title, VerifyTokens: rep.VerifyTokens, Refused: rep.Refused && !rep.Locked, Refusal: rep.Refusal}, err
	}
	return NewService(ModeApprove, lim, check, nil, st, now, nil), origin
}

func TestCreateCapsOpenSubmissions(t *testing.T) {
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	svc, origin := newTestService(t, Limits{MaxOpen: 2, OpenFor: 24 * time.Hour}, func() time.Time { return now })
	ctx := context.Background()
	first, _, err := svc.Create(ctx, origin.URL+"/a.xml")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Create(ctx, origin.URL+"/b.xml"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Create(ctx, origin.URL+"/c.xml"); !errors.Is(err, ErrFull) {
		t.Fatalf("third open submission: %v, want ErrFull", err)
	}
	// Turning one down frees its place.
	if _, err := svc.Reject(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Create(ctx, origin.URL+"/c.xml"); err != nil {
		t.Fatalf("after a rejection: %v", err)
	}
	// A day on, the unverified ones no longer count, and can no longer be verified.
	now = now.Add(25 * time.Hour)
	sub, _, err := svc.Create(ctx, origin.URL+"/d.xml")
	if err != nil {
		t.Fatalf("after the others expired: %v", err)
	}
	list, _ := svc.List(ctx, 10)
	for _, s := range list {
		if s.ID != sub.ID && s.Status == store.SubmissionAwaiting {
			if _, err := svc.Verify(ctx, s.ID); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "expired") {
				t.Errorf("verifying an expired submission: %v", err)
			}
		}
	}
}

func TestOwnerToken(t *testing.T) {
	svc, origin := newTestService(t, Limits{}, nil)
	ctx := context.Background()
	sub, owner, err := svc.Create(ctx, origin.URL+"/feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	if sub.OwnerTokenHash == owner || strings.Contains(sub.OwnerTokenHash, owner) {
		t.Fatal("the owner token is stored in clear")
	}
	if got, err := svc.Owned(ctx, sub.ID, owner); err != nil || got.ID != sub.ID {
		t.Fatalf("owned: %+v, %v", got, err)
	}
	for _, bad := range []string{"", sub.ID, sub.ID + ".x", owner + "x", otherID(owner)} {
		if _, err := svc.Owned(ctx, sub.ID, bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("owner token %q: %v", bad, err)
		}
	}
	// Not subscribed yet: no report.
	if slug, ok := (Owners{St: svc.st}).OwnerFeed(ctx, owner); ok {
		t.Errorf("an unverified owner reads the report of %q", slug)
	}
}

// otherID is the owner token with another id: the secret of one submission on another.
func otherID(owner string) string {
	if owner[0] == '0' {
		return "1" + owner[1:]
	}
	return "0" + owner[1:]
}

func TestNotFoundNote(t *testing.T) {
	if n := notFoundNote(nil); !strings.Contains(n, "no <podcast:txt") {
		t.Errorf("no tokens: %q", n)
	}
	n := notFoundNote([]string{"a", strings.Repeat("b", 500), "c", "d"})
	if !strings.Contains(n, "has 4") || strings.Contains(n, `"d"`) || len(n) > 400 {
		t.Errorf("four tokens, one long: %q", n)
	}
}
