#!/usr/bin/env bash
# `make demo`: rehearse the demo shop's release v1 -> v2 (scenarios/demo.json)
# on its captured traffic, then show what the rehearsal found.
#
# v2 carries four regressions planted on purpose (fixtures/demo/README.md), so
# the rehearsal itself ends with exit 1 ("regressions found"). This script
# exits 0 when the demo behaved as designed — every planted regression found,
# the noise cancelled, the rollback check passed — and 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."

bin=${REHEARSE_BIN:-./rehearse}
build=${BUILD:-build}
for f in "$bin" "$build/fixtures/demo_v1" "$build/fixtures/demo_v2" "$build/fixtures/demo_check"; do
  if [ ! -x "$f" ]; then
    echo "make demo: $f is missing; run 'make demo' (it builds everything first)" >&2
    exit 3
  fi
done

run=runs/demo-$(date +%Y%m%d-%H%M%S)
n=2
while [ -e "$run" ]; do run=runs/demo-$(date +%Y%m%d-%H%M%S)-$n; n=$((n + 1)); done

echo "== rehearsing scenarios/demo.json (the release v1 -> v2 of the demo shop) into $run"
start=$(date +%s.%N)
"$bin" run scenarios/demo.json -o "$run" --progress
code=$?
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

echo
if [ ! -f "$run/report.json" ]; then
  echo "make demo: the rehearsal wrote no report (exit $code); see $run/journal.json" >&2
  exit 1
fi
echo "== what it found (${elapsed} s)"
"$build/fixtures/demo_check" "$run" scenarios/demo-expected.json
check=$?
echo
if [ "$code" -eq 1 ]; then
  echo "rehearse run exited 1 (regressions found): expected here, the regressions are PLANTED in v2."
else
  echo "rehearse run exited $code; with the planted regressions it should exit 1." >&2
  check=1
fi
echo "Report:  $run/report.html"
echo "Journal: $run/journal.json   Junit: $run/junit.xml   Markdown: $run/summary.md"
exit "$check"
