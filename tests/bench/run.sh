#!/usr/bin/env bash
# make bench [SCENARIO=name] -> tests/bench/run.sh [SCENARIO...]
#
# Thin wrapper: makes sure the peers (nginx, HAProxy) and the load generator (wrk) are
# installed, then hands over to bench.py, which runs the scenarios and writes
# build/bench/report.{md,json}. Every server the harness starts is recorded in
# build/bench/work/pids ("pgid starttime" per line); the EXIT trap below kills whatever is
# still alive from that list, so nothing outlives the run even if Python is killed hard.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export PATH="$PATH:/usr/sbin:/sbin"
export PYTHONDONTWRITEBYTECODE=1

# --- peers and tools from Debian's packages ------------------------------------------------
need=()
command -v nginx   >/dev/null 2>&1 || need+=(nginx-light)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v wrk     >/dev/null 2>&1 || need+=(wrk)
command -v taskset >/dev/null 2>&1 || need+=(util-linux)
# TLS scenarios: certificates (openssl CLI, python3-cryptography for the mesh PKI) and the
# C compiler for wrk's no-resumption shim (see harness/tls.py).
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v cc      >/dev/null 2>&1 || need+=(gcc libc6-dev)
python3 -c 'import cryptography' >/dev/null 2>&1 || need+=(python3-cryptography)
# The lua scenario's peer: nginx with the Lua module (OpenResty's, Debian's package).
[ -e /usr/share/nginx/modules/ngx_http_lua_module.so ] || need+=(libnginx-mod-http-lua)
if ((${#need[@]})); then
  echo "bench: installing ${need[*]}" >&2
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  # The packages' postinst would start nginx/haproxy as system services; forbid that for the
  # duration of the install (the standard Debian policy-rc.d mechanism), we run them ourselves.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  rc=0
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" || rc=$?
  [ "$made_policy" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || { echo "bench: apt-get install failed" >&2; exit "$rc"; }
fi

# --- run ---------------------------------------------------------------------------------
# The idle scenario holds 10 000 connections per proxy; HAProxy wants two descriptors per
# connection it may proxy. Raise the descriptor limit where allowed (root may raise the hard
# limit too); the scenario checks what it got.
ulimit -Hn 65536 2>/dev/null || true
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
# One bench at a time on this machine: two runs would share the pinned CPUs and the fixed
# ports (BENCH_PORT_BASE) and make each other's figures meaningless. A second `make bench`
# (from another checkout too) waits here for the first.
exec 9>"${BENCH_LOCK:-/tmp/gatehouse-bench.lock}"
if ! flock -n 9; then
  echo "bench: another make bench is running on this machine; waiting for it" >&2
  flock 9
fi

export BENCH_OUT="${BENCH_OUT:-$ROOT/build/bench}"
export BENCH_WORK="$BENCH_OUT/work"
mkdir -p "$BENCH_OUT"

cleanup() {
  local f="$BENCH_WORK/pids" pid start now
  [ -f "$f" ] || return 0
  while read -r pid start; do
    [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || continue
    # Field 22 is the start time: only kill the process group we started, never a reused pid.
    now=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $20}') || continue
    [ "$now" = "$start" ] || continue
    kill -TERM -- "-$pid" 2>/dev/null || true
    sleep 0.5
    kill -KILL -- "-$pid" 2>/dev/null || true
  done < "$f"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PY=python3
command -v python3 >/dev/null 2>&1 || PY=/usr/bin/python3
"$PY" "$ROOT/tests/bench/bench.py" "$@"
