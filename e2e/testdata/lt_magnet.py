#!/usr/bin/python3
"""Download one torrent with libtorrent-rasterbar from a magnet link alone, then stop cleanly.

usage: lt_magnet.py MAGNET SAVE_DIR TIMEOUT_SECONDS

The magnet's trackers are the only way to find a peer (DHT, LSD, UPnP, NAT-PMP and uTP off), so
with a btmh-only magnet libtorrent announces the truncated v2 info hash and fetches metadata,
piece layers and bytes from whatever peers the tracker hands out. Exits 0 once complete and the
tracker has been told, printing the torrent's name.
"""
import sys
import time

import libtorrent as lt


def main():
    magnet, save, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    ses = lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.tracker_notification,
    })
    p = lt.parse_magnet_uri(magnet)
    p.save_path = save
    h = ses.add_torrent(p)
    deadline = time.time() + timeout
    while not h.status().is_seeding:
        if time.time() > deadline:
            s = h.status()
            print(f"timeout: progress={s.progress:.3f} peers={s.num_peers} state={s.state}", file=sys.stderr)
            for a in ses.pop_alerts():
                print(a.message(), file=sys.stderr)
            return 1
        time.sleep(0.1)
    h.force_reannounce()
    time.sleep(0.5)
    h.pause()
    end = time.time() + 10
    while time.time() < end:
        if any(isinstance(a, (lt.tracker_reply_alert, lt.tracker_error_alert)) for a in ses.pop_alerts()):
            break
        time.sleep(0.1)
    print("complete", h.torrent_file().name())
    return 0


if __name__ == "__main__":
    sys.exit(main())
