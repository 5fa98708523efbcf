#!/usr/bin/env bash
# Builds static libcrypto.a and libssl.a from Debian's android-platform-external-boringssl
# source package into $OUT (default build/third_party/boringssl).
#
# Why this way: Debian ships BoringSSL only as shared Android libraries, and the project must
# link statically and take every dependency from Debian. apt's source support fetches the
# package from the archive this machine already uses; debian/sources.mk in it names the files
# of each library, so we compile exactly what Debian's own build compiles, without cmake/go.
#
# Idempotent: does nothing when $OUT/lib/libssl.a is newer than this script.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-build/third_party/boringssl}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
if [ -f "$OUT/lib/libssl.a" ] && [ "$OUT/lib/libssl.a" -nt "$here/build.sh" ]; then
  exit 0
fi

src="$OUT/src"
if [ ! -f "$src/debian/sources.mk" ]; then
  work="$OUT/apt"
  rm -rf "$work" && mkdir -p "$work/lists/partial" "$work/dl"
  # Repeat the machine's own binary entries as deb-src entries, in a private list so the
  # machine's apt state is left untouched.
  srclist="$work/sources.list"
  : > "$srclist"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    grep -E '^deb ' "$f" | grep -E 'debian' | sed 's/^deb /deb-src /' >> "$srclist" || true
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822: keep stanzas whose URIs are Debian's archive.
    awk 'BEGIN{RS="";ORS="\n\n"} /URIs:[^\n]*debian\.org/ {sub(/Types: deb/,"Types: deb-src"); print}' "$f" \
      > "$work/$(basename "$f")"
  done
  opts=(-o "Dir::Etc::SourceList=$srclist" -o "Dir::Etc::SourceParts=$work"
        -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::archives=$work/dl"
        -o "APT::Sandbox::User=root")
  apt-get "${opts[@]}" update -qq >/dev/null
  (cd "$work/dl" && apt-get "${opts[@]}" source --download-only -qq android-platform-external-boringssl >/dev/null)
  rm -rf "$src" && mkdir -p "$src"
  tar -C "$src" --strip-components=1 -xf "$(ls "$work"/dl/*.orig.tar.* | head -1)"
  tar -C "$src" -xf "$(ls "$work"/dl/*.debian.tar.* | head -1)"
fi

# sources.mk is a Makefile fragment: crypto_sources, ssl_sources, linux_x86_64_sources.
cat > "$OUT/build.mk" <<'MK'
include $(SRC)/debian/sources.mk
CFLAGS_B := -I$(SRC)/src/include -I$(SRC)/src/crypto -DNDEBUG -O2 -fPIC -w
c_objs   := $(patsubst %,$(OBJ)/%.o,$(filter %.c,$(crypto_sources)))
asm_objs := $(patsubst %,$(OBJ)/%.o,$(linux_x86_64_sources))
ssl_objs := $(patsubst %,$(OBJ)/%.o,$(ssl_sources))
all: $(LIB)/libcrypto.a $(LIB)/libssl.a
$(LIB)/libcrypto.a: $(c_objs) $(asm_objs)
	@mkdir -p $(@D); rm -f $@; ar rcs $@ $^
$(LIB)/libssl.a: $(ssl_objs)
	@mkdir -p $(@D); rm -f $@; ar rcs $@ $^
$(OBJ)/%.c.o: $(SRC)/%.c
	@mkdir -p $(@D); $(CC) -std=gnu11 $(CFLAGS_B) -c $< -o $@
$(OBJ)/%.S.o: $(SRC)/%.S
	@mkdir -p $(@D); $(CC) $(CFLAGS_B) -c $< -o $@
$(OBJ)/%.cc.o: $(SRC)/%.cc
	@mkdir -p $(@D); $(CXX) -std=c++17 -fno-exceptions -fno-rtti $(CFLAGS_B) -c $< -o $@
MK
make -s -j"$(nproc)" -f "$OUT/build.mk" SRC="$src" OBJ="$OUT/obj" LIB="$OUT/lib" CC=gcc CXX=g++
rm -rf "$OUT/include" && cp -r "$src/src/include" "$OUT/include"
touch "$OUT/lib/libssl.a"
echo "boringssl: built $OUT/lib/libcrypto.a $OUT/lib/libssl.a"
