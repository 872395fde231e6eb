# Shared helpers for the bench/ scripts: sourced, not run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${BENCH_DIR:-$(mktemp -d /tmp/seedcast-bench.XXXXXX)}


# build_seedcast builds the binary under test into $WORK/seedcast.
build_seedcast() {
	(cd "$ROOT" && go build -o "$WORK/seedcast" ./cmd/seedcast)
}

# need fails early, naming the Debian package, when a peer tool is missing.
need() {
	command -v "$1" >/dev/null || { echo "bench: $1 not installed (apt-get install $2)" >&2; exit 1; }
}

# timed CMD... runs CMD quietly and prints its wall time in seconds.
timed() {
	local s=$EPOCHREALTIME
	"$@" >/dev/null 2>&1
	local e=$EPOCHREALTIME
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.6f\n", e - s }'
}

# make_file PATH BYTES writes pseudo-random bytes once and reuses them across runs.
make_file() {
	if [ ! -f "$1" ] || [ "$(stat -c %s "$1")" != "$2" ]; then
		head -c "$2" /dev/urandom >"$1"
		sync "$1" # so writeback does not run during the first timings
	fi
	cat "$1" >/dev/null # warm the page cache
}

# stats NAME FILE... prints median, min and max of the numbers (one per line) in each file and,
# for two or more, the ratio of the first median to each other's.
stats() {
	python3 - "$@" <<'PY'
import statistics, sys
files = sys.argv[1:]
meds, runs = [], []
for f in files:
    xs = [float(l) for l in open(f) if l.strip()]
    m = statistics.median(xs)
    meds.append(m)
    runs.append(xs)
    print(f"{f.rsplit('/',1)[-1]:<28} n={len(xs):<3} median={m:.4f} min={min(xs):.4f} max={max(xs):.4f}")
for f, m, xs in zip(files[1:], meds[1:], runs[1:]):
    line = f"ratio {f.rsplit('/',1)[-1]} / {files[0].rsplit('/',1)[-1]} = {m/meds[0]:.2f}"
    # Runs are interleaved, so run i of each was measured under the same conditions: the median
    # of the per-run ratios is less sensitive to drift in the machine's load than the ratio of
    # medians.
    if len(xs) == len(runs[0]) and len(xs) > 1 and all(runs[0]):
        line += f" (paired: median {statistics.median(x / y for x, y in zip(xs, runs[0])):.2f})"
    print(line)
PY
}

machine() {
	echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/{print $2}') GiB RAM, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3)"
}

# build_origin builds the local podcast origin (bench/origin) into $WORK/origin.
build_origin() {
	(cd "$ROOT" && go build -o "$WORK/origin" ./bench/origin)
}

PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

# start_origin ARGS... starts the origin and sets ORIGIN to its base URL.
start_origin() {
	"$WORK/origin" "$@" >"$WORK/origin.out" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do
		ORIGIN=$(sed -n 's/^listening //p' "$WORK/origin.out")
		[ -n "$ORIGIN" ] && return 0
		sleep 0.05
	done
	echo "bench: origin did not start" >&2; cat "$WORK/origin.out" >&2; exit 1
}

# write_config DIR HTTP_PORT PEER_PORT FEED_URL writes DIR/config.yaml for one feed, making
# torrents of TORRENT_FORMAT (hybrid, the default, or v1), with the seeder's upload capped at
# UPLOAD_RATE_LIMIT bytes/s (initial seeding off with INITIAL_SEEDING=false) and /metrics
# served on METRICS_LISTEN when those are set.
write_config() {
	mkdir -p "$1"
	cat >"$1/config.yaml" <<YAML
data_dir: $1/data
http:
  listen: 127.0.0.1:$2
${METRICS_LISTEN:+  metrics_listen: $METRICS_LISTEN}
seedbox:
  peer_port: $3
${UPLOAD_RATE_LIMIT:+  upload_rate_limit: $UPLOAD_RATE_LIMIT}
${INITIAL_SEEDING:+  initial_seeding: $INITIAL_SEEDING}
  disable_utp: true
  dht: false                      # benchmarks stay on this machine
  torrent_format: ${TORRENT_FORMAT:-hybrid}
tracker:
  udp_listen: "off"
fetch:
  allow_private_networks: true
schedule:
  poll: "@every 24h"
  scrape: "@every 24h"
demo: false
feeds:
  - slug: show
    url: $4
YAML
}

# start_gateway DIR starts `seedcast serve` on DIR/config.yaml, logging to DIR/log, and sets
# GATEWAY_PID.
start_gateway() {
	"$WORK/seedcast" serve -config "$1/config.yaml" >"$1/log" 2>&1 &
	GATEWAY_PID=$!
	PIDS+=($GATEWAY_PID)
}

stop_gateway() {
	kill "$GATEWAY_PID" 2>/dev/null || true
	wait "$GATEWAY_PID" 2>/dev/null || true
}

# wait_items URL N [TIMEOUT_S] polls a feed until it lists N enclosures.
wait_items() {
	local deadline=$((SECONDS + ${3:-600}))
	while [ "$SECONDS" -lt "$deadline" ]; do
		if [ "$(curl -sf "$1" 2>/dev/null | grep -c '<enclosure' || true)" -ge "$2" ]; then return 0; fi
		sleep 0.02
	done
	echo "bench: $1 never listed $2 items" >&2; return 1
}

# seed_both HTTP_PORT PEER_PORT LT_PORT: a real gateway ingests a $SIZE-byte episode from the local
# origin, and a libtorrent seeder (bench/lt.py) shares the same .torrent and file on LT_PORT.
# Sets g (gateway dir), media (the file under the torrent's name, in mdir), mdir, LT_PID and
# $WORK/ep.torrent.
seed_both() {
	local http=$1 peer=$2 ltport=$3
	f=$WORK/episode.bin
	make_file "$f" "$SIZE"
	start_origin -file "$f"
	g=$WORK/gw
	rm -rf "$g"
	write_config "$g" "$http" "$peer" "$ORIGIN/feed.xml"
	start_gateway "$g"
	wait_items "http://127.0.0.1:$http/feeds/show.rss" 1
	local ih
	ih=$(curl -sf "http://127.0.0.1:$http/feeds/show.rss" | grep -o 'btih:[0-9a-f]\{40\}' | head -1 | cut -c6-)
	curl -sf -o "$WORK/ep.torrent" "http://127.0.0.1:$http/torrents/$ih.torrent"
	# The gateway stores the file under its own name (a prefix before the enclosure's name); the
	# other seeders look for the torrent's name, so they get a hard link by that name.
	local stored name
	stored=$(ls "$g"/data/media/show/*)
	name=$(/usr/bin/python3 -c 'import sys, libtorrent as lt; print(lt.torrent_info(sys.argv[1]).name())' "$WORK/ep.torrent")
	mdir=$WORK/seed
	rm -rf "$mdir"
	mkdir -p "$mdir"
	ln "$stored" "$mdir/$name" 2>/dev/null || cp "$stored" "$mdir/$name"
	media=$mdir/$name
	/usr/bin/python3 "$ROOT/bench/lt.py" seed "$WORK/ep.torrent" "$mdir" "$ltport" >"$WORK/ltseed.out" 2>&1 &
	LT_PID=$!
	PIDS+=($LT_PID)
}

# start_gateway_off HTTP_PORT PEER_PORT ON_HTTP_PORT: a second gateway ($WORK/gw-off) on the same
# origin with seedbox.initial_seeding off (issue 17's "no slower than without it", measured in one
# run), checked to have made the same torrent as the gateway on ON_HTTP_PORT. Sets OFF_PID and
# leaves GATEWAY_PID the first gateway's. METRICS_LISTEN and UPLOAD_RATE_LIMIT apply as for
# write_config.
start_gateway_off() {
	local on_pid=$GATEWAY_PID d=$WORK/gw-off ih_on ih_off
	rm -rf "$d"
	INITIAL_SEEDING=false write_config "$d" "$1" "$2" "$ORIGIN/feed.xml"
	start_gateway "$d"
	OFF_PID=$GATEWAY_PID GATEWAY_PID=$on_pid
	wait_items "http://127.0.0.1:$1/feeds/show.rss" 1
	ih_on=$(curl -sf "http://127.0.0.1:$3/feeds/show.rss" | grep -o 'btih:[0-9a-f]\{40\}' | head -1)
	ih_off=$(curl -sf "http://127.0.0.1:$1/feeds/show.rss" | grep -o 'btih:[0-9a-f]\{40\}' | head -1)
	[ "$ih_on" = "$ih_off" ] || { echo "bench: the two gateways made different torrents ($ih_on, $ih_off)" >&2; exit 1; }
}

# start_transmission PEER_PORT RPC_PORT [UP_LIMIT_BYTES]: transmission-daemon ($WORK/tr) seeding
# $WORK/ep.torrent from $mdir, once it has verified the file. Its defaults except: no DHT, LSD,
# PEX, uTP or port forwarding (the bench's peers are its only peers, TCP only, as for the other
# seeders), RPC open on loopback, no ratio limit, and uploads capped at UP_LIMIT_BYTES/s when
# given (its speed units are kB/s of 1000 bytes; it has no exemption for local peers). v1
# torrents only: transmission 3.00 refuses hybrids. Sets TR_PID.
start_transmission() {
	local limit=${3:-0}
	rm -rf "$WORK/tr" # no settings, resume data or remembered peers from an earlier BENCH_DIR run
	mkdir -p "$WORK/tr"
	cat >"$WORK/tr/settings.json" <<JSON
{"dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
 "port-forwarding-enabled": false, "peer-port": $1, "rpc-port": $2, "rpc-authentication-required": false,
 "rpc-whitelist-enabled": false, "download-dir": "$mdir",
 "speed-limit-up-enabled": $([ "$limit" -gt 0 ] && echo true || echo false), "speed-limit-up": $((limit / 1000)),
 "ratio-limit-enabled": false, "encryption": 1, "message-level": 2}
JSON
	transmission-daemon -f -g "$WORK/tr" >"$WORK/tr.log" 2>&1 &
	TR_PID=$!
	PIDS+=($TR_PID)
	for _ in $(seq 100); do transmission-remote "$2" -l >/dev/null 2>&1 && break; sleep 0.1; done
	transmission-remote "$2" -a "$WORK/ep.torrent" -w "$mdir" >/dev/null
	for _ in $(seq 600); do transmission-remote "$2" -t all -i | grep -q 'Percent Done: 100%' && break; sleep 0.2; done
	transmission-remote "$2" -t all -i | grep -q 'Percent Done: 100%' || { echo "bench: transmission never verified the file" >&2; exit 1; }
}
