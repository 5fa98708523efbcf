#!/usr/bin/env bash
# Browser tests of the admin UI (spec/admin.md): playwright-core drives Debian's chromium,
# headless. Installs chromium (apt) and playwright-core (npm ci) when missing; npm never
# downloads a browser. Screenshots of every screen go to build/screenshots/.
#
# usage: tests/browser/run.sh [path/to/gatehouse]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export GATEHOUSE_BIN="$(realpath "${1:-$root/build/gatehouse}")"
export SCREENSHOT_DIR="$root/build/screenshots"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

if [ -z "${CHROMIUM:-}" ]; then
  CHROMIUM="$(command -v chromium || true)"
  if [ -z "$CHROMIUM" ]; then
    echo "browser tests: installing chromium (apt)"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
    CHROMIUM="$(command -v chromium)"
  fi
fi
export CHROMIUM
if ! command -v node >/dev/null; then
  echo "browser tests: installing nodejs and npm (apt)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
cd "$here"
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
mkdir -p "$SCREENSHOT_DIR"
start=$(date +%s)
node --test --test-concurrency=1 --test-reporter=spec admin_ui.test.mjs
echo "browser tests: $(( $(date +%s) - start ))s, screenshots in $SCREENSHOT_DIR"
