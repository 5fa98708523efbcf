#!/usr/bin/env bash
# Runs promtool (Prometheus' checker) with the given arguments, e.g.
#
#   tests/tools/promtool.sh check metrics < scrape.txt
#
# promtool is taken from Debian's `prometheus` package without installing the server: the .deb
# is downloaded (apt-get download, no root needed) and only usr/bin/promtool is extracted into
# build/tools/. Quiet when it is already there. Exits 125 when promtool cannot be had (no apt,
# no network), so callers can tell "could not check" from "the check failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

tool=build/tools/promtool
if [ ! -x "$tool" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  if ! (cd "$work" && apt-get download prometheus >/dev/null 2>&1); then
    # A stale package list is the usual reason; refreshing it needs root.
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
    $SUDO apt-get update -qq >/dev/null 2>&1 || true
    (cd "$work" && apt-get download prometheus >/dev/null 2>&1) || {
      echo "promtool: cannot download Debian's prometheus package" >&2
      exit 125
    }
  fi
  dpkg-deb -x "$work"/prometheus_*.deb "$work/x" && mkdir -p build/tools &&
    cp "$work/x/usr/bin/promtool" "$tool" || { echo "promtool: extraction failed" >&2; exit 125; }
fi
exec "$tool" "$@"
