#!/usr/bin/env bash
# Target 7: HTTP /announce of Seedcast's embedded tracker vs opentracker (Debian build, allow-list
# of the same hashes), both driven by wrk with announce.lua (compact, 1,000 torrents, 50,000 peers
# with random peer ids), 2 threads, 64 connections, interleaved. Seedcast's 1,000 torrents are real:
# it ingests a 1,000-item show from the local origin first. Prints announces per second and the
# ratio Seedcast / opentracker (target >= 0.5), and each tracker's RSS after the runs.
source "$(dirname "$0")/lib.sh"
need wrk wrk
need opentracker opentracker
TORRENTS=${TORRENTS:-1000}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
build_seedcast
build_origin
machine
start_origin -items "$TORRENTS" -item-size 1024
g=$WORK/gw
rm -rf "$g"
write_config "$g" 18500 16900 "$ORIGIN/feed.xml"
start_gateway "$g"
wait_items "http://127.0.0.1:18500/feeds/show.rss" "$TORRENTS" 1800
curl -sf "http://127.0.0.1:18500/feeds/show.rss" | grep -o 'btih:[0-9a-f]\{40\}' | cut -c6- | sort -u >"$WORK/hashes.txt"
echo "torrents: $(wc -l <"$WORK/hashes.txt")"

# Debian's opentracker is built allow-list only: the list path is relative to -d.
mkdir -p "$WORK/ot"
cp "$WORK/hashes.txt" "$WORK/ot/whitelist"
opentracker -i 127.0.0.1 -p 18510 -P 18510 -d "$WORK/ot" -w whitelist >"$WORK/ot.log" 2>&1 &
OT_PID=$!
PIDS+=($OT_PID)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:18510/stats" && break; sleep 0.05; done

rss() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
OT_RSS0=$(rss "$OT_PID"); SC_RSS0=$(rss "$GATEWAY_PID")
: >"$WORK/opentracker.txt"; : >"$WORK/seedcast.txt"
run_wrk() {
	HASHES=$WORK/hashes.txt wrk -t2 -c64 -d"$DURATION" -s "$ROOT/bench/announce.lua" "$1" >"$WORK/wrk.out"
	if ! grep -q '^bad_responses 0$' "$WORK/wrk.out" || grep -q 'Non-2xx' "$WORK/wrk.out"; then
		echo "bench: $2 gave failures:" >&2; cat "$WORK/wrk.out" >&2; exit 1
	fi
	awk '/Requests\/sec/ { print $2 }' "$WORK/wrk.out" >>"$WORK/$2.txt"
	grep -E 'Latency|Requests/sec' "$WORK/wrk.out" | sed "s/^/  $2 /"
}
for i in $(seq "$RUNS"); do
	run_wrk http://127.0.0.1:18510 opentracker
	run_wrk http://127.0.0.1:18500 seedcast
done
echo "announces per second (higher is better)"
stats "$WORK/opentracker.txt" "$WORK/seedcast.txt"
OT_RSS1=$(rss "$OT_PID"); SC_RSS1=$(rss "$GATEWAY_PID")
echo "RSS kB before -> after (50,000 peers): opentracker $OT_RSS0 -> $OT_RSS1, seedcast $SC_RSS0 -> $SC_RSS1"
awk -v a="$OT_RSS0" -v b="$OT_RSS1" -v c="$SC_RSS0" -v d="$SC_RSS1" 'BEGIN {
	printf "bytes per peer (RSS growth / 50,000): opentracker %.0f, seedcast %.0f\n", (b - a) * 1024 / 50000, (d - c) * 1024 / 50000 }'
