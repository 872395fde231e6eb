package tracker

// clientApps names the client apps the sponsor figures break downloads down by, from the
// two-letter code of an Azureus-style peer_id ("-qB4620-", BEP 20). libtorrent's own codes
// stand for every app built on it that keeps them; an app with a code of its own (Deluge's
// "-DE") is named libtorrent too, as the figures group it.
var clientApps = map[string]string{
	"qB": "qBittorrent",
	"TR": "Transmission",
	"LT": "libtorrent", // libtorrent-rasterbar (python3-libtorrent, many apps on it)
	"lt": "libtorrent", // Rakshasa's libtorrent (rTorrent)
	"DE": "libtorrent", // Deluge, built on libtorrent-rasterbar
	"UT": "µTorrent",
	"UM": "µTorrent", // µTorrent for Mac
	"WW": "WebTorrent",
	"WD": "WebTorrent", // WebTorrent Desktop
}

// Client app names beyond clientApps.
const (
	appAria2 = "aria2"
	appOther = "other"
)

// ClientApp names the client app that made peer_id id: one of clientApps' names, "aria2"
// (its Shad0w-style "A2-1-37-0-"), or "other". A peer_id is the client's own claim, so this
// is what listeners' apps say they are.
func ClientApp(id [20]byte) string {
	if id[0] == '-' && id[7] == '-' {
		if app, ok := clientApps[string(id[1:3])]; ok {
			return app
		}
		return appOther
	}
	if id[0] == 'A' && id[1] == '2' && id[2] == '-' {
		return appAria2
	}
	return appOther
}
