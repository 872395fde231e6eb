package safehttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"http://alice:hunter2@127.0.0.1:8080/feed.xml", "http://alice:xxxxx@127.0.0.1:8080/feed.xml"},
		{"https://ghp_s3cret@host.test/feed", "https://xxxxx@host.test/feed"},
		{"https://host.test/feed.xml?token=s3cret&page=2", "https://host.test/feed.xml?token=xxxxx&page=2"},
		{"https://host.test/f?Access_Token=a&API_KEY=b&apikey=c&X-Amz-Signature=d&X-Amz-Credential=e&sig=f&passkey=g&auth=h&session_id=i&accessKey=j&hash=k",
			"https://host.test/f?Access_Token=xxxxx&API_KEY=xxxxx&apikey=xxxxx&X-Amz-Signature=xxxxx&X-Amz-Credential=xxxxx&sig=xxxxx&passkey=xxxxx&auth=xxxxx&session_id=xxxxx&accessKey=xxxxx&hash=xxxxx"},
		{"https://host.test/f?format=mp3&season=2&monkeys&design=x", "https://host.test/f?format=mp3&season=2&monkeys&design=x"},
		{"https://host.test/cb#access_token=s3cret&state=1", "https://host.test/cb#access_token=xxxxx&state=1"},
		{"https://host.test/plain.mp3", "https://host.test/plain.mp3"},
		{"feeds/my feed.xml", "feeds/my feed.xml"}, // nothing to hide: unchanged, not re-encoded
		// url.Parse refuses these; what could be secret still goes.
		{"http://alice:hunter2@host.test/%zz?token=s3cret", "http://xxxxx@host.test/%zz?xxxxx"},
	} {
		if got := RedactURL(c.in); got != c.want {
			t.Errorf("RedactURL(%q)\n = %q\nwant %q", c.in, got, c.want)
		}
	}
}

// net/http's errors carry the request URL with its query (it masks only the
// password); RedactError rewrites it wherever it sits in the chain.
func TestRedactErrorRewritesClientErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close() // nothing listens: a connection error
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet,
		"http://alice:hunter2@"+addr+"/feed.xml?token=s3cret", nil)
	_, err := http.DefaultClient.Do(req)
	if err == nil {
		t.Fatal("want a connection error")
	}
	if !strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("the test needs an error that shows the query: %v", err)
	}
	// fmt.Errorf renders its message at once, so redact before wrapping.
	msg := fmt.Errorf("fetch: %w", RedactError(errors.Join(errors.New("other"), err))).Error()
	if strings.Contains(msg, "s3cret") || strings.Contains(msg, "hunter2") || !strings.Contains(msg, addr+"/feed.xml") {
		t.Fatalf("redacted error = %q", msg)
	}
	if RedactError(nil) != nil {
		t.Fatal("RedactError(nil) != nil")
	}
}
