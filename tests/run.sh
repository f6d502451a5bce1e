#!/usr/bin/env bash
# Run the criterion test binaries given as arguments; print one summary.
# TESTS=pattern limits which binaries run (a substring of their name).
set -uo pipefail

failed=()
for bin in "$@"; do
  name=$(basename "$bin")
  if [ -n "${TESTS:-}" ] && [[ "$name" != *"$TESTS"* ]]; then
    continue
  fi
  echo "== $name"
  if ! "$bin" --short-filename ${CRITERION_ARGS:-}; then
    failed+=("$name")
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all test binaries passed"
