#!/usr/bin/env bash
# Target 3: one libtorrent leecher (bench/lt.py, TCP only, no trackers or web seeds) downloading a
# 512 MiB episode over loopback from (a) Seedcast's seeder, (b) a libtorrent-rasterbar seeder and
# (c) transmission-daemon, all seeding the same .torrent and file, runs interleaved. TCP only:
# uTP over loopback is pathological (see /work/shared/GUIDE.md). Prints the download time, the
# ratio of medians (peer / Seedcast, >= 1.0 is the target) and each seeder's CPU per MiB sent.
source "$(dirname "$0")/lib.sh"
need transmission-daemon transmission-daemon
need transmission-remote transmission-cli
/usr/bin/python3 -c 'import libtorrent' || { echo "bench: apt-get install python3-libtorrent" >&2; exit 1; }
SIZE=${SIZE:-536870912}
RUNS=${RUNS:-3}
build_seedcast
build_origin
machine
seed_both 18520 16920 18521

mkdir -p "$WORK/tr"
cat >"$WORK/tr/settings.json" <<JSON
{"dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
 "port-forwarding-enabled": false, "peer-port": 18522, "rpc-port": 18523, "rpc-authentication-required": false,
 "rpc-whitelist-enabled": false, "download-dir": "$mdir", "speed-limit-up-enabled": false,
 "ratio-limit-enabled": false, "message-level": 1}
JSON
transmission-daemon -f -g "$WORK/tr" >"$WORK/tr.log" 2>&1 &
TR_PID=$!
PIDS+=($TR_PID)
for _ in $(seq 100); do transmission-remote 18523 -l >/dev/null 2>&1 && break; sleep 0.1; done
transmission-remote 18523 -a "$WORK/ep.torrent" -w "$mdir" >/dev/null
for _ in $(seq 600); do
	grep -q seeding "$WORK/ltseed.out" && transmission-remote 18523 -t all -i | grep -q 'Percent Done: 100%' && break
	sleep 0.2
done
transmission-remote 18523 -t all -i | grep -q 'Percent Done: 100%' || { echo "bench: transmission never verified the file" >&2; exit 1; }

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # utime + stime, clock ticks
hz=$(getconf CLK_TCK)
for n in seedcast libtorrent transmission; do : >"$WORK/$n.txt"; : >"$WORK/${n}_cpu.txt"; done
leech() { # NAME PID PORT
	rm -rf "$WORK/leech"; mkdir -p "$WORK/leech"
	local c0; c0=$(cpu "$2")
	/usr/bin/python3 "$ROOT/bench/lt.py" leech "$WORK/ep.torrent" "$WORK/leech" "127.0.0.1:$3" >>"$WORK/$1.txt"
	local c1; c1=$(cpu "$2")
	# CPU milliseconds per MiB sent
	awk -v a="$c0" -v b="$c1" -v hz="$hz" -v s="$SIZE" 'BEGIN { printf "%.3f\n", (b - a) * 1000 / hz / (s / 1048576) }' >>"$WORK/$1_cpu.txt"
	cmp -s "$media" "$WORK/leech/$(basename "$media")" || { echo "bench: $1 delivered different bytes" >&2; exit 1; }
}
# PEERS picks who is measured (transmission-daemon has hung with a loopback leecher here).
PEERS=${PEERS:-seedcast libtorrent transmission}
for i in $(seq "$RUNS"); do
	[[ " $PEERS " == *" seedcast "* ]] && leech seedcast "$GATEWAY_PID" 16920
	[[ " $PEERS " == *" libtorrent "* ]] && leech libtorrent "$LT_PID" 18521
	[[ " $PEERS " == *" transmission "* ]] && leech transmission "$TR_PID" 18522
done
rm -rf "$WORK/leech"
echo "seconds to download $SIZE bytes, one libtorrent leecher over TCP (lower is better)"
stats $(for n in $PEERS; do echo "$WORK/$n.txt"; done)
echo "seeder CPU ms per MiB sent (lower is better)"
stats $(for n in $PEERS; do echo "$WORK/${n}_cpu.txt"; done)
