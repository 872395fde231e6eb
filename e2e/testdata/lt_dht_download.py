#!/usr/bin/python3
"""Download a magnet with libtorrent-rasterbar using the DHT alone.

usage: lt_dht_download.py MAGNET SAVE_DIR TIMEOUT_SECONDS BOOTSTRAP_HOST:PORT

The magnet must name no tracker and no web seed: the script refuses one that
does. The DHT is bootstrapped only to BOOTSTRAP (the seeder's own DHT node on
loopback), replacing libtorrent's default router, so nothing leaves the machine.
LSD, UPnP, NAT-PMP and uTP are off: the only way to find a peer is the DHT.
Prints "complete NAME" and exits 0 once every piece is in.
"""
import sys
import time

import libtorrent as lt


def main():
    magnet, save, timeout, boot = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    host, port = boot.rsplit(":", 1)
    ses = lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": True,
        "dht_bootstrap_nodes": boot,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        # libtorrent's DHT restrictions (dht_restrict_routing_ips, dht_restrict_search_ips,
        # dht_ignore_dark_internet, dht_enforce_node_id) stay at their defaults: 2.0.8 routes
        # through one loopback node with them on (checked), so this is a stock client's DHT.
        "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.dht_notification
        | lt.alert.category_t.peer_notification | lt.alert.category_t.status_notification,
    })
    ses.add_dht_node((host, int(port)))
    params = lt.parse_magnet_uri(magnet)
    if params.trackers or params.url_seeds:
        print(f"magnet names trackers {params.trackers} or web seeds {params.url_seeds}", file=sys.stderr)
        return 2
    params.save_path = save
    h = ses.add_torrent(params)
    deadline = time.time() + timeout
    next_announce = 0.0
    log = []
    while not h.status().is_seeding:
        now = time.time()
        if now > deadline:
            s = h.status()
            print(f"timeout: has_metadata={s.has_metadata} progress={s.progress:.3f} "
                  f"peers={s.num_peers}", file=sys.stderr)
            for m in log[-40:]:
                print(m, file=sys.stderr)
            return 1
        # Until a peer turns up, ask the DHT again (libtorrent's own pace is minutes).
        if h.status().num_peers == 0 and now >= next_announce:
            h.force_dht_announce()
            next_announce = now + 3
        log.extend(a.message() for a in ses.pop_alerts())
        time.sleep(0.1)
    ti = h.torrent_file()
    if h.trackers():
        print(f"torrent has trackers {h.trackers()}", file=sys.stderr)
        return 2
    print("complete", ti.name())
    return 0


if __name__ == "__main__":
    sys.exit(main())
