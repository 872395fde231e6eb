package tracker

import "testing"

// Real peer_id prefixes, as each client sends them (the rest of the 20 bytes random).
func TestClientApp(t *testing.T) {
	for _, c := range []struct{ id, want string }{
		{"-qB4650-k8hj0wgej6ch", "qBittorrent"},
		{"-TR3000-m8v2n0r5x1z9", "Transmission"},
		{"-TR4060-pq0l9k8j7h6g", "Transmission"},
		{"-LT2090-abcdefghijkl", "libtorrent"},
		{"-LT1280-abcdefghijkl", "libtorrent"},
		{"-lt0D80-abcdefghijkl", "libtorrent"},
		{"-DE211s-abcdefghijkl", "libtorrent"},
		{"A2-1-37-0-abcdefghij", "aria2"},
		{"A2-1-36-0-abcdefghij", "aria2"},
		{"-UT355W-abcdefghijkl", "µTorrent"},
		{"-UM1870-abcdefghijkl", "µTorrent"},
		{"-WW0208-abcdefghijkl", "WebTorrent"},
		{"-WD0070-abcdefghijkl", "WebTorrent"},
		{"-AZ5750-abcdefghijkl", "other"}, // Vuze: not among the figures' apps
		{"M7-1-0--abcdefghijkl", "other"}, // Mainline
		{"-qB4650abcdefghijklm", "other"}, // no closing dash: not Azureus-style
		{"A2abcdefghijklmnopqr", "other"},
		{"", "other"},
		{"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13", "other"},
	} {
		if got := ClientApp(rawID(c.id)); got != c.want {
			t.Errorf("ClientApp(%q) = %q, want %q", c.id, got, c.want)
		}
	}
}
