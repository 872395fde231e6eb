package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/seedcast/seedcast/config"
	"github.com/seedcast/seedcast/geoip"
	"github.com/seedcast/seedcast/tracker"
)

// openGeoIP opens audience.geoip_db; without one the locator is nil (every country "unknown").
func openGeoIP(cfg *config.Config) (tracker.Locator, func(), error) {
	if cfg.Audience.GeoIPDB == "" {
		return nil, func() {}, nil
	}
	db, err := geoip.Open(cfg.Audience.GeoIPDB)
	if err != nil {
		return nil, nil, fmt.Errorf("audience.geoip_db: %w", err)
	}
	return db, func() { db.Close() }, nil
}

// selfAddrs are this host's own public addresses: an announce from one is the gateway itself,
// never a listener. Loopback and private addresses are left out, as a reverse proxy, a
// listener's client on this host or a LAN's listeners behind it arrive from them (and the
// gateway's seeders only ever seed, which never counts anyway).
func selfAddrs(log *slog.Logger) []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		log.Warn("listing interface addresses for the tracker's own-address exclusion", "err", err)
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap().IsGlobalUnicast() && !ip.Unmap().IsPrivate() {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}
