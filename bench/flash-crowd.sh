#!/usr/bin/env bash
# Issue 17: a flash crowd. bench/flash-crowd.sh LEECHERS SIZE RATE
#
# LEECHERS libtorrent listeners (bench/lt.py leech, TCP only, each its own process and loopback
# address) start together on a fresh SIZE-byte episode seeded by (a) Seedcast's seeder (a real
# gateway, `seedcast serve`, seedbox.upload_rate_limit = RATE) and (b) a libtorrent-rasterbar
# seeder (bench/lt.py seed) capped at RATE with its local-peer exemption removed (every address in
# the global peer class), both seeding the same .torrent and file (set up as in bench/seeding.sh),
# runs alternating, and (c) transmission-daemon with its upload capped at RATE where it runs (v1
# torrents: TORRENT_FORMAT=v1). Web seeds and trackers are removed.
#
# The listeners trade with each other: each dials the seeder and every other listener, as a
# tracker would hand them out (KNOWN=0: the seeder only, so they find each other by PEX alone).
# Their own uploads are not capped: the seeder's upload is the bottleneck, as for a small VPS.
# Each listener keeps seeding to the others until every one is complete. The clock starts when all
# of them have the torrent added (Python start-up excluded) and stops when the last completes.
#
# Prints per seeder: seconds until all complete, that over the floor (SIZE / RATE, the least time
# in which the seeder can send every piece once), copies sent (seeder payload bytes uploaded over
# the run / SIZE; a perfect seeder sends 1), and the ratio libtorrent / Seedcast time (>= 1.5 is
# the issue's target). LT_SUPER_SEED=1 turns on libtorrent's own super-seeding for its seeder;
# INITIAL=0 turns Seedcast's seedbox.initial_seeding (on by default) off. WITH_OFF=1 adds a third
# seeder to the alternation: a second gateway with initial seeding off (seedcast_off), making the
# same torrent from the same origin, so "no slower than without initial seeding" is a ratio
# measured in one run.
source "$(dirname "$0")/lib.sh"
/usr/bin/python3 -c 'import libtorrent' || { echo "bench: apt-get install python3-libtorrent" >&2; exit 1; }
[ $# = 3 ] || { echo "usage: bench/flash-crowd.sh LEECHERS SIZE RATE" >&2; exit 2; }
LEECHERS=$1
SIZE=$2
RATE=$3
RUNS=${RUNS:-3}
KNOWN=${KNOWN:-1}
[ "$LEECHERS" -ge 1 ] && [ "$LEECHERS" -le 200 ] || { echo "bench: LEECHERS 1-200" >&2; exit 2; }
[ "$RUNS" -le 60 ] || { echo "bench: RUNS at most 60 (one address block per run and seeder)" >&2; exit 2; }
port_of() { case $1 in seedcast) echo 16950 ;; seedcast_off) echo 16960 ;; libtorrent) echo 18551 ;; transmission) echo 18572 ;; esac; }
export LT_TIMEOUT=${LT_TIMEOUT:-$((SIZE / RATE * 10 + 120))}
build_seedcast
build_origin
machine
# RATE 1000000000 or more means no cap at all: no seedbox.upload_rate_limit (so the gateway's
# initial seeding reveals, as it does for operators who set no cap), no libtorrent or
# transmission limit. The floor figure is then SIZE / RATE, not a physical floor.
capped=$([ "$RATE" -lt 1000000000 ] && echo "$RATE" || true)
# seed_both's libtorrent seeder (lt.py seed) reads its cap and where to report its uploads from
# these; the leechers ignore them.
export LT_UPLOAD_RATE=${capped:-0} LT_STATS=$WORK/ltseed.stats
rm -f "$LT_STATS"
INITIAL_SEEDING=$([ "${INITIAL:-1}" = 0 ] && echo false) METRICS_LISTEN=127.0.0.1:18553 UPLOAD_RATE_LIMIT=$capped seed_both 18550 16950 18551
seeders="seedcast libtorrent"
if [ "${WITH_OFF:-0}" = 1 ]; then
	[ "${INITIAL:-1}" = 1 ] || { echo "bench: WITH_OFF=1 compares against INITIAL=1" >&2; exit 2; }
	METRICS_LISTEN=127.0.0.1:18563 UPLOAD_RATE_LIMIT=$capped start_gateway_off 18560 16960 18550
	seeders="seedcast seedcast_off libtorrent"
fi
# transmission-daemon, where it runs (TRANSMISSION=0 leaves it out; v1 torrents only).
if [ "${TRANSMISSION:-1}" = 1 ] && command -v transmission-daemon >/dev/null && [ "${TORRENT_FORMAT:-hybrid}" = v1 ]; then
	start_transmission 18572 18573 "${capped:-0}"
	seeders+=" transmission"
fi
# tr_rpc JSON: one call to transmission-daemon's RPC (its session id first).
tr_rpc() {
	local sid
	sid=$(curl -s -o /dev/null -D - http://127.0.0.1:18573/transmission/rpc | tr -d '\r' | sed -n 's/^X-Transmission-Session-Id: //p')
	curl -sf -H "X-Transmission-Session-Id: $sid" -d "$1" http://127.0.0.1:18573/transmission/rpc
}
for _ in $(seq 600); do grep -q seeding "$WORK/ltseed.out" && [ -s "$WORK/ltseed.stats" ] && break; sleep 0.2; done
grep -q seeding "$WORK/ltseed.out" || { echo "bench: libtorrent never verified the file" >&2; exit 1; }

# uploaded NAME prints the seeder's payload bytes uploaded so far.
uploaded() {
	case $1 in
	seedcast) curl -sf http://127.0.0.1:18553/metrics | awk -v m="${SEEDCAST_COUNTER:-seedcast_seeder_uploaded_bytes_total}" '$1 == m { printf "%d\n", $2 }' ;;
	seedcast_off) curl -sf http://127.0.0.1:18563/metrics | awk -v m="${SEEDCAST_COUNTER:-seedcast_seeder_uploaded_bytes_total}" '$1 == m { printf "%d\n", $2 }' ;;
	libtorrent) cat "$WORK/ltseed.stats" ;;
	transmission) tr_rpc '{"method":"torrent-get","arguments":{"fields":["uploadedEver"]}}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["arguments"]["torrents"][0]["uploadedEver"])' ;;
	esac
}
for _ in $(seq 100); do [ -n "$(uploaded seedcast)" ] && break; sleep 0.1; done
[ -n "$(uploaded seedcast)" ] || {
	echo "bench: no seedcast_seeder_uploaded_bytes_total on /metrics:" >&2
	curl -sS http://127.0.0.1:18553/metrics 2>&1 | grep -i upload >&2
	exit 1
}

for n in $seeders; do
	for k in all floor copies received each onecopy; do : >"$WORK/${n}_$k.txt"; done
done
# crowd NAME PORT BLOCK: one run; listener i listens on and dials from 127.0.BLOCK.i.
crowd() {
	local name=$1 port=$2 block=$3 pids=() i peers=""
	for i in $(seq "$LEECHERS"); do
		rm -rf "$WORK/leech$i"
		mkdir -p "$WORK/leech$i"
		peers+="127.0.$block.$i:$((20000 + i)),"
	done
	rm -f "$WORK/go" "$WORK/linger" "$WORK/sources.log"
	sync # the previous run's downloads must not be written back during this one
	local u0
	u0=$(uploaded "$name")
	for i in $(seq "$LEECHERS"); do
		local others=""
		[ "$KNOWN" = 1 ] && others=$(tr ',' '\n' <<<"$peers" | grep -v "^127.0.$block.$i:" | paste -sd,)
		LT_GO=$WORK/go LT_LINGER=$WORK/linger LT_PEERS=$others LT_LISTEN_PORT=$((20000 + i)) LT_SOURCES_LOG=$WORK/sources.log \
			/usr/bin/python3 "$ROOT/bench/lt.py" leech "$WORK/ep.torrent" "$WORK/leech$i" "127.0.0.1:$port" "127.0.$block.$i" \
			>"$WORK/leech$i.out" 2>"$WORK/leech$i.err" &
		pids+=($!)
	done
	for i in $(seq "$LEECHERS"); do
		for _ in $(seq 3000); do grep -q '^ready' "$WORK/leech$i.err" 2>/dev/null && break; sleep 0.01; done
	done
	touch "$WORK/go"
	# When the seeder had sent one copy: the end of the first round, whatever came after it.
	(
		local t0=$EPOCHREALTIME
		while [ ! -e "$WORK/linger" ]; do
			echo "$(awk -v s="$t0" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.2f", e - s }') $(uploaded "$name")"
			sleep 0.1
		done
	) >"$WORK/timeline.txt" 2>/dev/null &
	local sampler=$!
	local failed=0 done_n
	while :; do
		done_n=0
		for i in $(seq "$LEECHERS"); do [ -s "$WORK/leech$i.out" ] && done_n=$((done_n + 1)); done
		[ "$done_n" = "$LEECHERS" ] && break
		# A listener that exited without printing its time failed.
		local alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
		[ "$alive" = 0 ] && { failed=1; break; }
		sleep 0.05
	done
	sleep 0.5 # let the last writes the seeder counted settle
	local u1
	u1=$(uploaded "$name")
	touch "$WORK/linger"
	wait "$sampler" || true
	awk -v u0="$u0" -v size="$SIZE" '$2 != "" && $2 - u0 >= size { print $1; found = 1; exit } END { if (!found) print "never" }' \
		"$WORK/timeline.txt" >>"$WORK/${name}_onecopy.txt"
	for p in "${pids[@]}"; do wait "$p" || failed=1; done
	[ "$failed" = 0 ] || { echo "bench: a $name listener failed:" >&2; cat "$WORK"/leech*.err >&2; exit 1; }
	for i in $(seq "$LEECHERS"); do
		cmp -s "$media" "$WORK/leech$i/$(basename "$media")" || { echo "bench: $name listener $i got different bytes" >&2; exit 1; }
	done
	cat "$WORK"/leech*.out | python3 -c '
import json, sys
n, size, rate, u0, u1, name, work, port = sys.argv[1:]
ts = sorted(float(l) for l in sys.stdin if l.strip())
assert len(ts) == int(n), ts
size, rate = int(size), int(rate)
def put(k, v):
    with open(f"{work}/{name}_{k}.txt", "a") as f:
        print(v, file=f)
put("all", f"{ts[-1]:.4f}")
put("floor", f"{ts[-1] / (size / rate):.3f}")
put("copies", f"{(int(u1) - int(u0)) / size:.3f}")
put("each", " ".join(f"{t:.2f}" for t in ts))
# The same figure from the listeners side: what each received from the seeder.
got = sum(json.loads(l.split(" ", 1)[1]).get(f"127.0.0.1:{port}", 0) for l in open(f"{work}/sources.log"))
put("received", f"{got / size:.3f}")
' "$LEECHERS" "$SIZE" "$RATE" "$u0" "$u1" "$name" "$WORK" "$port"
	echo "run $name: all complete $(tail -1 "$WORK/${name}_all.txt") s ($(tail -1 "$WORK/${name}_floor.txt") x floor), copies $(tail -1 "$WORK/${name}_copies.txt") (listeners received $(tail -1 "$WORK/${name}_received.txt") from it), one copy sent at $(tail -1 "$WORK/${name}_onecopy.txt") s, listeners $(tail -1 "$WORK/${name}_each.txt"), load $(cut -d' ' -f1-3 /proc/loadavg)"
}
# Each run starts with the next seeder in turn, so none is always the first after set-up.
read -ra order <<<"$seeders"
block=1
for r in $(seq "$RUNS"); do
	for k in $(seq 0 $((${#order[@]} - 1))); do
		n=${order[$(((r - 1 + k) % ${#order[@]}))]}
		block=$((block + 1))
		crowd "$n" "$(port_of "$n")" "$block"
	done
done
for i in $(seq "$LEECHERS"); do rm -rf "$WORK/leech$i"; done
floor=$(awk -v s="$SIZE" -v r="$RATE" 'BEGIN { printf "%.2f", s / r }')
echo "$LEECHERS listeners, $SIZE bytes, seeder upload $([ -n "$capped" ] && echo "capped at $RATE B/s" || echo "not capped") (floor $floor s), KNOWN=$KNOWN, INITIAL=${INITIAL:-1}, WITH_OFF=${WITH_OFF:-0}, LT_SUPER_SEED=${LT_SUPER_SEED:-0}, $RUNS runs each"
echo "seconds until every listener is complete (lower is better)"
stats $(for n in $seeders; do echo "$WORK/${n}_all.txt"; done)
echo "that time / the floor (target <= 1.5)"
stats $(for n in $seeders; do echo "$WORK/${n}_floor.txt"; done)
echo "copies of the file sent by the seeder (target <= 1.3)"
stats $(for n in $seeders; do echo "$WORK/${n}_copies.txt"; done)
echo "copies the listeners received from the seeder (their count, a check on the seeder's)"
stats $(for n in $seeders; do echo "$WORK/${n}_received.txt"; done)
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
