#!/usr/bin/env bash
# Target 6: the output feed of a 500-item show under wrk at 64 connections (2 threads): requests
# per second and p99 latency (target < 50 ms). The reference peer is the origin itself, a Go
# net/http server sending its pre-built feed bytes (http.ServeContent), on the same machine and
# measured interleaved. A second peer, "bare", is the same origin binary writing Seedcast's own
# feed bytes in one write with nothing else in the process: the cost of those bytes on this
# machine. ITEMS, RUNS (default 3) and DURATION (default 10s) override defaults. SIZES="600 800"
# also measures the bare server's p99 on the first N KB of the feed, to show where 50 ms lies.
# PROFILE=1 also takes a CPU profile of the gateway (http.pprof_listen) during one more
# identity-encoded run and prints its top functions, and samples the CPU of wrk and the gateway.
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
[ "${PROFILE:-0}" = 1 ] && sed -i 's/^http:$/http:\n  pprof_listen: 127.0.0.1:18491/' "$g/config.yaml"
start_gateway "$g"
feed=http://127.0.0.1:18490/feeds/show.rss
wait_items "$feed" "$ITEMS" 900
curl -sf -o "$WORK/seedcast-feed.xml" "$feed"
src=$ORIGIN
start_origin -body "$WORK/seedcast-feed.xml"
bare=$ORIGIN/body
ORIGIN=$src
echo "feed: $(curl -sf "$feed" | wc -c) bytes from Seedcast ($(curl -sf -H 'Accept-Encoding: gzip' "$feed" | wc -c) gzipped), $(curl -sf "$ORIGIN/feed.xml" | wc -c) bytes from the origin"
for n in seedcast seedcast_gzip origin bare; do : >"$WORK/${n}_rps.txt"; : >"$WORK/${n}_p99ms.txt"; done
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
	bench_wrk "$bare" bare
done
echo "requests per second (higher is better)"
stats "$WORK/origin_rps.txt" "$WORK/seedcast_rps.txt" "$WORK/seedcast_gzip_rps.txt"
stats "$WORK/bare_rps.txt" "$WORK/seedcast_rps.txt"
echo "p99 latency, ms (target < 50 for Seedcast)"
stats "$WORK/origin_p99ms.txt" "$WORK/seedcast_p99ms.txt" "$WORK/seedcast_gzip_p99ms.txt"
stats "$WORK/bare_p99ms.txt" "$WORK/seedcast_p99ms.txt"
if [ -n "${SIZES:-}" ]; then
	echo "bare server, p99 by body size (one run each)"
	for kb in $SIZES; do
		: >"$WORK/size_rps.txt"; : >"$WORK/size_p99ms.txt"
		bench_wrk "$bare?bytes=$((kb * 1000))" size
		echo "  $kb KB: $(cat "$WORK/size_rps.txt") rps, p99 $(cat "$WORK/size_p99ms.txt") ms"
	done
fi
if [ "${PROFILE:-0}" = 1 ]; then
	secs=${DURATION%s}
	cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
	wrk -t2 -c64 -d"$DURATION" --latency "$feed" >"$WORK/wrk.out" &
	wpid=$!
	sleep 0.5
	g0=$(cpu "$GATEWAY_PID"); w0=$(cpu "$wpid"); t0=$EPOCHREALTIME
	curl -sf -o "$WORK/identity.pprof" "http://127.0.0.1:18491/debug/pprof/profile?seconds=$((secs - 2))"
	g1=$(cpu "$GATEWAY_PID"); w1=$(cpu "$wpid"); t1=$EPOCHREALTIME
	wait "$wpid"
	awk -v g="$((g1 - g0))" -v w="$((w1 - w0))" -v s="$t0" -v e="$t1" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "CPU during the profiled identity run: gateway %.0f %%, wrk %.0f %% (of one core; 200 %% is the machine)\n", g / hz / (e - s) * 100, w / hz / (e - s) * 100 }'
	grep -E 'Requests/sec| 99%' "$WORK/wrk.out"
	(cd "$ROOT" && go tool pprof -top -nodecount=25 "$WORK/seedcast" "$WORK/identity.pprof" 2>/dev/null | sed -n '1,32p')
	echo "profile: $WORK/identity.pprof"
fi
echo "gateway RSS after the runs: $(awk '/VmRSS/ { print $2, $3 }' /proc/$GATEWAY_PID/status)"
