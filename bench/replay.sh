#!/usr/bin/env bash
# bench/replay.sh — how fast `rehearse replay` sends a trace, against wrk on
# the same URL in the same run, and how well it keeps the captured timing.
#
#   bench/replay.sh [--requests N] [--conns C] [--rounds R] [--fidelity-seconds S] [--keep]
#
# 1. Debian's nginx on loopback (one worker process, access log off) serves a
#    12-byte file.
# 2. Throughput: a synthetic trace of N GET requests (default 200000) over C
#    keep-alive connections (default 64), written by build/fixtures/trace_gen,
#    is replayed with `--speed max`; wrk -c C -t2 hits the same URL for 5 s
#    just before, R times (default 3) in turn.  Reported: requests/s of both
#    per round and the median ratio (wrk is the ceiling: it sends one fixed
#    request and keeps nothing).  Target: rehearse >= 0.5x wrk.
# 3. Timing fidelity: a trace spanning S seconds (default 60) at 1000
#    requests/s over C connections is replayed at `--speed 1`; the results
#    summary's lateness (sent_us - scheduled_us) p50/p99/max is reported.
#    Target: p99 <= 2 ms.
#
# Needs `scripts/install-deps.sh --bench` (nginx-light, wrk).  Both runs share
# the machine with whatever else runs on it: run it on a quiet machine and
# compare the ratio, not the absolute figures.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
requests=200000
conns=64
rounds=3
fidelity_s=60
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --requests) requests=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --fidelity-seconds) fidelity_s=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "replay.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done

for tool in nginx wrk; do
  command -v "$tool" >/dev/null || {
    echo "replay.sh: '$tool' is missing; run scripts/install-deps.sh --bench" >&2; exit 3; }
done
make -C "$here" -j2 all fixtures >/dev/null
rehearse="$here/rehearse"
trace_gen="$here/build/fixtures/trace_gen"

work=$(mktemp -d /tmp/rehearse-bench.XXXXXX)
nginx_pid=""
cleanup() {
  if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  if [ "$keep" = 1 ]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

port=28180
while ss -ltn | grep -q ":$port "; do port=$((port + 1)); done
mkdir -p "$work/www" "$work/nginx"
chmod 755 "$work" "$work/www"  # nginx workers run as www-data
printf 'hello world\n' > "$work/www/index.html"
cat > "$work/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  server { listen 127.0.0.1:$port; root $work/www; }
}
EOF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/index.html" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port/index.html"

# a summary field of a results file: "name":number inside the summary line
summary_field() { tail -1 "$1" | grep -o "\"$2\":[0-9]*" | head -1 | cut -d: -f2; }

echo "== throughput: $requests requests over $conns connections, --speed max vs wrk -c $conns"
echo "   ($rounds rounds, each wrk for 5 s then rehearse, so both see the same machine)"
"$trace_gen" -o "$work/max.jsonl" --requests "$requests" --conns "$conns" --span 60000
ratios=()
for round in $(seq "$rounds"); do
  wrk_rps=$(wrk -t2 -c"$conns" -d5s "$url" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  "$rehearse" replay "$work/max.jsonl" --target nginx="http://127.0.0.1:$port" \
    -o "$work/max-results.jsonl" --speed max -q
  replayed=$(summary_field "$work/max-results.jsonl" replayed)
  duration_us=$(summary_field "$work/max-results.jsonl" duration_us)
  errors=$(tail -1 "$work/max-results.jsonl" | grep -o '"errors":{[^}]*}' | head -1)
  rehearse_rps=$(awk -v n="$replayed" -v d="$duration_us" 'BEGIN {printf "%.0f", n / (d / 1e6)}')
  ratio=$(awk -v r="$rehearse_rps" -v w="$wrk_rps" 'BEGIN {printf "%.2f", r / w}')
  ratios+=("$ratio")
  echo "round $round: wrk $wrk_rps req/s, rehearse $rehearse_rps req/s ($replayed replayed," \
       "$errors): ${ratio}x"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
echo "ratio (median of $rounds): ${median}x wrk (target >= 0.5x)"

echo "== timing fidelity: ${fidelity_s} s of capture at 1000 requests/s, --speed 1"
n=$((fidelity_s * 1000))
"$trace_gen" -o "$work/timed.jsonl" --requests "$n" --conns "$conns" --span $((fidelity_s * 1000))
"$rehearse" replay "$work/timed.jsonl" --target nginx="http://127.0.0.1:$port" \
  -o "$work/timed-results.jsonl" -q
late=$(tail -1 "$work/timed-results.jsonl" | grep -o '"lateness_us":{[^}]*}')
p99=$(echo "$late" | grep -o '"p99":[0-9]*' | cut -d: -f2)
echo "lateness (sent - scheduled, µs): $late"
awk -v p="$p99" 'BEGIN {printf "p99 lateness: %.2f ms (target <= 2 ms)\n", p / 1000}'
