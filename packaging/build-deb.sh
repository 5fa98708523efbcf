#!/usr/bin/env bash
# Builds the Debian package from a built binary: `make deb` runs it.
#
# usage: packaging/build-deb.sh BINARY OUTDIR [DEB_VERSION]
#
# A dpkg-deb layout, assembled with Debian's own tools: dpkg-gencontrol writes DEBIAN/control
# from packaging/debian/control and the changelog (Installed-Size, Version), dpkg-deb builds.
# The version is the VERSION file, which is what `gatehouse version` prints; the newest entry of
# packaging/debian/changelog must name it. DEB_VERSION (the package test's upgrade) builds the
# same binary as another package version, with a changelog entry saying so.
#
# Files are root-owned in the package (--root-owner-group) and their modes are set here, not
# taken from the work tree. Timestamps are the changelog's date, so two builds of one binary
# give the same package.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
binary=${1:?usage: build-deb.sh BINARY OUTDIR [DEB_VERSION]}
outdir=${2:?usage: build-deb.sh BINARY OUTDIR [DEB_VERSION]}
version=$(cat "$root/VERSION")
debver=${3:-$version}
deb=$here/debian

fail() { echo "build-deb: $*" >&2; exit 1; }
for tool in dpkg-gencontrol dpkg-parsechangelog dpkg-deb python3 strip gzip; do
  command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install dpkg-dev python3 binutils)"
done

# One version: VERSION, the changelog, and what the binary says.
clver=$(dpkg-parsechangelog -l "$deb/changelog" -S Version)
[ "$clver" = "$version" ] ||
  fail "packaging/debian/changelog's newest entry is $clver but VERSION says $version: add an entry"
binver=$("$binary" version | sed -n 1p)
[ "$binver" = "gatehouse $version" ] ||
  fail "$binary says '$binver', VERSION says $version: rebuild it (make)"

stage=$outdir/deb/gatehouse_${debver}_amd64
rm -rf "$stage"
mkdir -p "$stage/DEBIAN"
work=$outdir/deb/work-$debver
rm -rf "$work"
mkdir -p "$work"

# The changelog of this package version (a DEB_VERSION rebuild gets its own entry on top).
changelog=$work/changelog
if [ "$debver" != "$version" ]; then
  date=$(dpkg-parsechangelog -l "$deb/changelog" -S Date)
  maint=$(dpkg-parsechangelog -l "$deb/changelog" -S Maintainer)
  {
    printf 'gatehouse (%s) unstable; urgency=medium\n\n' "$debver"
    printf '  * Rebuild of %s as package version %s.\n\n' "$version" "$debver"
    printf ' -- %s  %s\n\n' "$maint" "$date"
    cat "$deb/changelog"
  } >"$changelog"
else
  cp "$deb/changelog" "$changelog"
fi
sde=$(dpkg-parsechangelog -l "$changelog" -S Timestamp)
mandate=$(date -u -d "@$sde" +%Y-%m-%d)

inst() {  # inst MODE SRC DEST (DEST relative to the package root)
  install -D -m "$1" "$2" "$stage/$3"
}

# The binary, stripped (the unstripped one stays in build/ for debugging).
inst 0755 "$binary" usr/bin/gatehouse
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/gatehouse"

inst 0644 "$here/systemd/gatehouse.service" lib/systemd/system/gatehouse.service
inst 0644 "$deb/gatehouse.env" etc/gatehouse/gatehouse.env
inst 0644 "$here/bash-completion/gatehouse" usr/share/bash-completion/completions/gatehouse
inst 0644 "$deb/lintian-overrides" usr/share/lintian/overrides/gatehouse

# The man page, from the binary's own help.
python3 "$here/manpage.py" "$binary" "$version" "$mandate" >"$work/gatehouse.1"
mkdir -p "$stage/usr/share/man/man1"
gzip -9n <"$work/gatehouse.1" >"$stage/usr/share/man/man1/gatehouse.1.gz"

# Documentation and examples. A native package's changelog is changelog.gz.
doc=usr/share/doc/gatehouse
inst 0644 "$deb/copyright" "$doc/copyright"
mkdir -p "$stage/$doc"
gzip -9n <"$changelog" >"$stage/$doc/changelog.gz"
inst 0644 "$root/docs/operations.md" "$doc/operations.md"
(cd "$root/examples" && find . -type f) | LC_ALL=C sort | while read -r f; do
  mode=0644
  [ -x "$root/examples/$f" ] && mode=0755
  inst "$mode" "$root/examples/$f" "$doc/examples/${f#./}"
done

# Maintainer scripts and conffiles.
install -m 0755 "$deb/postinst" "$deb/prerm" "$deb/postrm" "$stage/DEBIAN/"
install -m 0644 "$deb/conffiles" "$stage/DEBIAN/"

# The Debian source packages linked into the binary, for Built-Using. (Static-Built-Using is
# the newer field for this, but bookworm's dpkg and lintian do not know it yet.)
srcver() { dpkg-query -W -f='${source:Package} (= ${source:Version})' "$1"; }
bssl=$(sed -n 's/^Version: //p' "$root"/build/third_party/boringssl/apt/dl/*.dsc 2>/dev/null | head -1)
built_using=""
[ -n "$bssl" ] && built_using="android-platform-external-boringssl (= $bssl)"
for p in libevent-dev libluajit2-5.1-dev libsqlite3-dev libre2-dev libyaml-dev libc6-dev \
  libstdc++-12-dev; do
  built_using+="${built_using:+, }$(srcver "$p")"
done

find "$stage" -type d -exec chmod 0755 {} +
dpkg-gencontrol -c"$deb/control" -l"$changelog" -f"$work/files" -T"$work/substvars" \
  -P"$stage" -v"$debver" \
  -V"gatehouse:Built-Using=$built_using"
chmod 0644 "$stage/DEBIAN/control"

(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -print | LC_ALL=C sort |
  sed 's|^\./||' | grep -v '^etc/' | xargs md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"

find "$stage" -exec touch -h -d "@$sde" {} +
out=$outdir/gatehouse_${debver}_amd64.deb
SOURCE_DATE_EPOCH=$sde dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
echo "build-deb: $out"
