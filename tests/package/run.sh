#!/usr/bin/env bash
# The packaging test (`make test-package`, needs root): the .deb as an administrator meets it.
#
#   build the .deb -> lintian (no errors, no warnings) -> dpkg -i on this machine ->
#   systemd-analyze verify and security (exposure <= 2.0) on the installed unit -> owner and
#   mode of every installed path -> the installed binary: version, static, validate, man page,
#   completion -> `gatehouse run` as the gatehouse user the way the unit runs it (umask 077,
#   $GATEHOUSE_DATA_DIR, the unit's ExecStartPre), with a NOTIFY_SOCKET that this test reads:
#   READY=1 only after /ready, RELOADING=1/READY=1 on SIGHUP, WATCHDOG=1, STOPPING=1 ->
#   `gatehouse apply` a configuration version -> upgrade to a rebuilt package with a higher
#   version: the version and a local conffile edit survive -> dpkg -r keeps the data ->
#   dpkg -P deletes it and every trace of the unit.
#
# systemd does not run here as PID 1 (CI containers), so the unit is checked statically and the
# notify protocol is checked against this test's own socket; the maintainer scripts take the
# no-systemd branch, as on image builds.
#
# The machine is left as it was found: the test refuses to start when a gatehouse package, user
# or /var/lib/gatehouse exists already, and on any exit it purges the package and deletes the
# user and group it made. usage: tests/package/run.sh [BINARY]   (default build/gatehouse)
set -euo pipefail

cd "$(dirname "$0")/../.."
root=$PWD
binary=${1:-build/gatehouse}
version=$(cat VERSION)
start=$(date +%s)
tmp=$(mktemp -d /tmp/gatehouse-package-test.XXXXXX)
chmod 0755 "$tmp"  # the gatehouse user reads the test's config and notify socket here
log=$tmp/log
data=/var/lib/gatehouse
unit=/lib/systemd/system/gatehouse.service
server_pid=""
listener_pid=""
made_user=0

say() { printf 'package: %s\n' "$*"; }
fail() {
  printf 'package: FAIL: %s\n' "$*" >&2
  exit 1
}
check() {  # check DESCRIPTION COMMAND...: runs it; on failure shows its output and fails
  local what=$1
  shift
  : >"$log"
  if ! "$@" >"$log" 2>&1; then
    tail -20 "$log" >&2
    fail "$what"
  fi
}

[ "$(id -u)" -eq 0 ] || fail "needs root (dpkg -i, a system user)"
[ -x "$binary" ] || fail "$binary not built (make)"
if dpkg-query -W -f='${Status}' gatehouse 2>/dev/null | grep -qv "not-installed"; then
  fail "a gatehouse package is already on this machine: this test would replace it"
fi
getent passwd gatehouse >/dev/null && fail "user gatehouse exists: this test would delete it"
getent group gatehouse >/dev/null && fail "group gatehouse exists: this test would delete it"
[ -e "$data" ] && fail "$data exists: this test would delete it"
[ -e /etc/gatehouse ] && fail "/etc/gatehouse exists: this test would delete it"

cleanup() {
  local rc=$?
  set +e
  if [ -n "$server_pid" ]; then
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  if [ -n "$listener_pid" ]; then
    kill "$listener_pid" 2>/dev/null
    wait "$listener_pid" 2>/dev/null
  fi
  if dpkg-query -W -f='${Status}' gatehouse 2>/dev/null | grep -qv "not-installed"; then
    dpkg -P gatehouse >/dev/null 2>&1 || true
  fi
  if [ "$made_user" = 1 ]; then
    getent passwd gatehouse >/dev/null && deluser --quiet --system gatehouse >/dev/null 2>&1
    getent group gatehouse >/dev/null && delgroup --quiet --system gatehouse >/dev/null 2>&1
  fi
  rm -rf "$tmp" "$root/build/deb"
  rm -f "$root"/build/gatehouse_*+pkgtest*_amd64.deb
  local left=""
  dpkg-query -W gatehouse >/dev/null 2>&1 && left+=" the package"
  getent passwd gatehouse >/dev/null && [ "$made_user" = 1 ] && left+=" the user"
  [ -e "$data" ] && [ "$made_user" = 1 ] && left+=" $data"
  if [ -n "$left" ]; then
    say "cleanup could not remove:$left"
    rc=1
  fi
  if [ $rc -eq 0 ]; then
    say "ok ($(($(date +%s) - start)) s)"
  else
    say "failed after $(($(date +%s) - start)) s"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port_free() {
  python3 -c "import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try: s.bind(('127.0.0.1',$1))
except OSError: sys.exit(1)"
}

# ---- build and lint ---------------------------------------------------------------------------
say "building the package ($version) and a rebuild as $version+pkgtest1"
check "make deb" packaging/build-deb.sh "$binary" build
check "the upgrade package" packaging/build-deb.sh "$binary" build "$version+pkgtest1"
deb=build/gatehouse_${version}_amd64.deb
deb2=build/gatehouse_${version}+pkgtest1_amd64.deb
dpkg --compare-versions "$version+pkgtest1" gt "$version" || fail "the rebuild's version is not higher"

say "lintian"
lintian --allow-root --fail-on error,warning --display-info "$deb" >"$tmp/lintian" 2>&1 ||
  { cat "$tmp/lintian" >&2; fail "lintian reports errors or warnings"; }
sed 's/^/  /' "$tmp/lintian"
say "lintian: $(grep -c '^E:' "$tmp/lintian" || true) errors, $(grep -c '^W:' "$tmp/lintian" || true) warnings, $(grep -c '^I:' "$tmp/lintian" || true) info"

# ---- install ------------------------------------------------------------------------------------
say "dpkg -i"
made_user=1  # from here on the user is the test's to delete
dpkg -i "$deb" >"$tmp/install" 2>&1 || { cat "$tmp/install" >&2; fail "dpkg -i"; }
grep -q "http://127.0.0.1:9901/" "$tmp/install" || fail "the first install does not say where the admin UI is"
grep -q "$data/initial-admin-password" "$tmp/install" ||
  fail "the first install does not say where the admin password is"
[ "$(dpkg-query -W -f='${Status} ${Version}' gatehouse)" = "install ok installed $version" ] ||
  fail "dpkg does not list gatehouse $version as installed"

say "the system user"
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd gatehouse)
[ "$uid" -lt 1000 ] || fail "user gatehouse is not a system user (uid $uid)"
[ "$(getent group gatehouse | cut -d: -f3)" = "$gid" ] || fail "gatehouse's primary group is not gatehouse"
[ "$home" = "$data" ] || fail "gatehouse's home is $home, not $data"
[ "$shell" = /usr/sbin/nologin ] || fail "gatehouse's shell is $shell"

say "systemd-analyze verify and security"
check "systemd-analyze verify" systemd-analyze verify "$unit"
systemd-analyze security --offline=true --no-pager "$unit" >"$tmp/security" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for gatehouse.service: \([0-9.]*\).*/\1/p' "$tmp/security")
[ -n "$score" ] || { cat "$tmp/security" >&2; fail "no exposure level in systemd-analyze security"; }
say "systemd-analyze security: $(grep 'Overall exposure' "$tmp/security" | sed 's/^→ *//')"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure level $score is above 2.0"
systemd-analyze security --offline=true --threshold=20 --no-pager "$unit" >/dev/null 2>&1 ||
  fail "systemd-analyze security --threshold=20 disagrees with the parsed score $score"
[ -L /etc/systemd/system/multi-user.target.wants/gatehouse.service ] ||
  fail "the unit is not enabled (no multi-user.target.wants link)"

say "owner and mode of every installed path"
expected_mode() {  # the mode a packaged path must have
  local p=$1
  if [ -d "$p" ]; then echo 755
  elif [ "$p" = /usr/bin/gatehouse ]; then echo 755
  elif [[ $p == /usr/share/doc/gatehouse/examples/* ]]; then
    [ -x "examples/${p#/usr/share/doc/gatehouse/examples/}" ] && echo 755 || echo 644
  else echo 644
  fi
}
n=0
while read -r p; do
  [ -e "$p" ] || [ -L "$p" ] || fail "$p is listed by dpkg but missing"
  # Directories shared with other packages (/usr, /etc, ...) are theirs to set.
  case $p in /. | /etc | /lib | /lib/systemd | /lib/systemd/system | /usr | /usr/bin | /usr/share | \
    /usr/share/doc | /usr/share/man | /usr/share/man/man1 | /usr/share/lintian | \
    /usr/share/lintian/overrides | /usr/share/bash-completion | \
    /usr/share/bash-completion/completions) continue ;;
  esac
  got=$(stat -c '%U:%G %a' "$p")
  [ "$got" = "root:root $(expected_mode "$p")" ] ||
    fail "$p is $got, expected root:root $(expected_mode "$p")"
  n=$((n + 1))
done < <(dpkg -L gatehouse)
[ "$(stat -c '%U:%G %a' "$data")" = "gatehouse:gatehouse 700" ] ||
  fail "$data is $(stat -c '%U:%G %a' "$data"), expected gatehouse:gatehouse 700"
say "  $n packaged paths root:root with their modes; $data gatehouse:gatehouse 0700"

# ---- the installed binary -----------------------------------------------------------------------
say "the installed binary"
[ "$(/usr/bin/gatehouse version | sed -n 1p)" = "gatehouse $version" ] || fail "gatehouse version"
grep -q "not a dynamic executable" <<<"$(ldd /usr/bin/gatehouse 2>&1 || true)" ||
  fail "/usr/bin/gatehouse is not static"
check "validate the packaged examples" /usr/bin/gatehouse validate \
  -f /usr/share/doc/gatehouse/examples/edge/ \
  --baseline /usr/share/doc/gatehouse/examples/baseline.yaml
[ "$(man -w gatehouse)" = /usr/share/man/man1/gatehouse.1.gz ] || fail "man -w gatehouse"
MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z /usr/share/man/man1/gatehouse.1.gz \
  >/dev/null 2>"$tmp/man" || fail "the man page does not render"
[ -s "$tmp/man" ] && { cat "$tmp/man" >&2; fail "groff warns about the man page"; }
for c in $(/usr/bin/gatehouse --help | awk '/^Commands:/{on=1;next} on&&/^  [a-z]/{print $1}'); do
  zgrep -q "^\.SS \"gatehouse $c\"" /usr/share/man/man1/gatehouse.1.gz ||
    fail "the man page has no section for gatehouse $c"
done
if [ -r /usr/share/bash-completion/bash_completion ]; then
  got=$(bash -c 'source /usr/share/bash-completion/bash_completion
    source /usr/share/bash-completion/completions/gatehouse
    COMP_WORDS=(gatehouse ca token ""); COMP_CWORD=3; COMP_LINE="gatehouse ca token "
    COMP_POINT=${#COMP_LINE}; _gatehouse; echo "${COMPREPLY[*]}"')
  [ "$got" = "create list" ] || fail "bash completion of 'gatehouse ca token ' gave '$got'"
fi

# ---- running it the way the unit does -----------------------------------------------------------
# A unix datagram socket playing systemd's part: every datagram becomes one line of notify.log
# (newlines inside a datagram as '|').
notify_sock=$tmp/notify.sock
python3 -u - "$notify_sock" "$tmp/notify.log" >/dev/null 2>&1 <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode().replace("\n", "|") + "\n")
EOF
listener_pid=$!
for _ in $(seq 50); do [ -S "$notify_sock" ] && break; sleep 0.1; done
[ -S "$notify_sock" ] || fail "the test's notify socket did not come up"
touch "$tmp/notify.log"

pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
[ -n "$pre" ] || fail "the unit has no ExecStartPre"
as_service() {  # runs a command as the service does: its user, umask, environment, directory
  setpriv --reuid=gatehouse --regid=gatehouse --init-groups \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin GATEHOUSE_DATA_DIR="$data" "$@"
}
admin_port=$(free_port)

notify_wait() {  # notify_wait PATTERN SECONDS: a notify.log line after the mark matches
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    grep -q -- "$1" <(tail -n +"$mark" "$tmp/notify.log") && return 0
    sleep 0.1
  done
  return 1
}
ready_body() { curl -s --max-time 2 "http://127.0.0.1:$admin_port/ready" || true; }
ready_line() { local b; b=$(ready_body); echo "${b%%$'\n'*}"; }

start_server() {  # start_server [ENV=VALUE...]: gatehouse run as the unit runs it; waits for /ready
  mark=$(($(wc -l <"$tmp/notify.log") + 1))
  check "ExecStartPre ($pre)" as_service sh -c "cd $data && $pre"
  # A simple command, not the as_service function: $! must be gatehouse's own pid (setpriv,
  # env and sh all exec), so that signals reach it.
  setpriv --reuid=gatehouse --regid=gatehouse --init-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    GATEHOUSE_DATA_DIR="$data" NOTIFY_SOCKET="$notify_sock" "$@" sh -c \
    "umask 0077; cd $data && exec /usr/bin/gatehouse run --workers 1 --admin 127.0.0.1:$admin_port" \
    >>"$tmp/server.log" 2>&1 &
  server_pid=$!
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(ready_body) == ready* ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; fail "gatehouse run exited"; }
    sleep 0.1
  done
  [[ $(ready_body) == ready* ]] || { cat "$tmp/server.log" >&2; fail "/ready did not answer ready"; }
  notify_wait '^READY=1' 2 || { cat "$tmp/notify.log" >&2; fail "no READY=1 on NOTIFY_SOCKET (Server::run must call notifyReady, core/server/notify.h)"; }
}
stop_server() {
  mark=$(($(wc -l <"$tmp/notify.log") + 1))
  kill -TERM "$server_pid"
  local rc=0
  wait "$server_pid" || rc=$?
  server_pid=""
  [ $rc -eq 0 ] || { cat "$tmp/server.log" >&2; fail "gatehouse run exited $rc on SIGTERM"; }
  notify_wait '^STOPPING=1' 1 || { cat "$tmp/notify.log" >&2; fail "no STOPPING=1 on SIGTERM"; }
}
check_data_private() {  # the data dir is the service's: its own files, keys 0600, dirs 0700
  local bad
  bad=$(find "$data" \( ! -user gatehouse -o ! -group gatehouse -o -perm /022 \
    -o \( -type d -perm /077 \) -o \( -name '*.key' -perm /077 \) \) -printf '%p %u:%g %m\n')
  [ -z "$bad" ] || fail "in $data, not the service's own or too open: $bad"
}

if port_free 8080; then
  say "first start on the empty data dir (the embedded default), as the gatehouse user"
  start_server WATCHDOG_USEC=200000
  grep -qi "gatehouse" <<<"$(curl -s --max-time 2 http://127.0.0.1:8080/ || true)" ||
    fail "no welcome page on :8080"
  notify_wait '^WATCHDOG=1' 2 || { cat "$tmp/notify.log" >&2; fail "no WATCHDOG=1 with WATCHDOG_USEC set"; }
  mark=$(($(wc -l <"$tmp/notify.log") + 1))
  kill -HUP "$server_pid"
  notify_wait '^RELOADING=1|MONOTONIC_USEC=' 2 || { cat "$tmp/notify.log" >&2; fail "no RELOADING=1 on SIGHUP"; }
  notify_wait '^READY=1' 2 || { cat "$tmp/notify.log" >&2; fail "no READY=1 after the reload"; }
  stop_server
  [ -f "$data/config.db" ] && [ -d "$data/ca" ] || fail "the first start made no config.db or CA"
  check_data_private
else
  say "port 8080 is in use here: the first start on the embedded default is skipped"
fi

say "gatehouse apply: a configuration version to keep across the upgrade"
site_port=$(free_port)
cat >"$tmp/site.yaml" <<EOF
apiVersion: gatehouse.dev/v1
kind: Listener
metadata: {name: pkgtest}
spec: {address: 127.0.0.1, port: $site_port, protocol: HTTP}
---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {name: pkgtest}
spec:
  directResponse: {status: 200, contentType: text/plain, body: "package test site"}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: pkgtest}
spec:
  parentRefs: [{name: pkgtest}]
  rules:
    - backendRefs: [{name: pkgtest}]
EOF
chmod 0644 "$tmp/site.yaml"
check "gatehouse apply as the gatehouse user" \
  as_service /usr/bin/gatehouse apply -f "$tmp/site.yaml" --prune --message "package test"
check "gatehouse backup as the gatehouse user" \
  as_service /usr/bin/gatehouse backup "$data/pkgtest-backup.db"
[ -s "$data/pkgtest-backup.db" ] || fail "gatehouse backup wrote nothing"
rm -f "$data/pkgtest-backup.db"
start_server
kept=$(ready_line)
[[ $kept == "ready: version "* ]] || fail "/ready says '$kept'"
grep -q "package test site" <<<"$(curl -s --max-time 2 "http://127.0.0.1:$site_port/" || true)" ||
  fail "the applied listener does not answer"
stop_server
for k in listener service httproute; do as_service /usr/bin/gatehouse get "$k" -o yaml; done \
  >"$tmp/config-before"
check_data_private
echo "# a local edit the upgrade must keep" >>/etc/gatehouse/gatehouse.env

# ---- upgrade, remove, purge ---------------------------------------------------------------------
say "upgrade to $version+pkgtest1"
dpkg -i "$deb2" >"$tmp/upgrade" 2>&1 || { cat "$tmp/upgrade" >&2; fail "dpkg -i (upgrade)"; }
[ "$(dpkg-query -W -f='${Version}' gatehouse)" = "$version+pkgtest1" ] || fail "not upgraded"
grep -q "Gatehouse is installed" "$tmp/upgrade" && fail "the upgrade repeats the first-install message"
grep -q "a local edit the upgrade must keep" /etc/gatehouse/gatehouse.env ||
  fail "the upgrade lost a local edit of /etc/gatehouse/gatehouse.env"
for k in listener service httproute; do as_service /usr/bin/gatehouse get "$k" -o yaml; done \
  >"$tmp/config-after"
cmp -s "$tmp/config-before" "$tmp/config-after" || fail "the configuration changed in the upgrade"
start_server
[ "$(ready_line)" = "$kept" ] || fail "after the upgrade /ready says '$(ready_line)', before '$kept'"
grep -q "package test site" <<<"$(curl -s --max-time 2 "http://127.0.0.1:$site_port/" || true)" ||
  fail "the applied listener does not answer after the upgrade"
stop_server
check_data_private

say "dpkg -r: the program goes, the data and the conffile stay"
check "dpkg -r" dpkg -r gatehouse
[ ! -e /usr/bin/gatehouse ] && [ ! -e "$unit" ] || fail "dpkg -r left the binary or the unit"
[ -f "$data/config.db" ] || fail "dpkg -r deleted $data/config.db"
[ -f /etc/gatehouse/gatehouse.env ] || fail "dpkg -r deleted the conffile"
getent passwd gatehouse >/dev/null || fail "dpkg -r deleted the user"
[ "$(dpkg-query -W -f='${Status}' gatehouse)" = "deinstall ok config-files" ] ||
  fail "dpkg status after remove: $(dpkg-query -W -f='${Status}' gatehouse)"

say "dpkg -P: the data, the conffile and the unit's links go; the user stays (Debian practice)"
check "dpkg -P" dpkg -P gatehouse
for p in "$data" /etc/gatehouse /etc/systemd/system/gatehouse.service \
  /etc/systemd/system/multi-user.target.wants/gatehouse.service \
  /var/lib/systemd/deb-systemd-helper-enabled/gatehouse.service.dsh-also \
  /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/gatehouse.service \
  /var/lib/systemd/deb-systemd-helper-masked/gatehouse.service; do
  [ -e "$p" ] || [ -L "$p" ] && fail "dpkg -P left $p"
done
dpkg-query -W -f='${Status}' gatehouse 2>/dev/null | grep -qv "not-installed" &&
  fail "dpkg still knows gatehouse after purge"
getent passwd gatehouse >/dev/null || fail "purge deleted the system user (it should stay)"
# The user is the test's to delete (cleanup); a package never deletes it.
exit 0
