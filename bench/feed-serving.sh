#!/usr/bin/env bash
# Target 6: the output feed of a 500-item show under wrk at 64 connections (2 threads): requests
# per second and p99 latency (target < 50 ms). The reference peer is the origin itself, a Go
# net/http server sending its pre-built feed bytes (http.ServeContent), on the same machine and
# measured interleaved. ITEMS, RUNS (default 3) and DURATION (default 10s) override defaults.
source "$(dirname "$0")/lib.sh"
need wrk wrk
ITEMS=${ITEMS:-500}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
build_seedcast
build_origin
machine
start_origin -items "$ITEMS"
g=$WORK/gw
rm -rf "$g"
write_config "$g" 18490 16890 "$ORIGIN/feed.xml"
start_gateway "$g"
feed=http://127.0.0.1:18490/feeds/show.rss
wait_items "$feed" "$ITEMS" 900
echo "feed: $(curl -sf "$feed" | wc -c) bytes from Seedcast ($(curl -sf -H 'Accept-Encoding: gzip' "$feed" | wc -c) gzipped), $(curl -sf "$ORIGIN/feed.xml" | wc -c) bytes from the origin"
for n in seedcast seedcast_gzip origin; do : >"$WORK/${n}_rps.txt"; : >"$WORK/${n}_p99ms.txt"; done
# p99 from wrk --latency, converted to milliseconds
bench_wrk() {
	wrk -t2 -c64 -d"$DURATION" --latency "${@:3}" "$1" >"$WORK/wrk.out"
	grep -q 'Non-2xx' "$WORK/wrk.out" && { echo "bench: non-2xx answers from $1" >&2; cat "$WORK/wrk.out" >&2; exit 1; }
	awk '/Requests\/sec/ { print $2 }' "$WORK/wrk.out" >>"$WORK/$2_rps.txt"
	awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
		print (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : v }' "$WORK/wrk.out" >>"$WORK/$2_p99ms.txt"
}
for i in $(seq "$RUNS"); do
	bench_wrk "$feed" seedcast
	# podcatchers send Accept-Encoding: gzip; wrk does not unless told
	bench_wrk "$feed" seedcast_gzip -H "Accept-Encoding: gzip"
	bench_wrk "$ORIGIN/feed.xml" origin
done
echo "requests per second (higher is better)"
stats "$WORK/origin_rps.txt" "$WORK/seedcast_rps.txt" "$WORK/seedcast_gzip_rps.txt"
echo "p99 latency, ms (target < 50 for Seedcast)"
stats "$WORK/origin_p99ms.txt" "$WORK/seedcast_p99ms.txt" "$WORK/seedcast_gzip_p99ms.txt"
echo "gateway RSS after the runs: $(awk '/VmRSS/ { print $2, $3 }' /proc/$GATEWAY_PID/status)"
