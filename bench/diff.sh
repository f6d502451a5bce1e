#!/usr/bin/env bash
# JSON body diff throughput: parse + structural diff of pairs of API-like
# response bodies (bench/gen_json_pairs.py: list pages, users, orders,
# search results; the new side with new timestamps and request ids, and now
# and then a changed value, an added or removed element, 1 written 1.0,
# members reordered), measured side by side in one run:
#
#   1. rehearse's engine (reports/jdoc + reports/json_diff), no rules
#   2. the same with rules that ignore the noise and match lists by id
#   3. jansson parse + json_equal: the best an engine built on jansson's
#      parser could do (it would still have to diff)
#   4. python3-jsonpatch's make_patch (an RFC 6902 diff), on a slice
#   5. the `rehearse json-diff` command on one large pair (all bodies as one
#      array per side), wall time and peak RSS
#   6. `rehearse diff` end to end on a results file of DIFF_TRANSACTIONS
#      (default 100000) transactions x 3 targets (old, new, old2 as the noise
#      reference; ~2 KB JSON bodies with noise fields and some real changes,
#      made by build/fixtures/results_gen): read, decode, compare twice (base
#      vs candidate, base vs noise), statistics, examples, DIFF.json —
#      MB/s of bodies compared (all three targets), CPU time, peak RSS
#
#   bench/diff.sh [MEGABYTES]     default 200 (both sides together)
#   DIFF_ONLY=e2e bench/diff.sh   only (6)
#
# MB/s count the bytes of both sides.  Target: at least 100 MB/s for (1)
# and for (6).
# Not a test: the figures depend on the machine (run it alone on it).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rehearse=${REHEARSE_BIN:-$here/rehearse}
mb=${1:-200}
work=${BENCH_DIR:-$here/build/bench}
mkdir -p "$work"
old=$work/bodies-$mb-old.jsonl
new=$work/bodies-$mb-new.jsonl

e2e() {
  local n=${DIFF_TRANSACTIONS:-100000} results start end code
  results=$work/results-$n.jsonl
  make -s -C "$here" all fixtures >/dev/null
  if [ ! -s "$results" ]; then
    echo "generating a results file of $n transactions x 3 targets in $work ..."
    "$here/build/fixtures/results_gen" bench "$results.tmp" "$n" 2000
    mv "$results.tmp" "$results"
  fi
  cat "$results" > /dev/null # in the page cache, as for every run after the first
  start=$(date +%s.%N)
  set +e
  /usr/bin/time -f "%U %S %M" -o "$work/diff-time" "$rehearse" diff "$results" \
    --base old --candidate new --noise old2 -o "$work/DIFF.json" -q
  code=$?
  set -e
  end=$(date +%s.%N)
  [ "$code" -le 1 ] || { echo "rehearse diff failed ($code)"; exit 1; }
  python3 - "$work/DIFF.json" "$results" "$start" "$end" "$(tail -n 1 "$work/diff-time")" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
size = os.path.getsize(sys.argv[2])
wall = float(sys.argv[4]) - float(sys.argv[3])
user, system, rss = sys.argv[5].split()
cpu = float(user) + float(system)
t = d["totals"]
mb = t["body_bytes"] / 1e6
print("rehearse diff end to end: %d transactions x %d targets, results file %.0f MB, "
      "%.0f MB of bodies compared (%d differing, %d after noise, %d endpoints)"
      % (t["transactions"], len(d["inputs"]["targets"]), size / 1e6, mb,
         t["different_raw"], t["different_after_noise"], len(d["endpoints"])))
print("  %.2f s wall, %.2f s CPU (2 threads): %.1f MB/s wall, %.1f MB/s per CPU second; "
      "peak RSS %d MiB; DIFF.json %d KB"
      % (wall, cpu, mb / wall, mb / cpu, int(rss) // 1024, os.path.getsize(sys.argv[1]) // 1024))
PY
}

if [ "${DIFF_ONLY:-}" = e2e ]; then
  e2e
  exit 0
fi

if [ ! -s "$old" ] || [ ! -s "$new" ]; then
  echo "generating $mb MB of body pairs in $work ..."
  python3 "$here/bench/gen_json_pairs.py" "$old.tmp" "$new.tmp" "$mb"
  mv "$old.tmp" "$old"
  mv "$new.tmp" "$new"
fi

make -s -C "$here" all >/dev/null
libs="$(pkg-config --libs libpcap libcurl jansson libpq zlib libcrypto) -lhttp_parser -lpthread -lm"
# shellcheck disable=SC2086
cc -std=c11 -D_GNU_SOURCE -O2 -I"$here/common" -I"$here/reports" $(pkg-config --cflags jansson) \
  "$here/bench/json_diff_bench.c" "$here/build/librehearse.a" $libs -o "$work/json_diff_bench"

cat > "$work/rules.json" <<'JSON'
{
  "ignore": ["/meta/request_id", "/meta/server_time", "/**/updated_at"],
  "array_key": {"/data": "id", "/hits": "id"}
}
JSON

echo "bodies: $(wc -l < "$old") pairs, $(( ($(stat -c %s "$old") + $(stat -c %s "$new")) / 1000000 )) MB"
"$work/json_diff_bench" "$old" "$new"
"$work/json_diff_bench" "$old" "$new" --rules "$work/rules.json"
"$work/json_diff_bench" "$old" "$new" --jansson

python3 - "$old" "$new" 20 <<'PY'
import json, sys, time
import jsonpatch
old, new, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]) * 10**6
pairs, size, ops, took = 0, 0, 0, 0.0
with open(old) as fa, open(new) as fb:
    for la, lb in zip(fa, fb):
        t = time.perf_counter()
        patch = jsonpatch.make_patch(json.loads(la), json.loads(lb))
        took += time.perf_counter() - t
        pairs += 1
        size += len(la) + len(lb)
        ops += len(patch.patch)
        if size >= limit:
            break
print("python3-jsonpatch make_patch: %d pairs, %.1f MB, %d operations, %.3f s, %.1f MB/s"
      % (pairs, size / 1e6, ops, took, size / 1e6 / took))
PY

{ echo '['; paste -sd, "$old"; echo ']'; } > "$work/big-old.json"
{ echo '['; paste -sd, "$new"; echo ']'; } > "$work/big-new.json"
start=$(date +%s.%N)
set +e
/usr/bin/time -f "%M" -o "$work/rss" "$rehearse" json-diff "$work/big-old.json" "$work/big-new.json" \
  > "$work/big.patch"
code=$?
set -e
end=$(date +%s.%N)
[ "$code" -le 1 ] || { echo "rehearse json-diff failed ($code)"; exit 1; }
bytes=$(( $(stat -c %s "$work/big-old.json") + $(stat -c %s "$work/big-new.json") ))
awk -v b="$bytes" -v s="$start" -v e="$end" -v rss="$(tail -n 1 "$work/rss")" -v ops="$(grep -c '"op"' "$work/big.patch")" \
  'BEGIN { printf "rehearse json-diff on one pair of %.0f MB: %d operations, %.2f s, %.1f MB/s, peak RSS %d MiB\n", b / 1e6, ops, e - s, b / 1e6 / (e - s), rss / 1024 }'
rm -f "$work/big-old.json" "$work/big-new.json" "$work/big.patch"
e2e
