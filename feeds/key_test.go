package feeds

import (
	"strings"
	"testing"
	"time"
)

func TestCanonicalURL(t *testing.T) {
	const plain = "https://cdn.example.com/show/ep1.mp3"
	tests := []struct {
		in, want string
	}{
		{plain, plain},
		{"  " + plain + "  ", plain},
		{"HTTPS://CDN.Example.COM/show/ep1.mp3", plain},
		{"http://cdn.example.com/show/ep1.mp3", plain},
		{"https://cdn.example.com:443/show/ep1.mp3", plain},
		{"http://cdn.example.com:80/show/ep1.mp3", plain},
		{"https://cdn.example.com./show/ep1.mp3", plain},
		{plain + "#t=30", plain},
		{plain + "?utm_source=rss&utm_medium=feed&utm_campaign=x", plain},
		{plain + "?fbclid=abc&gclid=def&mc_cid=1&mc_eid=2&_ga=3&ref=rss&source=feed", plain},
		{plain + "?b=2&utm_source=rss&a=1", plain + "?a=1&b=2"},
		{plain + "?UTM_Source=x&a=1", plain + "?a=1"},
		{"https://cdn.example.com:8443/ep1.mp3", "https://cdn.example.com:8443/ep1.mp3"},
		{"https://cdn.example.com", "https://cdn.example.com/"},
		// measurement prefixes
		{"https://dts.podtrac.com/redirect.mp3/cdn.example.com/show/ep1.mp3", plain},
		{"https://www.podtrac.com/pts/redirect.mp3/cdn.example.com/show/ep1.mp3", plain},
		{"https://dts.podtrac.com/redirect.m4a/cdn.example.com/show/ep1.mp3", plain},
		{"https://chtbl.com/track/A1B2C/cdn.example.com/show/ep1.mp3", plain},
		{"https://chrt.fm/track/A1B2C/cdn.example.com/show/ep1.mp3", plain},
		{"https://pdst.fm/e/cdn.example.com/show/ep1.mp3", plain},
		{"https://op3.dev/e/https://cdn.example.com/show/ep1.mp3", plain},
		{"https://op3.dev/e,pg=abc/cdn.example.com/show/ep1.mp3", plain},
		{"https://pfx.vpixl.com/6qj4J/cdn.example.com/show/ep1.mp3", plain},
		{"https://mgln.ai/e/41/cdn.example.com/show/ep1.mp3", plain},
		{"https://verifi.podscribe.com/rss/p/cdn.example.com/show/ep1.mp3", plain},
		{"https://arttrk.com/p/ABCD/cdn.example.com/show/ep1.mp3", plain},
		{"https://pscrb.fm/rss/p/cdn.example.com/show/ep1.mp3", plain},
		// chains, inner schemes, query carried through
		{"https://dts.podtrac.com/redirect.mp3/chtbl.com/track/X1/pdst.fm/e/cdn.example.com/show/ep1.mp3", plain},
		{"https://pdst.fm/e/chtbl.com/track/X1/https://cdn.example.com/show/ep1.mp3?utm_source=a", plain},
		{"https://op3.dev/e/http:/cdn.example.com/show/ep1.mp3", plain},
		{"https://op3.dev/e/https%3A%2F%2Fcdn.example.com%2Fshow%2Fep1.mp3", plain},
		{"https://dts.podtrac.com/redirect.mp3/cdn.example.com/show/ep1.mp3?token=abc&utm_medium=x", plain + "?token=abc"},
		// not prefixes: the path is a file on the host itself
		{"https://media.blubrry.com/show/ep1.mp3", "https://media.blubrry.com/show/ep1.mp3"},
		{"https://chtbl.com/track/", "https://chtbl.com/track/"},
		// garbage in, something out, no panic
		{"", ""},
		{"not a url", "not a url"},
		{"%zz", "%zz"},
		{"/relative/ep1.mp3", "/relative/ep1.mp3"},
	}
	for _, tt := range tests {
		if got := CanonicalURL(tt.in); got != tt.want {
			t.Errorf("CanonicalURL(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestEpisodeKey(t *testing.T) {
	date := time.Date(2024, 5, 1, 10, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	if got := EpisodeKey(" abc-123 ", "https://x.example/a.mp3", "T", date); got != "guid:abc-123" {
		t.Errorf("guid key = %q", got)
	}
	a := EpisodeKey("", "https://dts.podtrac.com/redirect.mp3/x.example/a.mp3?utm_source=rss", "T", date)
	b := EpisodeKey("", "http://x.example/a.mp3", "Other title", time.Time{})
	if a != "url:https://x.example/a.mp3" || a != b {
		t.Errorf("url keys = %q, %q", a, b)
	}
	h1 := EpisodeKey("", "", "Episode 1", date)
	h2 := EpisodeKey("", "", "Episode 1", date.UTC())
	h3 := EpisodeKey("", "", "Episode 1", date.Add(time.Hour))
	h4 := EpisodeKey("", "", "Episode 2", date)
	if !strings.HasPrefix(h1, "hash:") || len(h1) != len("hash:")+32 {
		t.Errorf("hash key = %q", h1)
	}
	if h1 != h2 {
		t.Errorf("same instant in another zone gave %q and %q", h1, h2)
	}
	if h1 == h3 || h1 == h4 {
		t.Errorf("different episodes share key %q", h1)
	}
}
