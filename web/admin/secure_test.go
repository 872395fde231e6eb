package admin

import (
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/seedcast/seedcast/store/sqlite"
)

// Behind https (Config.Secure) every cookie the sign-in sets is Secure, HttpOnly and
// SameSite=Strict, on a real store.
func TestSignInCookiesSecureBehindHTTPS(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const token = "a-long-enough-admin-token"
	h := New(Config{TokenHash: sha256.Sum256([]byte(token)), HasToken: true, Secure: true}, st, nil, nil)
	mux := http.NewServeMux()
	h.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/admin/login")
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	buf := make([]byte, 8192)
	for {
		n, err := resp.Body.Read(buf)
		body.Write(buf[:n])
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`).FindStringSubmatch(body.String())
	if m == nil || len(resp.Cookies()) != 1 {
		t.Fatalf("login form: csrf %v, cookies %v", m, resp.Cookies())
	}
	login := resp.Cookies()[0]
	req, _ := http.NewRequest("POST", srv.URL+"/admin/login", strings.NewReader(url.Values{"token": {token}, "csrf": {m[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(login)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	all := append(resp.Cookies(), login)
	for _, c := range all {
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/admin" {
			t.Errorf("cookie %s: %+v, want Secure HttpOnly SameSite=Strict Path=/admin", c.Name, c)
		}
	}
}
