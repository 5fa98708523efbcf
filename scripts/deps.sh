#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, if any is missing. Idempotent and
# quiet when everything is there. BoringSSL is not a package: the Makefile builds it from
# Debian's android-platform-external-boringssl source package (packaging/boringssl/build.sh).
set -euo pipefail

packages=(
  g++ make xz-utils ca-certificates       # toolchain; xz for the BoringSSL source tarballs
  libevent-dev libluajit2-5.1-dev libsqlite3-dev libre2-dev libyaml-dev   # static libraries
  catch2 python3 curl openssl             # unit and integration tests (openssl: cert checks)
  clang libclang-rt-14-dev                # make fuzz (libFuzzer, sanitizers)
  nodejs chromium                         # web UI build (npm ci, esbuild); browser tests
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm comes with some nodejs builds and is a package of its own in Debian's.
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
