#!/usr/bin/env bash
# Install the Debian packages rehearse needs, and the unprivileged OS user
# the embedded PostgreSQL runs as when rehearse itself runs as root.
#
#   scripts/install-deps.sh            what `make`, `make test`, `make demo` need
#   scripts/install-deps.sh --bench    also the peers measured in bench/
#   scripts/install-deps.sh --fixtures also the tools that (re)make fixtures
#
# As root it runs apt-get; otherwise it prints the exact command to run.
set -euo pipefail

core=(
  gcc make pkg-config libc6-dev
  libpcap-dev libcurl4-openssl-dev libjansson-dev libpq-dev libssl-dev zlib1g-dev
  libhttp-parser-dev libmicrohttpd-dev libcriterion-dev
  postgresql
  python3 python3-jsonschema
  python3-jsonpatch  # tests: an independent RFC 6902 implementation checks json-diff's patches
  chromium           # tests: report.html opened in headless Chromium (XSS corpus, screenshots)
  libxml2-utils      # tests: xmllint validates junit.xml against its schema
  cmark-gfm          # tests: summary.md rendered by GitHub's Markdown implementation
  python3-yaml       # tests: deploy/kubernetes manifests parsed and checked
)
bench=(tshark wrk nginx-light hyperfine tcpdump time)
fixtures=(tcpdump tshark python3 python3-scapy iproute2 nginx-light curl)

want=("${core[@]}")
for arg in "$@"; do
  case "$arg" in
    --bench) want+=("${bench[@]}") ;;
    --fixtures) want+=("${fixtures[@]}") ;;
    *) echo "install-deps: unknown option '$arg' (expected --bench or --fixtures)" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${want[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -ne 0 ]; then
  cmd="apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run as root: apt-get update && $cmd" >&2
    exit 3
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PostgreSQL refuses to run as root; rehearse starts its embedded cluster as
# this user when it runs as root (harness/pg_cluster.c).
if [ "$(id -u)" -eq 0 ] && ! id rehearse >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin rehearse
  echo "install-deps: created system user 'rehearse' for the embedded PostgreSQL"
fi
exit 0
