# Reads output feeds (one path a line on stdin) with feedparser, the parser
# of many podcast apps, and prints what it found as JSON for fidelity_test.go.
import json
import sys

import feedparser

out = []
for path in sys.stdin.read().split("\n"):
    if not path:
        continue
    d = feedparser.parse(path)
    encs = []
    for e in d.entries:
        links = [l for l in e.get("links", []) if l.get("rel") == "enclosure"]
        encs.append(links[0]["href"] if links else "")
    out.append({
        "file": path,
        "bozo": int(bool(d.bozo)),
        "bozo_exception": str(d.get("bozo_exception", "")),
        "title": d.feed.get("title", ""),
        "titles": [e.get("title", "") for e in d.entries],
        "guids": [e.get("id", "") for e in d.entries],
        "encs": encs,
    })
json.dump(out, sys.stdout)
