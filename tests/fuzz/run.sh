#!/usr/bin/env bash
# Builds and runs the codec fuzzers: clang libFuzzer with AddressSanitizer and UBSan.
#
#   tests/fuzz/run.sh SECONDS TARGET...     e.g. tests/fuzz/run.sh 60 http_request_fuzzer
#
# Each TARGET is the basename of tests/fuzz/TARGET.cc. It is built into build/fuzz/TARGET, its
# seed corpus (tests/fuzz/corpus/TARGET) is copied into a working corpus under
# build/fuzz/corpus/TARGET (so new inputs never land in the repository), and it runs for
# SECONDS with the HTTP dictionary. Crash, leak, timeout and OOM inputs go to
# build/fuzz/artifacts/TARGET/. Exits non-zero if any target failed to build or found
# anything; each finding's input path is printed. A crash worth keeping belongs in the seed
# corpus as a regression once fixed.
#
# Each fuzzer links only the module it tests (see sources_for), so it builds while other modules
# are mid-change. Targets run one after another on one core: the machine is shared.

set -u
cd "$(dirname "$0")/../.."

if [ $# -lt 2 ]; then
  echo "usage: $0 SECONDS TARGET..." >&2
  exit 2
fi
seconds=$1
shift

CXX=${FUZZ_CXX:-clang++}
BSSL=build/third_party/boringssl
CXXFLAGS="-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I.
          -isystem $BSSL/include"
CODEC_SRCS="core/http/parser.cc core/http/chunked.cc core/http/path.cc core/http/field_syntax.cc
            core/base/strings.cc"
CONFIG_SRCS="core/config/decode.cc core/config/validate.cc core/config/model.cc
             core/config/ip_block.cc core/identity/spiffe.cc
             core/config/yaml_tree.cc core/config/yaml_fields.cc core/config/yaml_write.cc
             core/base/strings.cc core/base/log.cc core/base/sha256.cc core/identity/verify.cc
             core/identity/x509_util.cc
             core/tls/server_context.cc core/tls/ticket_keys.cc core/tls/peer.cc"
# Validation loads TLS certificates, so the config fuzzers link BoringSSL (built by `make`).
CONFIG_LIBS="-lyaml -lre2 $BSSL/lib/libssl.a $BSSL/lib/libcrypto.a -lpthread"
BASELINE_SRCS="core/config/baseline.cc core/config/baseline_document.cc core/config/baseline_lint.cc
               core/config/baseline_rules.cc"
OUT=build/fuzz

# What each target links and which dictionary it uses.
sources_for() {
  case "$1" in
    config_fuzzer) echo "$CONFIG_SRCS $CONFIG_LIBS" ;;
    baseline_fuzzer) echo "$CONFIG_SRCS $BASELINE_SRCS $CONFIG_LIBS" ;;
    identity_fuzzer) echo "core/identity/spiffe.cc core/identity/token.cc core/identity/encoding.cc core/identity/files.cc
                          core/base/sha256.cc core/base/strings.cc $CONFIG_LIBS" ;;
    enrollment_fuzzer) echo "core/identity/enrollment_wire.cc core/base/strings.cc" ;;
    ip_block_fuzzer) echo "core/config/ip_block.cc" ;;
    health_status_fuzzer) echo "core/upstream/health_status.cc" ;;
    trace_context_fuzzer) echo "core/telemetry/trace_context.cc" ;;
    script_fuzzer) echo "-isystem /usr/include/luajit-2.1 core/script/runtime.cc core/script/bindings.cc
                         core/script/script_set.cc core/script/shared_dict.cc core/base/log.cc
                         -l:libluajit-5.1.a -ldl -lpthread" ;;
    *) echo "$CODEC_SRCS" ;;
  esac
}
dict_for() {
  case "$1" in
    config_fuzzer | baseline_fuzzer) echo tests/fuzz/dict/config.dict ;;
    identity_fuzzer) echo tests/fuzz/dict/identity.dict ;;
    enrollment_fuzzer) echo tests/fuzz/dict/enrollment.dict ;;
    ip_block_fuzzer) echo tests/fuzz/dict/ip_block.dict ;;
    trace_context_fuzzer) echo tests/fuzz/dict/trace.dict ;;
    script_fuzzer) echo tests/fuzz/dict/lua.dict ;;
    *) echo tests/fuzz/dict/http.dict ;;
  esac
}

status=0
for target in "$@"; do
  src=tests/fuzz/$target.cc
  if [ ! -f "$src" ]; then
    echo "fuzz: $target: no $src" >&2
    status=1
    continue
  fi
  mkdir -p "$OUT/corpus/$target" "$OUT/artifacts/$target"
  echo "fuzz: building $target"
  # shellcheck disable=SC2086  # CXXFLAGS and the source list are word lists
  if ! $CXX $CXXFLAGS $src $(sources_for "$target") -o "$OUT/$target"; then
    echo "fuzz: $target: build failed" >&2
    status=1
    continue
  fi
  if [ -d "tests/fuzz/corpus/$target" ]; then
    cp -n "tests/fuzz/corpus/$target"/* "$OUT/corpus/$target/" 2>/dev/null || true
  fi
  log=$OUT/$target.log
  echo "fuzz: running $target for ${seconds}s (log: $log)"
  before=$(ls "$OUT/artifacts/$target" | wc -l)
  "$OUT/$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -dict="$(dict_for "$target")" -artifact_prefix="$OUT/artifacts/$target/" \
    "$OUT/corpus/$target" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(ls "$OUT/corpus/$target" | wc -l)
  echo "fuzz: $target: exit $rc, ${runs:-?} runs, ${speed:-?} exec/s, corpus $corpus files"
  after=$(ls "$OUT/artifacts/$target" | wc -l)
  if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
    status=1
    echo "fuzz: $target FOUND A PROBLEM; last lines of $log:" >&2
    grep -E "ERROR|FUZZ_CHECK|runtime error|SUMMARY" "$log" | head -5 >&2
    grep -E "Test unit written to" "$log" | sed 's/^.*written to /fuzz: input: /' >&2
  fi
done
exit $status
