#!/usr/bin/env bash
# bench/proxy.sh — what the fault proxy costs with no toxics.
#
# Debian's nginx serves a small file on loopback; wrk measures it straight
# and through `rehearse proxy`, in the same run, with the same connections,
# threads and duration:
#   throughput   wrk -tT -c$CONNS -d$DURATION for each T in $THREADS (rounds
#                interleaved).  On a 2-core machine wrk -t2 and nginx already
#                fill both cores, so the extra hop's CPU shows directly in the
#                ratio; with -t1 some CPU is left for the proxy.
#   latency      wrk -t1 -c1 --latency: one request at a time, so the median
#                is the round trip and the difference is what the proxy adds
# Targets: at least 0.8x the direct throughput, under 100 us added median.
#
#   bench/proxy.sh        DURATION=8 CONNS=50 THREADS="1 2" ROUNDS=3 LAT_DURATION=5
# Needs: nginx (nginx-light), wrk — scripts/install-deps.sh --bench.
set -euo pipefail

DURATION=${DURATION:-8}
CONNS=${CONNS:-50}
THREADS=${THREADS:-1 2}
ROUNDS=${ROUNDS:-3}
LAT_DURATION=${LAT_DURATION:-5}

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${REHEARSE_BIN:-$root/rehearse}
for tool in nginx wrk; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
    echo "bench/proxy.sh: $tool is missing; run scripts/install-deps.sh --bench" >&2; exit 3; }
done
[ -x "$bin" ] || { echo "bench/proxy.sh: build rehearse first (make)" >&2; exit 3; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d)
chmod 755 "$work"
nginx_pid=""
proxy_pid=""
cleanup() {
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/www"
head -c 600 /dev/zero | tr '\0' 'x' > "$work/www/small.html"
chmod -R a+rX "$work/www"

# nginx on a free port: try ports until one binds.
start_nginx() {
  local port
  for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 30000))
    cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/error.log;
$( [ "$(id -u)" -eq 0 ] && echo "user root root;" )
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/body;
  proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi;
  scgi_temp_path $work/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port;
    root $work/www;
  }
}
CONF
    "$nginx_bin" -c "$work/nginx.conf" -p "$work" 2>>"$work/nginx.stderr" &
    nginx_pid=$!
    for _ in $(seq 1 50); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        NGINX_PORT=$port
        return 0
      fi
      kill -0 "$nginx_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$nginx_pid" 2>/dev/null; wait "$nginx_pid" 2>/dev/null || true
    nginx_pid=""
  done
  echo "bench/proxy.sh: nginx would not start:" >&2
  cat "$work/nginx.stderr" "$work/error.log" >&2 2>/dev/null || true
  exit 3
}

start_proxy() {
  "$bin" proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$NGINX_PORT" </dev/null \
    >"$work/proxy.out" 2>&1 &
  proxy_pid=$!
  for _ in $(seq 1 50); do
    if grep -q '^ready' "$work/proxy.out" 2>/dev/null; then
      PROXY_PORT=$(sed -n 's/^link [^ ]* [^ ]*:\([0-9]*\) -> .*/\1/p' "$work/proxy.out")
      return 0
    fi
    sleep 0.1
  done
  echo "bench/proxy.sh: rehearse proxy did not start:" >&2
  cat "$work/proxy.out" >&2
  exit 3
}

# Requests/sec of a wrk run.
rps() { awk '/^Requests\/sec:/ {print $2}'; }
# The median from wrk --latency, in microseconds.
p50_us() {
  awk '$1 == "50%" {
         v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
         f = (u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1000000 : 0;
         printf "%.1f\n", v * f }'
}

start_nginx
start_proxy
direct_url="http://127.0.0.1:$NGINX_PORT/small.html"
proxy_url="http://127.0.0.1:$PROXY_PORT/small.html"
wrk -t1 -c1 -d1s "$proxy_url" >/dev/null # warm up
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

echo "fault proxy bench: nginx $( "$nginx_bin" -v 2>&1 | sed 's/.*\///'), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'), $(nproc) cores"
for threads in $THREADS; do
  echo "throughput: wrk -t$threads -c$CONNS -d${DURATION}s, $ROUNDS interleaved rounds, 600-byte file"
  direct_sum=0; proxy_sum=0
  for round in $(seq 1 "$ROUNDS"); do
    d=$(wrk -t"$threads" -c"$CONNS" -d"${DURATION}s" "$direct_url" | rps)
    p=$(wrk -t"$threads" -c"$CONNS" -d"${DURATION}s" "$proxy_url" | rps)
    printf '  round %d: direct %10.0f req/s   through proxy %10.0f req/s   ratio %.3f\n' \
      "$round" "$d" "$p" "$(calc "$p / $d")"
    direct_sum=$(calc "$direct_sum + $d")
    proxy_sum=$(calc "$proxy_sum + $p")
  done
  printf '  mean:    direct %10.0f req/s   through proxy %10.0f req/s   ratio %.3f (target >= 0.8)\n' \
    "$(calc "$direct_sum / $ROUNDS")" "$(calc "$proxy_sum / $ROUNDS")" \
    "$(calc "$proxy_sum / $direct_sum")"
done

echo "latency: wrk -t1 -c1 -d${LAT_DURATION}s --latency (one request at a time), $ROUNDS interleaved rounds"
added_all=""
for round in $(seq 1 "$ROUNDS"); do
  ld=$(wrk -t1 -c1 -d"${LAT_DURATION}s" --latency "$direct_url" | p50_us)
  lp=$(wrk -t1 -c1 -d"${LAT_DURATION}s" --latency "$proxy_url" | p50_us)
  added=$(calc "$lp - $ld")
  added_all="$added_all $added"
  printf '  round %d: median round trip direct %.1f us, through proxy %.1f us, added %.1f us\n' \
    "$round" "$ld" "$lp" "$added"
done
printf '  median added latency: %.1f us (target < 100)\n' \
  "$(echo $added_all | tr ' ' '\n' | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')"

kill "$proxy_pid"; wait "$proxy_pid" 2>/dev/null || true; proxy_pid=""
grep '^stats' "$work/proxy.out" | sed 's/^/  proxy /'
