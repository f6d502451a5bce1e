#!/usr/bin/env bash
# Speed of `rehearse dbdiff` on two 1,000,000-row tables that differ by 100
# changed, 10 missing and 10 extra rows, measured side by side with:
#   floor  one whole-table checksum query per side, both sides at once:
#          SELECT sum(hashtextextended(t::text, 0)) FROM t
#          (it reads and hashes every row once: no diff can do less work
#          and still look at every value)
#   naive  COPY both tables out in key order (psql \copy, both at once) and
#          compare the files (diff)
# Targets: dbdiff at most 2x the floor, at least 3x faster than naive, and
# memory bounded (peak RSS of the rehearse process is reported).
#
#   bench/dbdiff.sh [ROWS] [ROUNDS]     (defaults 1000000 and 5)
#
# It starts its own throwaway PostgreSQL from the Debian binaries (as the
# `rehearse` user when run as root), on a unix socket in a temporary
# directory, and removes everything when done.  Times are medians over
# ROUNDS rounds; each round runs the three contenders one after the other.
set -euo pipefail

ROWS=${1:-1000000}
ROUNDS=${2:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
rehearse="$here/rehearse"
[ -x "$rehearse" ] || { echo "bench/dbdiff.sh: build first (make)" >&2; exit 2; }
bindir=${REHEARSE_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$bindir/initdb" ] || { echo "bench/dbdiff.sh: PostgreSQL server binaries not found" >&2; exit 3; }
for tool in psql diff /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "bench/dbdiff.sh: needs $tool" >&2; exit 3; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/rehearse-bench-dbdiff.XXXXXX")
chmod 755 "$work"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  as_pg=(runuser -u rehearse --)
  chown rehearse "$work"
fi
pgdata="$work/data"
cleanup() {
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$pgdata" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$bindir/initdb" -D "$pgdata" -U rehearse --auth=trust -E UTF8 --locale=C \
  --no-sync >/dev/null
"${as_pg[@]}" "$bindir/pg_ctl" -D "$pgdata" -l "$work/postgres.log" -w -o \
  "-p $port -h 127.0.0.1 -k $work -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB -c max_connections=50" \
  start >/dev/null

left="host=127.0.0.1 port=$port user=rehearse dbname=bench_left"
right="host=127.0.0.1 port=$port user=rehearse dbname=bench_right"
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

echo "== building two $ROWS-row tables"
psql_q "host=127.0.0.1 port=$port user=rehearse dbname=postgres" -c "CREATE DATABASE bench_left"
psql_q "$left" <<SQL
CREATE TABLE t (
    id      integer PRIMARY KEY,
    name    text NOT NULL,
    amount  numeric(12, 2) NOT NULL,
    created timestamptz NOT NULL,
    note    text
);
INSERT INTO t
SELECT g, 'customer ' || md5(g::text), (g % 100000) / 100.0,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '37 seconds',
       CASE WHEN g % 3 = 0 THEN NULL ELSE 'note ' || (g::int8 * 7919 % 1000003) END
FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE t;
SQL
psql_q "host=127.0.0.1 port=$port user=rehearse dbname=postgres" \
  -c "CREATE DATABASE bench_right TEMPLATE bench_left"
# 100 changed rows (spread over the table, in different columns), 10 missing,
# 10 extra.
step=$((ROWS / 100))
psql_q "$right" <<SQL
UPDATE t SET name = name || '!'        WHERE id % $step = 11 AND (id / $step) % 4 = 0;
UPDATE t SET amount = amount + 0.01    WHERE id % $step = 11 AND (id / $step) % 4 = 1;
UPDATE t SET created = created + interval '1 second' WHERE id % $step = 11 AND (id / $step) % 4 = 2;
UPDATE t SET note = coalesce(note, '') || '?' WHERE id % $step = 11 AND (id / $step) % 4 = 3;
DELETE FROM t WHERE id % ($ROWS / 10) = 5;
INSERT INTO t SELECT $ROWS + g, 'extra', 1, now(), NULL FROM generate_series(1, 10) g;
VACUUM ANALYZE t;
SQL
psql_q "$right" -At -c "SELECT count(*) FROM t" >/dev/null

now() { date +%s.%N; }
floor_run() {
  local t0 t1
  t0=$(now)
  psql -X -At "$left" -c "SELECT sum(hashtextextended(t::text, 0)) FROM t" >/dev/null &
  psql -X -At "$right" -c "SELECT sum(hashtextextended(t::text, 0)) FROM t" >/dev/null &
  wait
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }'
}
naive_run() {
  local t0 t1
  t0=$(now)
  psql -X -q "$left" -c "\\copy (SELECT * FROM t ORDER BY id) TO '$work/left.tsv'" &
  psql -X -q "$right" -c "\\copy (SELECT * FROM t ORDER BY id) TO '$work/right.tsv'" &
  wait
  diff "$work/left.tsv" "$work/right.tsv" > "$work/naive.diff" || true
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }'
}
dbdiff_run() {
  local t0 t1 rc=0
  t0=$(now)
  /usr/bin/time -f "%M" -o "$work/rss" "$rehearse" dbdiff --left "$left" --right "$right" \
    -o "$work/dbdiff.json" 2>"$work/dbdiff.err" || rc=$?
  t1=$(now)
  if [ "$rc" -ne 1 ]; then
    echo "bench/dbdiff.sh: rehearse dbdiff exited $rc:" >&2
    cat "$work/dbdiff.err" >&2
    exit 1
  fi
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }'
}

echo "== warming up (reading both tables once)"
floor_run >/dev/null
naive_run >/dev/null
dbdiff_run >/dev/null

floors=() naives=() diffs=() rss=()
for ((i = 1; i <= ROUNDS; i++)); do
  floors+=("$(floor_run)")
  diffs+=("$(dbdiff_run)")
  rss+=("$(tail -1 "$work/rss")")
  naives+=("$(naive_run)")
  printf '   round %d: floor %.3f s  dbdiff %.3f s  naive %.3f s\n' "$i" \
    "${floors[-1]}" "${diffs[-1]}" "${naives[-1]}"
done

python3 - "$work/dbdiff.json" "$work/naive.diff" "$ROWS" \
  "${floors[*]}" "${diffs[*]}" "${naives[*]}" "${rss[*]}" <<'PY'
import json, statistics, sys
doc_path, naive_path, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
floor, dbdiff, naive, rss = ([float(x) for x in a.split()] for a in sys.argv[4:8])
doc = json.load(open(doc_path))
t = doc["tables"][0]
lines = open(naive_path, encoding="utf-8", errors="replace").read().splitlines()
naive_left = sum(1 for l in lines if l.startswith("< "))
naive_right = sum(1 for l in lines if l.startswith("> "))
found = (t["only_left"], t["only_right"], t["changed"])
ok = found == (10, 10, 100)
m = statistics.median
print()
print(f"rows per table          {rows}")
print(f"dbdiff found            only_left {found[0]}, only_right {found[1]}, changed {found[2]}"
      f"  ({'exact' if ok else 'WRONG: expected 10, 10, 100'})")
b = t["buckets"]
print(f"  method                {t['method']} ({t['key_source']}), {b['mode']} buckets: 2^{b['bits']} at first,"
      f" {b['levels']} level(s), {b['mismatched']} differing at the end, rows fetched"
      f" {b['rows_fetched_left']} + {b['rows_fetched_right']}")
tm = t["timings_ms"]
print(f"  last run              bucket scans {tm['scan']:.0f} ms, fetch and match {tm['fetch']:.0f} ms,"
      f" whole run {doc['timings_ms']['total']:.0f} ms")
print(f"naive diff lines        {naive_left} left, {naive_right} right (110 and 110 expected)")
print(f"floor   (median)        {m(floor):.3f} s")
print(f"dbdiff  (median)        {m(dbdiff):.3f} s   = {m(dbdiff) / m(floor):.2f}x the floor   (target <= 2x)")
print(f"naive   (median)        {m(naive):.3f} s   = {m(naive) / m(dbdiff):.2f}x dbdiff's time (target >= 3x)")
print(f"dbdiff peak RSS         {max(rss) / 1024:.1f} MB")
sys.exit(0 if ok else 1)
PY
