#!/usr/bin/env bash
# HAR import/export and trace stats on a large HAR, with jq (which loads a
# document whole) as the reference, measured side by side in one run.
#
#   bench/har.sh [ENTRIES]      default 60000 entries (about 100 MB of HAR)
#
# Prints wall time and peak RSS of each step.  Not a test: figures depend on
# the machine; what matters is the ratio and that rehearse's RSS does not
# grow with the file.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rehearse=${REHEARSE_BIN:-$here/rehearse}
entries=${1:-60000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 - "$tmp/big.har" "$entries" <<'PY'
import json, random, sys
random.seed(1)
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write('{"log":{"version":"1.2","creator":{"name":"bench","version":"1"},"entries":[\n')
    for i in range(n):
        body = "x" * random.randint(0, 4000) if i % 3 == 0 else json.dumps(
            {"i": i, "v": [random.random() for _ in range(20)]})
        e = {"startedDateTime": "2024-01-01T00:%02d:%02d.%03dZ" % ((i // 60000) % 60, (i // 1000) % 60, i % 1000),
             "time": 1.5,
             "request": {"method": "GET" if i % 4 else "POST",
                         "url": "http://svc.local:8080/users/%d/items?x=%d" % (i % 500, i),
                         "httpVersion": "HTTP/1.1",
                         "headers": [{"name": "Host", "value": "svc.local:8080"}, {"name": "X-N", "value": str(i)}],
                         "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
             "response": {"status": 200 if i % 10 else 404, "statusText": "OK", "httpVersion": "HTTP/1.1",
                          "headers": [{"name": "Content-Type", "value": "application/json"}], "cookies": [],
                          "content": {"size": len(body), "mimeType": "application/json", "text": body},
                          "redirectURL": "", "headersSize": -1, "bodySize": len(body)},
             "cache": {}, "timings": {"send": 0.5, "wait": 0.7, "receive": 0.3},
             "connection": str(i % 50), "serverIPAddress": "10.0.0.1"}
        f.write(("," if i else "") + json.dumps(e) + "\n")
    f.write("]}}\n")
PY
size=$(stat -c %s "$tmp/big.har")
echo "HAR: $entries entries, $((size / 1048576)) MiB"
measure() {
  local label=$1; shift
  /usr/bin/time -f "$label: %e s, peak RSS %M KiB" "$@" >/dev/null 2>"$tmp/time" || { cat "$tmp/time"; exit 1; }
  tail -n 1 "$tmp/time"
}
measure "jq (loads the HAR whole, counts entries)" jq '.log.entries | length' "$tmp/big.har"
measure "rehearse trace import-har" "$rehearse" trace import-har "$tmp/big.har" -o "$tmp/big.jsonl"
measure "rehearse trace stats" "$rehearse" trace stats "$tmp/big.jsonl"
measure "rehearse trace export-har" "$rehearse" trace export-har "$tmp/big.jsonl" -o "$tmp/out.har"
