#!/usr/bin/python3
"""Download one torrent with libtorrent-rasterbar, then stop cleanly.

usage: lt_download.py TORRENT SAVE_DIR TIMEOUT_SECONDS [all]

With "all", libtorrent announces to every tracker of every tier instead of
stopping at the first tier that answers.

Web seeds are removed so every byte comes from peers; DHT, LSD, UPnP and
NAT-PMP are off so the only way to find a peer is the torrent's tracker.
Exits 0 once the torrent is complete and the tracker has been told
(a `stopped` announce with left=0 when the session pauses the torrent).
"""
import sys
import time

import libtorrent as lt


def main():
    path, save, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    all_trackers = len(sys.argv) > 4 and sys.argv[4] == "all"
    ses = lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        "announce_to_all_tiers": all_trackers,
        "announce_to_all_trackers": all_trackers,
        "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.tracker_notification,
    })
    ti = lt.torrent_info(path)
    ti.set_web_seeds([])
    h = ses.add_torrent({"ti": ti, "save_path": save})
    deadline = time.time() + timeout
    while not h.status().is_seeding:
        if time.time() > deadline:
            s = h.status()
            print(f"timeout: progress={s.progress:.3f} peers={s.num_peers} state={s.state}", file=sys.stderr)
            for a in ses.pop_alerts():
                print(a.message(), file=sys.stderr)
            return 1
        time.sleep(0.1)
    # Make sure the tracker heard that we finished: libtorrent sends
    # event=completed on its own; pausing then sends event=stopped.
    h.force_reannounce()
    time.sleep(0.5)
    h.pause()
    end = time.time() + 10
    while time.time() < end:
        done = False
        for a in ses.pop_alerts():
            if isinstance(a, lt.tracker_reply_alert) or isinstance(a, lt.tracker_error_alert):
                done = True
        if done:
            break
        time.sleep(0.1)
    print("complete", ti.name())
    return 0


if __name__ == "__main__":
    sys.exit(main())
