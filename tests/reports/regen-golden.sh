#!/usr/bin/env bash
# Remake the golden report files (tests/reports/golden/NAME/) from the cases
# in tests/reports/golden/CASES, with ./rehearse (or $REHEARSE_BIN).  Review
# the result as a diff (git diff tests/reports/golden) before committing it.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${REHEARSE_BIN:-./rehearse}
[ -x "$bin" ] || { echo "regen-golden: build rehearse first (make)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -v '^#' tests/reports/golden/CASES | while read -r name diff context want; do
  [ -n "$name" ] || continue
  args=("fixtures/reports/$diff" -o "$tmp/$name" -q --format json,junit,markdown)
  [ "$context" = "-" ] || args+=(--context "fixtures/reports/$context")
  set +e
  "$bin" report "${args[@]}"
  rc=$?
  set -e
  if [ "$rc" != "$want" ]; then
    echo "regen-golden: $name: rehearse report exited $rc, CASES says $want" >&2
    exit 1
  fi
  mkdir -p "tests/reports/golden/$name"
  for f in report.json junit.xml summary.md; do
    cp "$tmp/$name/$f" "tests/reports/golden/$name/$f"
  done
  echo "regen-golden: $name"
done
