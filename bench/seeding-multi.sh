#!/usr/bin/env bash
# Target 3, second half: four libtorrent leechers (bench/lt.py leech, TCP only, each its own
# process and port) downloading the same episode at the same time from (a) Seedcast's seeder and
# (b) a libtorrent-rasterbar seeder (bench/lt.py seed), set up as in bench/seeding.sh, runs
# interleaved. transmission-daemon is left out: it hangs with a loopback leecher here.
#
# The leechers must fetch from the seeder only, or the seeder is not what is measured. lt.py adds
# one peer by address and drops trackers, web seeds, DHT and LSD, but libtorrent loads its ut_pex
# plugin by default, and both seeders send PEX: a leecher would learn the others' listen ports and
# trade pieces with them. So each leecher runs lt.py's own main() with a session made without the
# default plugins (no ut_pex; ut_metadata is not needed with a .torrent). PEX=1 keeps lt.py exactly
# as it is, to see the difference. Either way every run samples the leechers' TCP connections
# (ss -tnp) and reports any between two leechers.
#
# Prints per seeder: wall seconds until the last leecher finishes, aggregate MB/s (LEECHERS x SIZE
# over that time), each leecher's seconds, fairness (slowest / fastest and Jain's index over the
# leechers' rates), seeder CPU ms per MiB sent; then the ratio of medians (libtorrent / Seedcast
# aggregate time, >= 1.0 means Seedcast is at least as fast).
source "$(dirname "$0")/lib.sh"
/usr/bin/python3 -c 'import libtorrent' || { echo "bench: apt-get install python3-libtorrent" >&2; exit 1; }
need ss iproute2
SIZE=${SIZE:-268435456}
RUNS=${RUNS:-3}
LEECHERS=${LEECHERS:-4}
PEX=${PEX:-0}
build_seedcast
build_origin
machine
seed_both 18540 16940 18541
for _ in $(seq 600); do grep -q seeding "$WORK/ltseed.out" && break; sleep 0.2; done
grep -q seeding "$WORK/ltseed.out" || { echo "bench: libtorrent never verified the file" >&2; exit 1; }

# leecher runs lt.py (its argv) with PEX off unless PEX=1.
leecher() {
	if [ "$PEX" = 1 ]; then
		exec /usr/bin/python3 "$ROOT/bench/lt.py" "$@"
	fi
	exec /usr/bin/python3 -B -c '
import sys
sys.path.insert(0, sys.argv[1])
import libtorrent
import lt as ltpy

class NoDefaultPlugins:
    """libtorrent, but sessions start without the default plugins, so without ut_pex."""
    def __getattr__(self, name):
        return getattr(libtorrent, name)
    def session(self, settings):
        return libtorrent.session(settings, 0)

ltpy.lt = NoDefaultPlugins()
sys.argv = ["lt.py"] + sys.argv[2:]
sys.exit(ltpy.main())
' "$ROOT/bench" "$@"
}

# sample_conns SEEDER_PORT OUT PID... appends, until killed, each established TCP connection of
# the given leecher processes that does not have the seeder's port at either end.
sample_conns() {
	local port=$1 out=$2
	shift 2
	local re
	re=$(printf 'pid=%s,|' "$@")
	re=${re%|}
	while :; do
		ss -tnpH state established 2>/dev/null |
			grep -E "$re" |
			awk -v p=":$port" '$3 !~ p"$" && $4 !~ p"$" { print $3, $4 }' >>"$out" || true
		sleep 0.2
	done
}

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # utime + stime, clock ticks
hz=$(getconf CLK_TCK)
for n in seedcast libtorrent; do
	for k in wall agg each fair jain cpu cross; do : >"$WORK/${n}_$k.txt"; done
done
# swarm NAME SEEDER_PID SEEDER_PORT: one run of LEECHERS leechers started together.
swarm() {
	local name=$1 spid=$2 port=$3 pids=() i
	for i in $(seq "$LEECHERS"); do rm -rf "$WORK/leech$i"; mkdir -p "$WORK/leech$i"; done
	sync # the previous run's downloads must not be written back during this one
	: >"$WORK/conns.txt"
	local c0 s e
	c0=$(cpu "$spid")
	s=$EPOCHREALTIME
	for i in $(seq "$LEECHERS"); do
		leecher leech "$WORK/ep.torrent" "$WORK/leech$i" "127.0.0.1:$port" >"$WORK/leech$i.out" 2>"$WORK/leech$i.err" &
		pids+=($!)
	done
	sample_conns "$port" "$WORK/conns.txt" "${pids[@]}" &
	local sampler=$!
	local failed=0
	for p in "${pids[@]}"; do wait "$p" || failed=1; done
	e=$EPOCHREALTIME
	local c1
	c1=$(cpu "$spid")
	kill "$sampler"
	wait "$sampler" 2>/dev/null || true
	[ "$failed" = 0 ] || { echo "bench: a $name leecher failed:" >&2; cat "$WORK"/leech*.err >&2; exit 1; }
	for i in $(seq "$LEECHERS"); do
		cmp -s "$media" "$WORK/leech$i/$(basename "$media")" || { echo "bench: $name leecher $i got different bytes" >&2; exit 1; }
	done
	# Each connection is seen from both of its ends: count it once.
	sort -u "$WORK/conns.txt" | awk '{ a = $1 < $2 ? $1 " " $2 : $2 " " $1; print a }' | sort -u | wc -l >>"$WORK/${name}_cross.txt"
	cat "$WORK"/leech*.out | python3 -c '
import sys
s, e, n, size, hz, c0, c1, name, work = sys.argv[1:]
ts = [float(l) for l in sys.stdin if l.strip()]
n, size = int(n), int(size)
assert len(ts) == n, ts
wall = float(e) - float(s)
rates = [size / t for t in ts]
jain = sum(rates) ** 2 / (n * sum(r * r for r in rates))
def put(k, v):
    with open(f"{work}/{name}_{k}.txt", "a") as f:
        print(v, file=f)
put("wall", f"{wall:.4f}")
put("agg", f"{n * size / wall / 1e6:.2f}")
put("fair", f"{max(ts) / min(ts):.3f}")
put("jain", f"{jain:.4f}")
put("cpu", f"{(int(c1) - int(c0)) * 1000 / int(hz) / (n * size / 1048576):.3f}")
put("each", " ".join(f"{t:.3f}" for t in sorted(ts)))
' "$s" "$e" "$LEECHERS" "$SIZE" "$hz" "$c0" "$c1" "$name" "$WORK"
	echo "run $name: wall $(tail -1 "$WORK/${name}_wall.txt") s, leechers $(tail -1 "$WORK/${name}_each.txt") s, leecher-to-leecher connections $(tail -1 "$WORK/${name}_cross.txt"), load $(cut -d' ' -f1-3 /proc/loadavg)"
}
for i in $(seq "$RUNS"); do
	swarm seedcast "$GATEWAY_PID" 16940
	swarm libtorrent "$LT_PID" 18541
done
for i in $(seq "$LEECHERS"); do rm -rf "$WORK/leech$i"; done
echo "$LEECHERS libtorrent leechers at once, $SIZE bytes each, TCP, PEX=$PEX"
echo "wall seconds until the last leecher finished (lower is better)"
stats "$WORK/seedcast_wall.txt" "$WORK/libtorrent_wall.txt"
echo "aggregate MB/s (higher is better)"
stats "$WORK/seedcast_agg.txt" "$WORK/libtorrent_agg.txt"
echo "slowest / fastest leecher (1.0 is fair)"
stats "$WORK/seedcast_fair.txt" "$WORK/libtorrent_fair.txt"
echo "Jain's fairness index over leecher rates (1.0 is fair)"
stats "$WORK/seedcast_jain.txt" "$WORK/libtorrent_jain.txt"
echo "seeder CPU ms per MiB sent (lower is better)"
stats "$WORK/seedcast_cpu.txt" "$WORK/libtorrent_cpu.txt"
echo "leecher-to-leecher connections seen per run: seedcast $(paste -sd, "$WORK/seedcast_cross.txt"), libtorrent $(paste -sd, "$WORK/libtorrent_cross.txt")"
