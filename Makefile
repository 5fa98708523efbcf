# Gatehouse — the only entry points: make, deps, run, test, fuzz, bench.
#
# Layout of build/:
#   build/third_party/boringssl/   static BoringSSL (built once, cached; see packaging/boringssl)
#   build/obj/                     our objects, mirrored from the source tree
#   build/gatehouse                the static binary
#   build/tests/                   unit test binaries

CXX      ?= g++
CXX      := $(if $(filter default,$(origin CXX)),g++,$(CXX))
BUILD    := build
BSSL     := $(BUILD)/third_party/boringssl
OPT      ?= -O2
CXXFLAGS := -std=c++20 $(OPT) -g -Wall -Wextra -Wno-unused-parameter -fno-plt \
            -I. -isystem $(BSSL)/include -isystem /usr/include/luajit-2.1 -MMD -MP
LDFLAGS  := -static -pthread
LIBS     := $(BSSL)/lib/libssl.a $(BSSL)/lib/libcrypto.a -l:libevent_core.a -l:libevent_extra.a \
            -l:libluajit-5.1.a -l:libsqlite3.a -l:libre2.a -l:libyaml.a -ldl -lm

CORE_SRCS := $(sort $(wildcard core/*/*.cc))
CORE_OBJS := $(CORE_SRCS:%.cc=$(BUILD)/obj/%.o)
CMD_SRCS  := $(sort $(wildcard cmd/gatehouse/*.cc))
CMD_OBJS  := $(CMD_SRCS:%.cc=$(BUILD)/obj/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/*/*.cc))
UNIT_OBJS := $(UNIT_SRCS:%.cc=$(BUILD)/obj/%.o)

.PHONY: all deps run test unit integration fuzz bench clean format
all: $(BUILD)/gatehouse

# Third-party builds are cached: our objects depend only on the stamp file.
$(BSSL)/lib/libssl.a: packaging/boringssl/build.sh
	@OUT=$(BSSL) packaging/boringssl/build.sh

VERSION_STRING := $(shell cat VERSION)
$(BUILD)/obj/core/server/versions.o: CXXFLAGS += -DGATEHOUSE_VERSION='"$(VERSION_STRING)"'
$(BUILD)/obj/core/server/versions.o: VERSION

$(BUILD)/obj/%.o: %.cc | $(BSSL)/lib/libssl.a
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/libgatehouse.a: $(CORE_OBJS)
	@rm -f $@; ar rcs $@ $^

$(BUILD)/gatehouse: $(CMD_OBJS) $(BUILD)/libgatehouse.a
	$(CXX) $(LDFLAGS) $(CMD_OBJS) $(BUILD)/libgatehouse.a $(LIBS) -o $@ 2> $(BUILD)/link.log || (cat $(BUILD)/link.log; false)

# Unit tests: one Catch2 binary mirroring core/. `make unit UNIT_ARGS='[http]'` runs a subset.
# `make unit-MODULE` builds and runs a binary with only core/base, core/MODULE and the modules
# named in DEPS_MODULE, so one module can be tested while another is mid-change.
$(BUILD)/obj/tests/unit/catch_main.o: tests/unit/catch_main.cc
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -O0 -c $< -o $@

$(BUILD)/tests/unit_tests: $(UNIT_OBJS) $(BUILD)/obj/tests/unit/catch_main.o $(BUILD)/libgatehouse.a
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $^ $(LIBS) -o $@ 2> $(BUILD)/link-unit.log || (cat $(BUILD)/link-unit.log; false)

DEPS_http     := base event net upstream config route telemetry tls identity policy script
DEPS_route    := base
DEPS_upstream := base event net
DEPS_config := base http route upstream net event telemetry tls identity policy script
DEPS_store  := base
DEPS_event  := base
DEPS_net    := base event
DEPS_tls    := base event net identity
DEPS_identity := base
DEPS_script := base
DEPS_policy := base config identity http route upstream net event telemetry tls script
DEPS_telemetry := base config identity http route upstream net event tls policy script
mod_objs = $(patsubst %.cc,$(BUILD)/obj/%.o,$(foreach m,base $(DEPS_$(1)) $(1),$(wildcard core/$(m)/*.cc)))
unit-%: $(BUILD)/obj/tests/unit/catch_main.o
	@$(MAKE) --no-print-directory $(call mod_objs,$*) $(patsubst %.cc,$(BUILD)/obj/%.o,$(wildcard tests/unit/$*/*.cc))
	@mkdir -p $(BUILD)/tests
	$(CXX) $(LDFLAGS) $^ $(sort $(call mod_objs,$*)) $(patsubst %.cc,$(BUILD)/obj/%.o,$(wildcard tests/unit/$*/*.cc)) $(LIBS) -o $(BUILD)/tests/unit_$* 2>$(BUILD)/link-$*.log || (cat $(BUILD)/link-$*.log; false)
	$(BUILD)/tests/unit_$* $(UNIT_ARGS)

unit: $(BUILD)/tests/unit_tests
	$(BUILD)/tests/unit_tests $(UNIT_ARGS)

integration: $(BUILD)/gatehouse
	python3 tests/integration/run.py $(IT_ARGS)

test: $(BUILD)/gatehouse $(BUILD)/tests/unit_tests
	$(BUILD)/tests/unit_tests
	python3 tests/integration/run.py $(IT_ARGS)
	tests/browser/run.sh $(BUILD)/gatehouse

deps:
	@scripts/deps.sh

run: deps $(BUILD)/gatehouse
	$(BUILD)/gatehouse run $(RUN_ARGS)

# Fuzzing: clang libFuzzer + ASan; each target runs FUZZ_SECONDS (default 60).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(basename $(notdir $(wildcard tests/fuzz/*_fuzzer.cc)))
fuzz: $(BSSL)/lib/libssl.a
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench: $(BUILD)/gatehouse
	@tests/bench/run.sh $(SCENARIO)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

# Debian package: build/gatehouse_$(VERSION)_amd64.deb (packaging/build-deb.sh). test-package
# installs, upgrades and purges it on this machine as root (tests/package/run.sh).
.PHONY: deb test-package
deb: $(BUILD)/gatehouse
	@tests/package/deps.sh
	@packaging/build-deb.sh $(BUILD)/gatehouse $(BUILD)

test-package: $(BUILD)/gatehouse
	@tests/package/deps.sh
	@tests/package/run.sh $(BUILD)/gatehouse

# Admin web UI (webui/, docs/admin.md): npm ci when the lockfile changes (never a browser
# download), esbuild bundles it, and build.mjs writes it as a table of files (with gzip forms and
# ETags) into build/gen/webui_assets.cc, linked through libgatehouse.a. `make browser` runs the
# Playwright tests against Debian's chromium (tests/browser/run.sh installs what is missing).
WEBUI_SRCS := $(sort $(wildcard webui/src/*.js webui/src/*.jsx webui/src/*.css webui/src/*/*.jsx)) \
              webui/index.html webui/favicon.svg webui/build.mjs
$(BUILD)/webui/npm.stamp: webui/package.json webui/package-lock.json
	@mkdir -p $(@D)
	cd webui && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	@touch $@
$(BUILD)/gen/webui_assets.cc: $(WEBUI_SRCS) $(BUILD)/webui/npm.stamp
	node webui/build.mjs $(BUILD)/webui/dist $@
$(BUILD)/obj/gen/webui_assets.o: $(BUILD)/gen/webui_assets.cc
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@
$(BUILD)/libgatehouse.a: $(BUILD)/obj/gen/webui_assets.o
.PHONY: browser
browser: $(BUILD)/gatehouse
	tests/browser/run.sh $(BUILD)/gatehouse

clean:
	rm -rf $(BUILD)/obj $(BUILD)/gatehouse $(BUILD)/libgatehouse.a $(BUILD)/tests

-include $(CORE_OBJS:.o=.d) $(CMD_OBJS:.o=.d) $(UNIT_OBJS:.o=.d)
