#!/usr/bin/python3
"""Download one torrent with libtorrent-rasterbar from one peer, by magnet or .torrent file.

usage: lt_fetch.py MAGNET_OR_TORRENT SAVE_DIR PEER_HOST:PORT TIMEOUT_SECONDS

No tracker, DHT, LSD, UPnP, NAT-PMP, uTP or web seed: the peer given is the only source, so the
metadata (for a magnet), the v2 piece layers and every byte come from it. Prints the v1 and v2
info hashes libtorrent ended up with and exits 0 once the torrent is complete.
"""
import sys
import time

import libtorrent as lt


def main():
    src, save, peer, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    host, port = peer.rsplit(":", 1)
    ses = lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.peer_notification | lt.alert.category_t.connect_notification,
    })
    if src.startswith("magnet:"):
        p = lt.parse_magnet_uri(src)
    else:
        p = lt.add_torrent_params()
        p.ti = lt.torrent_info(src)
        p.ti.set_web_seeds([])
        p.trackers = []
    p.save_path = save
    h = ses.add_torrent(p)
    deadline = time.time() + timeout
    last_dial = 0.0
    while not h.status().is_seeding:
        now = time.time()
        if now > deadline:
            s = h.status()
            print(f"timeout: progress={s.progress:.3f} peers={s.num_peers} state={s.state}", file=sys.stderr)
            for a in ses.pop_alerts():
                print(a.message(), file=sys.stderr)
            return 1
        if now - last_dial > 2 and h.status().num_peers == 0:
            h.connect_peer((host, int(port)))
            last_dial = now
        time.sleep(0.1)
    ih = h.info_hashes()
    print("v1", ih.v1 if ih.has_v1() else "-")
    print("v2", ih.v2 if ih.has_v2() else "-")
    print("name", h.torrent_file().name())
    return 0


if __name__ == "__main__":
    sys.exit(main())
