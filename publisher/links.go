package publisher

import (
	"strings"

	"github.com/seedcast/seedcast/store"
)

// What other packages (the public pages) link to, so every link to a feed or torrent is made
// in one place.

// Flavours are every output feed, the torrent RSS first.
var Flavours = []Flavour{TorrentRSS, PodcastRSS, Atom, JSON}

// Path is the flavour's URL path for a slug (from the gateway's root).
func (fl Flavour) Path(slug string) string { return fl.path(slug) }

// String names the flavour for people.
func (fl Flavour) String() string {
	switch fl {
	case PodcastRSS:
		return "Podcast RSS (HTTP enclosures)"
	case Atom:
		return "Atom"
	case JSON:
		return "JSON Feed"
	}
	return "Torrent RSS"
}

// TorrentURL is the absolute URL of e's .torrent.
func TorrentURL(cfg Config, e store.Episode) string {
	return strings.TrimRight(cfg.PublicURL, "/") + "/torrents/" + strings.ToLower(e.InfoHash) + ".torrent"
}

// Magnet is the magnet link the feeds give for e's torrent.
func Magnet(cfg Config, e store.Episode) string {
	return magnet(cfg, strings.ToLower(e.InfoHash), e.InfoHashV2, clean(e.Title), TorrentURL(cfg, e), clean(e.EnclosureURL))
}
