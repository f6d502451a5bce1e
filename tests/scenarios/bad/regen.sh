#!/usr/bin/env bash
# Regenerate the expected diagnostics of the bad scenarios from the current
# build, then review the diff (git diff tests/scenarios/bad) before committing.
# Each NAME.expected holds the located lines `rehearse run --check NAME.json`
# prints, without the "rehearse run: " prefix; @DIR@ stands for this
# directory's absolute path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${REHEARSE_BIN:-$here/../../../rehearse}
cd "$here"
for scenario in *.json; do
  name=${scenario%.json}
  "$bin" run --check "$scenario" 2>&1 >/dev/null |
    sed -n "s|^rehearse run: \($scenario:\)|\1|p" |
    sed "s|$here|@DIR@|g" >"$name.expected" || true
done
