#!/usr/bin/env bash
# Regenerate the golden file of the response diff, then review it as a diff:
#
#   tests/diff/regen.sh && git diff tests/diff
#
# realistic.results.jsonl  made by build/fixtures/results_gen (fixtures/bin/results_gen.c)
# realistic.rules.json     written by hand
# realistic.DIFF.json      what `rehearse diff` makes of them, with a fixed
#                          redaction key, created_us as 0 and the output path
#                          as @OUT@ (tests/test_respdiff.c does the same)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
make -s -C "$root" all fixtures >/dev/null
"$root/build/fixtures/results_gen" realistic "$here/realistic.results.jsonl"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$here"
set +e
"$root/rehearse" diff realistic.results.jsonl --base old --candidate new --noise old2 \
  --rules realistic.rules.json --redact-key redact.key -o "$out/DIFF.json" -q
code=$?
set -e
if [ "$code" -ne 1 ]; then
  echo "regen.sh: rehearse diff exited $code, expected 1 (regressions)" >&2
  exit 1
fi
sed -E -e 's/"created_us": [0-9]+/"created_us": 0/' -e "s|$out/DIFF.json|@OUT@|g" \
  "$out/DIFF.json" > realistic.DIFF.json
echo "wrote $here/realistic.DIFF.json"
