#!/usr/bin/env bash
# Issue 13: HTTP /announce per node in cluster mode (PostgreSQL store, two nodes sharing their
# swarms over LISTEN/NOTIFY) vs a single node on the embedded SQLite store, same 1,000 torrents,
# same wrk load as bench/tracker-announce.sh (announce.lua: compact, 50,000 peers), interleaved.
# Prints announces per second and the ratio cluster node / single node (goal >= 0.8).
source "$(dirname "$0")/lib.sh"
need wrk wrk
TORRENTS=${TORRENTS:-1000}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
build_seedcast
build_origin
(cd "$ROOT" && go build -o "$WORK/pgserver" ./bench/pgserver)
machine
start_origin -items "$TORRENTS" -item-size 1024
"$WORK/pgserver" -dsn-file "$WORK/dsn" >"$WORK/pg.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do [ -s "$WORK/dsn" ] && break; sleep 0.1; done
DSN=$(cat "$WORK/dsn")

single=$WORK/single
write_config "$single" 18600 16950 "$ORIGIN/feed.xml"
start_gateway "$single"
for n in 1 2; do
	d=$WORK/node$n
	write_config "$d" $((18600 + n)) $((16950 + n)) "$ORIGIN/feed.xml"
	printf 'store:\n  driver: postgres\n  dsn: "%s"\nnode:\n  name: node%d\ncluster:\n  replicas: 2\n  node_timeout: 10s\n' "$DSN" "$n" >>"$d/config.yaml"
	start_gateway "$d"
done
wait_items "http://127.0.0.1:18600/feeds/show.rss" "$TORRENTS" 1800
wait_items "http://127.0.0.1:18601/feeds/show.rss" "$TORRENTS" 1800
curl -sf "http://127.0.0.1:18600/feeds/show.rss" | grep -o 'btih:[0-9a-f]\{40\}' | cut -c6- | sort -u >"$WORK/hashes.txt"
echo "torrents: $(wc -l <"$WORK/hashes.txt")"
# Node 1 tracks every torrent once the mesh or its reconcile told it of node 2's.
last=$(tail -1 "$WORK/hashes.txt" | sed 's/../%&/g')
for _ in $(seq 600); do
	curl -sf "http://127.0.0.1:18601/announce?info_hash=$last&peer_id=-XX0000-probe0000000&port=1&left=0" | grep -qv 'failure' && break
	sleep 0.1
done

: >"$WORK/single.txt"; : >"$WORK/cluster.txt"
run_wrk() {
	HASHES=$WORK/hashes.txt wrk -t2 -c64 -d"$DURATION" -s "$ROOT/bench/announce.lua" "$1" >"$WORK/wrk.out"
	if ! grep -q '^bad_responses 0$' "$WORK/wrk.out" || grep -q 'Non-2xx' "$WORK/wrk.out"; then
		echo "bench: $2 gave failures:" >&2; cat "$WORK/wrk.out" >&2; exit 1
	fi
	awk '/Requests\/sec/ { print $2 }' "$WORK/wrk.out" >>"$WORK/$2.txt"
	grep -E 'Latency|Requests/sec' "$WORK/wrk.out" | sed "s/^/  $2 /"
}
for i in $(seq "$RUNS"); do
	run_wrk http://127.0.0.1:18600 single
	run_wrk http://127.0.0.1:18601 cluster
done
echo "announces per second (higher is better): single node on SQLite, then a cluster node on PostgreSQL"
stats "$WORK/single.txt" "$WORK/cluster.txt"
