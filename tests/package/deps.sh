#!/usr/bin/env bash
# The tools `make deb` and `make test-package` need beyond scripts/deps.sh, installed only when
# missing and quiet when all are there. Packaging-only: the build itself never needs them.
set -euo pipefail

packages=(
  dpkg-dev python3 binutils   # make deb: dpkg-gencontrol, dpkg-parsechangelog; the man page; strip
  lintian man-db              # lint the .deb; man -w and groff warnings of the man page
  systemd                     # systemd-analyze verify / security (systemd need not run)
  adduser passwd util-linux   # the package's dependency; getent, setpriv for the test
  curl bash-completion        # /ready; the completion check
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "package deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
