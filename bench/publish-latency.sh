#!/usr/bin/env bash
# Target 1: publish latency of a 1 GiB enclosure vs `curl -o` from the same local Go file server
# (bench/origin, net/http on loopback), runs interleaved. For Seedcast it reports the time from
# the "downloading" log line to the "published" one (its took= field: download, hashing, fsync,
# .torrent, seeder add, store) and, separately, from process start to the torrent in the feed.
# Prints the ratio of medians took / curl (target <= 1.10). SIZE and RUNS override defaults;
# FORMATS lists the torrent formats timed in each run (default "hybrid v1": took_hybrid, took_v1).
source "$(dirname "$0")/lib.sh"
SIZE=${SIZE:-1073741824}
RUNS=${RUNS:-5}
FORMATS=${FORMATS:-hybrid v1}
build_seedcast
build_origin
machine
f=$WORK/big.bin
make_file "$f" "$SIZE"
start_origin -file "$f"
url=$ORIGIN/big/big.bin
: >"$WORK/curl.txt"; : >"$WORK/curl_sync.txt"
for fmt in $FORMATS; do : >"$WORK/took_$fmt.txt"; : >"$WORK/start_to_feed_$fmt.txt"; done
for i in $(seq "$RUNS"); do
	rm -f "$WORK/curl.out"
	# Each timed step starts with no dirty pages left by the one before, so a step does not pay
	# for the previous step's writeback.
	sync
	timed curl -sf -o "$WORK/curl.out" "$url" >>"$WORK/curl.txt"
	rm -f "$WORK/curl.out"
	# curl does not fsync; Seedcast must (crash safety), so show that cost too.
	sync
	timed sh -c "curl -sf -o '$WORK/curl.out' '$url' && sync '$WORK/curl.out'" >>"$WORK/curl_sync.txt"
	rm -f "$WORK/curl.out"

	for fmt in $FORMATS; do
		g=$WORK/gw
		rm -rf "$g"
		TORRENT_FORMAT=$fmt write_config "$g" 18480 16881 "$ORIGIN/feed.xml"
		sync
		s=$EPOCHREALTIME
		start_gateway "$g"
		# Block on the log rather than poll the feed: a curl every 20 ms during the download took CPU
		# from the gateway that curl -o, measured alone, never had to share. Then the feed must list it.
		exec 9< <(exec timeout 600 tail -n +1 -F "$g/log" 2>/dev/null)
		tailpid=$!
		grep -q -m1 'msg=published' <&9 || true
		kill "$tailpid" 2>/dev/null || true
		exec 9<&-
		wait_items "http://127.0.0.1:18480/feeds/show.rss" 1
		e=$EPOCHREALTIME
		awk -v s="$s" -v e="$e" 'BEGIN { printf "%.6f\n", e - s }' >>"$WORK/start_to_feed_$fmt.txt"
		stop_gateway
		# took=1.234s or took=850ms in slog's text format
		sed -n 's/.*msg=published.* took=\([0-9.]*\)\(m\?s\).*/\1 \2/p' "$g/log" |
			awk '{ print ($2 == "ms") ? $1 / 1000 : $1 }' >>"$WORK/took_$fmt.txt"
	done
done
rm -rf "$WORK/gw"
echo "seconds for $SIZE bytes (lower is better)"
files=()
for fmt in $FORMATS; do files+=("$WORK/took_$fmt.txt" "$WORK/start_to_feed_$fmt.txt"); done
stats "$WORK/curl.txt" "${files[@]}" "$WORK/curl_sync.txt"
