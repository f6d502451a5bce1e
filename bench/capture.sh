#!/usr/bin/env bash
# bench/capture.sh — how fast `rehearse capture -r` turns a pcap into a trace,
# against tshark's HTTP dissection of the same file, measured side by side.
#
#   bench/capture.sh [--size MB] [--mix welcome|api] [--pcap FILE [--port P]] [--keep]
#
# Without --pcap it records a capture of real keep-alive HTTP traffic first:
# Debian's nginx on loopback, wrk as the client (16 keep-alive connections),
# tcpdump writing the packets, until the file holds --size MB (default 220).
# --mix welcome (default): every request fetches nginx's welcome page (615
# bytes of HTML), wrk's plain run.  --mix api: a JSON-API-like mix, 60%
# 350-byte and 25% 1.2 KB JSON documents, 10% 5 KB, 5% 20 KB.  Then it reports, for rehearse and for tshark:
# seconds, MB/s, transactions (requests) per second, peak RSS, and the speed
# ratio.  Targets: rehearse >= 30x tshark, >= 300 MB/s on one core, peak RSS
# under 64 MB whatever the file size.
#
# Needs root (tcpdump on lo) and `scripts/install-deps.sh --bench`.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
size_mb=220
mix=welcome
port_arg=""
pcap=""
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size_mb=$2; shift 2 ;;
    --pcap) pcap=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --port) port_arg=$2; shift 2 ;;
    --mix) mix=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "capture.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done

for tool in nginx wrk tshark tcpdump /usr/bin/time; do
  command -v "$tool" >/dev/null || {
    echo "capture.sh: '$tool' is missing; run scripts/install-deps.sh --bench" >&2; exit 3; }
done
[ -x "$here/rehearse" ] || make -C "$here" -j2 >/dev/null

work=$(mktemp -d /tmp/rehearse-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$keep" = 1 ]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# A port nobody listens on (other benchmarks may be running).
port=${port_arg:-28080}
[ -n "$port_arg" ] || while ss -ltn | grep -q ":$port "; do port=$((port + 1)); done
if [ -z "$pcap" ]; then
  [ "$(id -u)" = 0 ] || { echo "capture.sh: recording on lo needs root (or pass --pcap FILE)" >&2; exit 3; }
  mkdir -p "$work/www" "$work/nginx"
  chmod 755 "$work" "$work/www"  # nginx workers run as www-data
  # What a JSON API behind rehearse serves: mostly small JSON documents,
  # some larger ones, a few pages and scripts.  Text, as APIs send it.
  mkjson() { # size file
    python3 -c 'import json,sys
n=int(sys.argv[1]); items=[]; i=0
while len(json.dumps({"items":items}))<n:
    items.append({"id":i,"name":"item-%d"%i,"price":i*1.25,"tags":["a","b"],"active":i%2==0}); i+=1
print(json.dumps({"items":items}))' "$1" > "$2"
  }
  mkjson 350 "$work/www/items.json"
  mkjson 1200 "$work/www/item.json"
  mkjson 5000 "$work/www/page.html"
  mkjson 20000 "$work/www/app.js"
  cat > "$work/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $work/www;
  }
}
EOF
  nginx -c "$work/nginx/nginx.conf" -g 'daemon off;' &
  pids+=($!)
  sleep 0.5
  # 60% small JSON, 25% larger JSON, 10% page, 5% script.
  cat > "$work/api.lua" <<'EOF'
local paths = {}
for i = 1, 12 do paths[#paths + 1] = "/items.json" end
for i = 1, 5 do paths[#paths + 1] = "/item.json" end
for i = 1, 2 do paths[#paths + 1] = "/page.html" end
paths[#paths + 1] = "/app.js"
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1], {["Accept"] = "application/json"})
end
EOF
  cp /usr/share/nginx/html/index.html "$work/www/index.html" 2>/dev/null ||
    cp /var/www/html/index.nginx-debian.html "$work/www/index.html"
  case "$mix" in
    welcome) script=() ;;
    api) script=(-s "$work/api.lua") ;;
    *) echo "capture.sh: --mix: expected welcome or api, found '$mix'" >&2; exit 2 ;;
  esac
  pcap="$work/traffic.pcap"
  tcpdump -i lo -s 0 -B 131072 -w "$pcap" "tcp port $port" 2>"$work/tcpdump.err" &
  tpid=$!
  pids+=($tpid)
  sleep 1
  wrk -t1 -c16 -d600s "${script[@]}" "http://127.0.0.1:$port/" >/dev/null 2>&1 &
  wpid=$!
  pids+=($wpid)
  limit=$((size_mb * 1024 * 1024))
  while [ "$(stat -c %s "$pcap" 2>/dev/null || echo 0)" -lt "$limit" ]; do sleep 0.2; done
  kill "$wpid"; sleep 0.5; kill -INT "$tpid"; wait "$tpid" 2>/dev/null || true
  grep -E "dropped by kernel" "$work/tcpdump.err" || true
fi

bytes=$(stat -c %s "$pcap")
mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "capture file: $pcap ($mb MiB)"
# Warm the page cache so both tools read from memory.
cat "$pcap" > /dev/null

# Prints "cpu_seconds wall_seconds peak_rss_kb".  Both tools are single
# threaded; the figures use CPU time (user + system), which other load on
# a shared machine does not inflate; wall time is shown alongside.
measure() { # name, output file, command...
  local name=$1 out=$2; shift 2
  /usr/bin/time -f '%e %U %S %M' -o "$work/$name.time" "$@" > "$out" 2> "$work/$name.err"
  read -r wall user sys rss < "$work/$name.time"
  echo "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') $wall $rss"
}

# The trace goes to memory (tmpfs) for the headline figure, so the disk's
# speed is not what is measured; the same run to disk (with the fsync the
# writer does before renaming) is reported too.
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=$work
shm_trace=$(mktemp "$shm/rehearse-bench-trace.XXXXXX")
read -r r_secs r_wall r_rss < <(measure rehearse /dev/null \
  "$here/rehearse" capture -q -r "$pcap" -o "$shm_trace")
r_tx=$(tail -n 1 "$shm_trace" | sed -n 's/.*"transactions":\([0-9]*\).*/\1/p')
trace_mb=$(du -m "$shm_trace" | cut -f1)
rm -f "$shm_trace"
read -r d_secs d_wall d_rss < <(measure rehearse-disk /dev/null \
  "$here/rehearse" capture -q -r "$pcap" -o "$work/trace.jsonl")
rm -f "$work/trace.jsonl"
read -r t_secs t_wall t_rss < <(measure tshark "$work/tshark.tsv" \
  tshark -n -r "$pcap" -d "tcp.port==$port,http" -Y http.request -T fields \
    -e tcp.stream -e frame.time_epoch -e http.request.method -e http.host -e http.request.uri)
t_tx=$(wc -l < "$work/tshark.tsv")

echo "trace: $trace_mb MiB; machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v b="$bytes" -v rs="$r_secs" -v rw="$r_wall" -v rr="$r_rss" -v rt="$r_tx" \
    -v ds="$d_secs" -v dw="$d_wall" -v ts="$t_secs" -v tw="$t_wall" -v tr="$t_rss" -v tt="$t_tx" '
function row(name, cpu, wall, n, rss) {
  printf "%-22s %8.2f %8.2f %9.1f %10d %12.0f %9.1f MiB\n", name, cpu, wall, mb / cpu, n, n / cpu, rss / 1024
}
BEGIN {
  mb = b / 1048576
  if (rs <= 0) rs = 0.01
  if (ds <= 0) ds = 0.01
  if (ts <= 0) ts = 0.01
  printf "%-22s %8s %8s %9s %10s %12s %13s\n", "tool", "cpu s", "wall s", "MiB/s", "requests", "requests/s", "peak RSS"
  row("rehearse", rs, rw, rt, rr)
  row("rehearse (trace->disk)", ds, dw, rt, rr)
  row("tshark", ts, tw, tt, tr)
  printf "speed ratio rehearse/tshark (CPU time): %.1fx, trace to disk %.1fx (target >= 30x)\n", ts / rs, ts / ds
  printf "rehearse: %.0f MiB/s of capture per CPU second (target >= 300), peak RSS %.1f MiB (target < 64)\n", mb / rs, rr / 1024
}'
