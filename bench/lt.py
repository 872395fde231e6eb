#!/usr/bin/python3
"""libtorrent-rasterbar peer for bench/seeding.sh, TCP only (uTP over loopback is pathological).

  lt.py seed TORRENT SAVE_DIR PORT      seed until killed (prints "seeding" once checked)
  lt.py leech TORRENT SAVE_DIR HOST:PORT  download from that one peer; prints the seconds taken

DHT, LSD, UPnP, NAT-PMP, trackers and web seeds are off: the only source is the given peer.
"""
import sys
import time

import libtorrent as lt


def session(port):
    return lt.session({
        "listen_interfaces": f"127.0.0.1:{port}",
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "enable_incoming_utp": False, "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
    })


def torrent(path):
    ti = lt.torrent_info(path)
    ti.set_web_seeds([])
    return ti


def main():
    mode, path, save = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "seed":
        ses = session(int(sys.argv[4]))
        h = ses.add_torrent({"ti": torrent(path), "save_path": save})
        while not h.status().is_seeding:
            time.sleep(0.05)
        print("seeding", flush=True)
        while True:
            time.sleep(3600)
    host, port = sys.argv[4].rsplit(":", 1)
    ses = session(0)
    ti = torrent(path)
    start = time.monotonic()
    # Added paused so the torrent's trackers can be dropped before any announce: they would
    # otherwise lead to the other seeders of this benchmark.
    h = ses.add_torrent({"ti": ti, "save_path": save, "flags": lt.torrent_flags.paused})
    h.replace_trackers([])
    h.resume()
    h.connect_peer((host, int(port)))
    deadline = start + 600
    retry = start + 2
    while not h.status().is_seeding:
        now = time.monotonic()
        if now > deadline:
            print("timeout", h.status().progress, file=sys.stderr)
            return 1
        # Not more often than every 2 s: transmission refuses a peer that reconnects in a loop.
        if now > retry and h.status().num_peers == 0:
            h.connect_peer((host, int(port)))
            retry = now + 2
        time.sleep(0.02)
    print(f"{time.monotonic() - start:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
