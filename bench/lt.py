#!/usr/bin/python3
"""libtorrent-rasterbar peer for bench/seeding.sh, TCP only (uTP over loopback is pathological).

  lt.py seed TORRENT SAVE_DIR PORT      seed until killed (prints "seeding" once checked)
  lt.py leech TORRENT SAVE_DIR HOST:PORT [SOURCE_IP]
                                        download from that one peer; prints the seconds taken

DHT, LSD, UPnP, NAT-PMP, trackers and web seeds are off: the only source is the given peer.

SOURCE_IP (any 127.x.y.z on Linux) is the address the leecher listens on and dials from. Give each
leech its own: transmission-daemon keys what it knows about a peer by IP address alone, marks the
address a seed once a leecher finishes, and from then on, being a seed itself, drops every
connection from that address ("another seed tried to reconnect to us!" in its handshake log for an
encrypted handshake; a plaintext one is closed at its next peer pulse as a seed-to-seed link). So a
second leecher from 127.0.0.1 never gets a byte from it.

On stderr the leecher reports "first_byte SECONDS": when the first piece data arrived (the wait for
the connection and the seeder's unchoke), a part of the printed total.

LT_TIMEOUT (seconds, default 600): the leecher gives up, prints "timeout ..." on stderr and exits 1.

For bench/flash-crowd.sh (all optional, unset = as above):
  seed:  LT_UPLOAD_RATE   upload cap in bytes/s, applied to loopback peers too (libtorrent exempts
                          local peers from its limits unless every address is put in the global
                          peer class)
         LT_STATS         file rewritten every 0.1 s with the payload bytes uploaded so far
         LT_SUPER_SEED=1  libtorrent's own super-seeding (BEP 16)
  leech: LT_GO            wait, torrent added and paused, until this file exists; the time counts
                          from then (so the crowd starts together, Python start-up excluded)
         LT_PEERS         more HOST:PORT peers to dial besides the first (comma-separated): the
                          other listeners, as a tracker would hand them out
         LT_LISTEN_PORT   the port to listen on (default: any), so the others can dial it
         LT_LINGER        once complete, keep seeding to the others until this file exists
                          (prints "ready" on stderr when the torrent is added, for LT_GO)
"""
import json
import os
import sys
import time

import libtorrent as lt


def session(interface, source_ip=None):
    settings = {
        "listen_interfaces": interface,
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "enable_incoming_utp": False, "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
    }
    if source_ip:
        # Outgoing connections would otherwise come from 127.0.0.1 whatever the listen address.
        settings["outgoing_interfaces"] = source_ip
    return lt.session(settings)


def torrent(path):
    ti = lt.torrent_info(path)
    ti.set_web_seeds([])
    return ti


def main():
    mode, path, save = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "seed":
        ses = session(f"127.0.0.1:{int(sys.argv[4])}")
        rate = int(os.environ.get("LT_UPLOAD_RATE", "0"))
        if rate > 0:
            ses.apply_settings({"upload_rate_limit": rate})
            f = lt.ip_filter()
            f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
            ses.set_peer_class_filter(f)
        flags = lt.torrent_flags.super_seeding if os.environ.get("LT_SUPER_SEED") == "1" else 0
        # No trackers either: announced to the gateway's tracker, this seeder would be handed to
        # Seedcast's seeder (seeders hear of other seeders) and through its PEX to its listeners.
        h = ses.add_torrent({"ti": torrent(path), "save_path": save, "flags": flags | lt.torrent_flags.paused})
        h.replace_trackers([])
        h.resume()
        while not h.status().is_seeding:
            time.sleep(0.05)
        print("seeding", flush=True)
        stats = os.environ.get("LT_STATS")
        while True:
            if stats:
                with open(stats + ".tmp", "w") as f:
                    print(h.status().total_payload_upload, file=f)
                os.replace(stats + ".tmp", stats)
            time.sleep(0.1 if stats else 3600)
    host, port = sys.argv[4].rsplit(":", 1)
    source_ip = sys.argv[5] if len(sys.argv) > 5 else None
    listen_port = int(os.environ.get("LT_LISTEN_PORT", "0"))
    ses = session(f"{source_ip or '127.0.0.1'}:{listen_port}", source_ip)
    ti = torrent(path)
    # Added paused so the torrent's trackers can be dropped before any announce: they would
    # otherwise lead to the other seeders of this benchmark.
    h = ses.add_torrent({"ti": ti, "save_path": save, "flags": lt.torrent_flags.paused})
    h.replace_trackers([])
    go = os.environ.get("LT_GO")
    if go:
        print("ready", file=sys.stderr, flush=True)
        while not os.path.exists(go):
            time.sleep(0.005)
    start = time.monotonic()
    h.resume()
    h.connect_peer((host, int(port)))
    others = [p.rsplit(":", 1) for p in os.environ.get("LT_PEERS", "").split(",") if p]
    for oh, op in others:
        h.connect_peer((oh, int(op)))
    deadline = start + float(os.environ.get("LT_TIMEOUT", "600"))
    retry = start + 2
    first = None
    # LT_SOURCES_LOG=FILE: bytes received per source (the seeder by address, listeners together)
    # are appended to FILE, to check a seeder's own count of what it sent against.
    sources_log = os.environ.get("LT_SOURCES_LOG")
    seen = {}
    next_peek = start
    while True:
        st = h.status()
        now = time.monotonic()
        if first is None and st.total_payload_download > 0:
            first = now - start
        if sources_log and (st.is_seeding or now >= next_peek):
            # Not on every poll: forty listeners reading forty peers fifty times a second load
            # a small machine as much as the download does.
            for p in h.get_peer_info():
                seen[p.ip] = max(seen.get(p.ip, 0), p.total_download)
            next_peek = now + 0.2
        if st.is_seeding:
            break
        if now > deadline:
            got = "never" if first is None else f"{first:.2f} s"
            print(f"timeout after {now - start:.0f} s: progress {st.progress:.4f}, "
                  f"{st.num_peers} peers, first byte {got}", file=sys.stderr)
            return 1
        # A lost or refused connection is re-dialled, not more often than every 2 s.
        if now > retry and st.num_peers == 0:
            h.connect_peer((host, int(port)))
            retry = now + 2
        time.sleep(0.02)
    print(f"{time.monotonic() - start:.4f}", flush=True)
    print(f"first_byte {first:.4f}", file=sys.stderr, flush=True)
    if sources_log:
        by = {}
        for (ip, p), n in seen.items():
            key = f"{ip}:{p}" if ip == host else "listeners"
            by[key] = by.get(key, 0) + n
        with open(sources_log, "a") as f:
            print(port, json.dumps(by), file=f)
    linger = os.environ.get("LT_LINGER")
    while linger and not os.path.exists(linger) and time.monotonic() < deadline:
        time.sleep(0.02)
    return 0


if __name__ == "__main__":
    sys.exit(main())
