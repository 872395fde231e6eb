package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSecretsInURLsNeverShown subscribes feeds whose URLs carry a password
// and a token and fail every way a feed fails (404, connection refused, not
// a feed, an enclosure that 404s): the unauthenticated /status, `seedcast
// status` (from the daemon and from the store) and the daemon's log must name
// each feed's host and path but never the password or the token.
func TestSecretsInURLsNeverShown(t *testing.T) {
	var srvURL string
	mux := http.NewServeMux()
	mux.HandleFunc("/garbage.xml", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html>this is not a feed</html>")
	})
	mux.HandleFunc("/show.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>Private</title>
<item><guid>ep1</guid><title>One</title><enclosure url="http://bob:hunter2@%s/ep1.mp3?sig=s3cret" length="1000" type="audio/mpeg"/></item>
</channel></rss>`, strings.TrimPrefix(srvURL, "http://"))
	})
	srv := httptest.NewServer(mux) // everything else: 404
	defer srv.Close()
	srvURL = srv.URL
	host := strings.TrimPrefix(srv.URL, "http://")
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t)) // nothing listens there
	secret := func(hostPort, path string) string {
		return "http://alice:hunter2@" + hostPort + path + "?token=s3cret"
	}
	g := newGateway(t,
		feedEntry{"missing", secret(host, "/missing.xml")},
		feedEntry{"refused", secret(dead, "/feed.xml")},
		feedEntry{"garbage", secret(host, "/garbage.xml")},
		feedEntry{"show", secret(host, "/show.xml")})
	g.start()

	var body string
	waitFor(t, 30*time.Second, "every feed to fail", func() error {
		resp, err := http.Get(g.baseURL() + "/status")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		fs, err := g.status()
		if err != nil {
			return err
		}
		failed := 0
		for _, f := range fs {
			if f.LastError != "" {
				failed++
			}
		}
		if failed < 4 {
			return fmt.Errorf("%d of 4 feeds failed:\n%s", failed, body)
		}
		return nil
	})
	for _, want := range []string{host + "/missing.xml", dead + "/feed.xml", host + "/garbage.xml", host + "/ep1.mp3", "status 404", "connection refused"} {
		if !strings.Contains(body, want) {
			t.Errorf("/status does not name %q:\n%s", want, body)
		}
	}
	assertNoSecret(t, "/status", body)

	for _, args := range [][]string{{"status"}, {"status", "-json"}} {
		out, err := exec.Command(binary, append(args, "-config", g.cfgPath)...).CombinedOutput()
		if err != nil {
			t.Fatalf("seedcast %v: %v\n%s", args, err, out)
		}
		if !strings.Contains(string(out), "missing.xml") {
			t.Errorf("seedcast %v does not name the feed:\n%s", args, out)
		}
		assertNoSecret(t, fmt.Sprintf("seedcast %v (from the daemon)", args), string(out))
	}
	g.stop()
	out, err := exec.Command(binary, "status", "-json", "-config", g.cfgPath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "garbage.xml") {
		t.Fatalf("seedcast status from the store: %v\n%s", err, out)
	}
	assertNoSecret(t, "seedcast status (from the store)", string(out))
	logs := g.logs.String()
	if !strings.Contains(logs, "poll failed") || !strings.Contains(logs, host+"/missing.xml") {
		t.Errorf("the log does not name the failed feeds:\n%s", logs)
	}
	assertNoSecret(t, "the daemon's log", logs)

	// One ingest pass from the command line reports the same failures.
	out, err = exec.Command(binary, "poll", "-config", g.cfgPath).CombinedOutput()
	if err == nil || !strings.Contains(string(out), dead+"/feed.xml") {
		t.Fatalf("seedcast poll: %v, want a failure naming the feed:\n%s", err, out)
	}
	assertNoSecret(t, "seedcast poll", string(out))
}

func assertNoSecret(t *testing.T, where, s string) {
	t.Helper()
	for _, secret := range []string{"hunter2", "s3cret"} {
		if i := strings.Index(s, secret); i >= 0 {
			t.Errorf("%s shows %q: …%s…", where, secret, s[max(0, i-200):min(len(s), i+100)])
		}
	}
}
