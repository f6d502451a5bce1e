#!/usr/bin/env bash
# deploy/parallel.sh — run one replay as N shards on several machines over
# SSH (or as N processes on this one), then merge the results and report:
# the Kubernetes Indexed Job of deploy/kubernetes/ for teams without a
# cluster (docs/scale-out.md).
#
#   deploy/parallel.sh -n N -o OUTDIR [--hosts FILE] [--split] [--workdir DIR]
#                      [--remote-rehearse PATH] [--base NAME --candidate NAME
#                      [--noise NAME]] TRACE -- REPLAY-OPTIONS...
#
# Shard I runs on the host on line (I mod H) of --hosts (one ssh destination
# per line, such as user@loadgen-3; `local` is this machine; blank lines and
# # comments are skipped).  Without --hosts every shard runs here.  A shard
# is
#     rehearse replay TRACE --shard I/N REPLAY-OPTIONS -o shard-I.jsonl.gz -q
# run by ssh in --workdir (default /tmp/rehearse-shards) on its host, where
# `rehearse` (or --remote-rehearse) must be installed and TRACE be at the
# same path — or, with --split, TRACE is cut here with `rehearse trace split`
# and only part I is copied to shard I's host.  Each shard's results come
# back into OUTDIR (by scp), its output into OUTDIR/shard-I.log; then
# `rehearse merge` writes OUTDIR/merged.jsonl.gz, and with --base and
# --candidate `rehearse report` writes OUTDIR/report.
#
# $SSH and $SCP name the programs (default ssh and scp), for options such as
# SSH="ssh -o BatchMode=yes".  Exit: the report's code (0 pass, 1
# regressions) or 0 without a report; 2 bad usage; 3 a shard, the merge or a
# copy failed (the logs say which).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
rehearse=${REHEARSE:-$(command -v rehearse || echo "$here/rehearse")}
remote_rehearse=rehearse
ssh_cmd=${SSH:-ssh}
scp_cmd=${SCP:-scp}
n="" out="" hosts_file="" split=0 workdir=/tmp/rehearse-shards
base="" candidate="" noise=""

usage() { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "parallel.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    -n) n=${2:-}; shift 2 || die "-n needs a value" ;;
    -o) out=${2:-}; shift 2 || die "-o needs a value" ;;
    --hosts) hosts_file=${2:-}; shift 2 || die "--hosts needs a file" ;;
    --split) split=1; shift ;;
    --workdir) workdir=${2:-}; shift 2 || die "--workdir needs a value" ;;
    --remote-rehearse) remote_rehearse=${2:-}; shift 2 || die "--remote-rehearse needs a path" ;;
    --base) base=${2:-}; shift 2 || die "--base needs a name" ;;
    --candidate) candidate=${2:-}; shift 2 || die "--candidate needs a name" ;;
    --noise) noise=${2:-}; shift 2 || die "--noise needs a name" ;;
    -h|--help) usage; exit 0 ;;
    --) die "expected TRACE before --" ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || die "expected TRACE -- REPLAY-OPTIONS (see --help)"
trace=$1
shift
if [ $# -gt 0 ]; then
  [ "$1" = "--" ] || die "expected -- before the replay options, found '$1'"
  shift
fi
replay_args=("$@")
if ! [[ "$n" =~ ^[1-9][0-9]{0,3}$ ]] || [ "$n" -gt 1000 ]; then
  die "-n: expected 1 to 1000 shards, found '$n'"
fi
[ -n "$out" ] || die "expected -o OUTDIR"
if [ -n "$base$candidate" ] && { [ -z "$base" ] || [ -z "$candidate" ]; }; then
  die "--base and --candidate go together"
fi
[ -x "$rehearse" ] || die "cannot find rehearse (put it on PATH or set REHEARSE)"

hosts=()
if [ -n "$hosts_file" ]; then
  [ -r "$hosts_file" ] || die "--hosts: cannot read '$hosts_file'"
  while read -r line; do
    line=${line%%#*}
    line=$(echo "$line" | tr -d '[:space:]')
    [ -n "$line" ] && hosts+=("$line")
  done < "$hosts_file"
  [ ${#hosts[@]} -gt 0 ] || die "--hosts: '$hosts_file' names no host"
else
  hosts=(local)
fi

mkdir -p "$out"
ext=.jsonl
case "$trace" in *.gz) ext=.jsonl.gz ;; esac
if [ "$split" = 1 ]; then
  "$rehearse" trace split "$trace" -n "$n" -o "$out/parts" -q || exit 3
fi

# One shard, on its host; its output goes to OUTDIR/shard-I.log.
run_shard() {
  local i=$1 host=$2 src="$trace"
  local results="shard-$i.jsonl.gz"
  if [ "$host" = local ]; then
    [ "$split" = 1 ] && src="$out/parts/shard-$i$ext"
    "$rehearse" replay "$src" --shard "$i/$n" "${replay_args[@]}" -o "$out/$results" -q
    return
  fi
  # shellcheck disable=SC2086  # $ssh_cmd and $scp_cmd may carry options
  $ssh_cmd "$host" "mkdir -p $(printf '%q' "$workdir")"
  if [ "$split" = 1 ]; then
    # shellcheck disable=SC2086
    $scp_cmd -q "$out/parts/shard-$i$ext" "$host:$workdir/"
    src="$workdir/shard-$i$ext"
  fi
  # shellcheck disable=SC2086
  $ssh_cmd "$host" "$(printf '%q ' "$remote_rehearse" replay "$src" --shard "$i/$n" \
    "${replay_args[@]}" -o "$workdir/$results" -q)"
  # shellcheck disable=SC2086
  $scp_cmd -q "$host:$workdir/$results" "$out/$results"
}

echo "parallel.sh: $n shards on ${#hosts[@]} host(s); logs in $out/shard-I.log"
pids=()
for ((i = 0; i < n; i++)); do
  run_shard "$i" "${hosts[i % ${#hosts[@]}]}" > "$out/shard-$i.log" 2>&1 &
  pids+=($!)
done
failed=()
for ((i = 0; i < n; i++)); do
  wait "${pids[i]}" || failed+=("$i")
done
if [ ${#failed[@]} -gt 0 ]; then
  for i in "${failed[@]}"; do
    echo "parallel.sh: shard $i/$n on ${hosts[i % ${#hosts[@]}]} failed:" >&2
    tail -5 "$out/shard-$i.log" >&2
  done
  exit 3
fi

shards=()
for ((i = 0; i < n; i++)); do shards+=("$out/shard-$i.jsonl.gz"); done
"$rehearse" merge "${shards[@]}" -o "$out/merged.jsonl.gz" || exit 3
[ -n "$base" ] || exit 0
report=(report "$out/merged.jsonl.gz" --base "$base" --candidate "$candidate" -o "$out/report")
[ -z "$noise" ] || report+=(--noise "$noise")
set +e
"$rehearse" "${report[@]}"
exit $?
