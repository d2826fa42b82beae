# vidgen — build, run, test.
#
#   make run    installs what the build needs (Debian packages), builds, starts `vidgen serve`
#   make test   installs what the tests need, builds, runs every test suite (C units, the
#               fake providers, the integration suite, the web app in headless Chromium)
#   make asan   the same tests against an AddressSanitizer + UBSan build
#   make bench  the benchmarks in bench/ (results go in bench/README.md)

BUILD     ?= build
SANITIZE  ?=
OPT       ?= -O2

# Debian packages: what the build needs, what the tests add, what the benchmarks add.
BUILD_DEBS = gcc make pkg-config xxd libh2o-evloop-dev libssl-dev libjansson-dev \
             libsqlite3-dev libsodium-dev libcurl4-openssl-dev \
             libavcodec-dev libavformat-dev libavutil-dev libswscale-dev zlib1g-dev libpq-dev libhiredis-dev \
             libmimalloc-dev nodejs
TEST_DEBS  = libcriterion-dev python3 python3-pytest python3-h2 ffmpeg curl clang-format openssl chromium prometheus \
             postgresql redis-server python3-redis
BENCH_DEBS = nginx-light wrk ffmpeg hyperfine curl python3 chromium postgresql redis-server python3-psycopg2

PKGS    = libh2o-evloop openssl jansson sqlite3 libsodium libcurl \
          libavformat libavcodec libavutil libswscale zlib libpq hiredis
CFLAGS  = -std=c11 -D_GNU_SOURCE -DH2O_USE_LIBUV=0 $(OPT) -g -Wall -Wextra -Werror \
          -Wno-missing-field-initializers -pthread $(SANITIZE) \
          -Isrc -I$(BUILD)/gen $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
LDFLAGS = $(SANITIZE)
# The service's allocator (src/util/allocator.h): mimalloc, linked before every other library
# so that it serves all of their mallocs, and kept even where the linker drops libraries no
# symbol is taken from. A sanitizer build keeps the sanitizer's; the unit tests, glibc's.
ALLOC_LIBS = $(if $(SANITIZE),,-Wl,--push-state,--no-as-needed -lmimalloc -Wl,--pop-state)

SRCS      := $(shell find src -name '*.c' | sort)
OBJS      := $(SRCS:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/embedded.o $(BUILD)/obj/web_assets.o
LIB_OBJS  := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
EMBEDDED  := config/catalog.json config/openapi.json $(sort $(wildcard src/store/migrations/*/*.sql))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test-deps bench-deps run test unit fakes integration integration-pg store-conformance e2e openapi-check asan bench fuzz format format-check clean

all: $(BUILD)/vidgen

# Installs the Debian packages in $(1) that are missing (needs root or sudo).
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

# npm comes with Debian's nodejs as its own package, and inside NodeSource's nodejs (which
# conflicts with Debian's npm): installed only when there is none.
deps:
	$(call apt_install,$(BUILD_DEBS))
	$(if $(shell command -v npm),,$(call apt_install,npm))
test-deps: deps
	$(call apt_install,$(TEST_DEBS))
bench-deps: deps
	$(call apt_install,$(BENCH_DEBS))

$(BUILD)/vidgen: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(ALLOC_LIBS) $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# Data files compiled into the binary (catalog, migrations): see tools/embed.sh.
$(BUILD)/gen/embedded.c: tools/embed.sh $(EMBEDDED)
	@mkdir -p $(dir $@)
	sh tools/embed.sh $(EMBEDDED) > $@
$(BUILD)/obj/embedded.o: $(BUILD)/gen/embedded.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The web app (web/) and its UI library (package.json, pinned in package-lock.json), built
# into the binary: see tools/web_build.sh and src/http/assets.h.
NPM_STAMP := node_modules/.package-lock.json
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@
$(BUILD)/gen/web_assets.c: tools/web_build.sh $(sort $(wildcard web/*)) $(NPM_STAMP)
	@mkdir -p $(dir $@)
	sh tools/web_build.sh $(BUILD)/web > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/web_assets.o: $(BUILD)/gen/web_assets.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags criterion) -o $@ $< $(LIB_OBJS) \
	  $(LDFLAGS) $(shell pkg-config --libs criterion) $(LDLIBS)

run: deps
	$(MAKE) --no-print-directory $(BUILD)/vidgen
	./$(BUILD)/vidgen serve

# The integration suite runs on both backend pairs at once (each mostly waits on its servers,
# so the two share the cores well); each pass's output is shown when it ends.
test: test-deps
	$(MAKE) --no-print-directory format-check openapi-check unit store-conformance fakes
	$(MAKE) --no-print-directory -j2 --output-sync=target integration integration-pg
	$(MAKE) --no-print-directory e2e

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; ./$$t --jobs 2; done

# The fake providers checked against their contracts before vidgen is tested against them.
fakes:
	/usr/bin/python3 -m pytest -q tests/fakes

# config/openapi.json against the OpenAPI 3.1 schema, by a validator from npm pinned in
# tools/openapi/package-lock.json (its own, apart from the web app's).
openapi-check: tools/openapi/node_modules/.package-lock.json
	tools/openapi/node_modules/.bin/validate-api config/openapi.json
tools/openapi/node_modules/.package-lock.json: tools/openapi/package-lock.json
	cd tools/openapi && npm ci --no-audit --no-fund

integration: $(BUILD)/vidgen
	VIDGEN_BIN=$(abspath $(BUILD)/vidgen) /usr/bin/python3 -m pytest -q tests/integration

# The same suite on PostgreSQL + Redis: a private PostgreSQL and redis-server the session
# starts on free loopback ports (tests/integration/backends.py), a fresh database per vidgen
# server, REDIS_URL on each. The suite reaches PostgreSQL through psycopg2.
TEST_DEBS += python3-psycopg2 redis-server
integration-pg: $(BUILD)/vidgen
	VIDGEN_TEST_BACKEND=postgres VIDGEN_TEST_REDIS=1 VIDGEN_BIN=$(abspath $(BUILD)/vidgen) \
	  /usr/bin/python3 -m pytest -q tests/integration

# The store conformance test (tests/store/test_store.c): the store API's rules checked on each
# backend, a fresh SQLite file and a private PostgreSQL (started and stopped by backends.py).
STORE_TEST := $(BUILD)/tests/store/test_store
$(STORE_TEST): tests/store/test_store.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags criterion) -o $@ $< $(LIB_OBJS) \
	  $(LDFLAGS) $(shell pkg-config --libs criterion) $(LDLIBS)
store-conformance: $(STORE_TEST)
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && echo "== $(STORE_TEST) on SQLite" && \
	  VIDGEN_TEST_DATABASE_URL="sqlite:$$dir/vidgen.db" ./$(STORE_TEST) --jobs 1
	@echo "== $(STORE_TEST) on PostgreSQL"
	/usr/bin/python3 tests/integration/backends.py run -- ./$(STORE_TEST) --jobs 1

# The web app in headless Chromium (Debian's, driven by playwright-core from package.json):
# tests/e2e/*.test.mjs under node's test runner; screenshots of each step in $(BUILD)/e2e.
e2e: $(BUILD)/vidgen $(NPM_STAMP)
	VIDGEN_BIN=$(abspath $(BUILD)/vidgen) E2E_OUT=$(abspath $(BUILD)/e2e) node --test tests/e2e/*.test.mjs

# Sanitizer build in its own directory, so it never mixes objects with the normal one.
asan: test-deps
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:fast_unwind_on_malloc=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0 \
	$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	  SANITIZE="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  unit integration

bench: bench-deps
	$(MAKE) --no-print-directory $(BUILD)/vidgen
	sh bench/http.sh
	sh bench/metrics.sh
	sh bench/download.sh
	sh bench/render.sh
	sh bench/thumbnail.sh
	sh bench/upload.sh
	sh bench/web.sh
	/usr/bin/python3 bench/pipeline.py
	/usr/bin/python3 bench/flood.py
	/usr/bin/python3 bench/remote.py
	/usr/bin/python3 bench/generate.py
	/usr/bin/python3 bench/cluster.py

# libFuzzer targets for the parsers of outside input (clang); FUZZ_SECONDS each: the
# generation request, the router, each provider's reply and webhook parsers (and Kling's lookup), Eden AI's
# webhook signature check (its canonical JSON), the multipart/form-data parser of uploads, and
# uploaded images (their headers, EXIF, FFmpeg's decoders).
FUZZ_SECONDS ?= 30
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -I$(BUILD)/gen
fuzz: deps $(BUILD)/gen/embedded.c
	@command -v clang >/dev/null || $(call apt_install,clang libclang-rt-14-dev)
	@mkdir -p $(BUILD)/fuzz
	clang $(FUZZ_CFLAGS) -o $(BUILD)/fuzz/gen_request tests/fuzz/fuzz_gen_request.c src/core/gen_request.c \
	  src/core/catalog.c src/core/pricing.c src/core/text.c src/core/err.c src/util/embedded.c \
	  $(BUILD)/gen/embedded.c -ljansson
	clang $(FUZZ_CFLAGS) -o $(BUILD)/fuzz/router tests/fuzz/fuzz_router.c src/http/router.c
	clang $(FUZZ_CFLAGS) -o $(BUILD)/fuzz/modelslab tests/fuzz/fuzz_modelslab.c src/providers/modelslab.c \
	  src/providers/remote.c src/providers/remote_util.c src/util/json_region.c -ljansson
	clang $(FUZZ_CFLAGS) -o $(BUILD)/fuzz/edenai tests/fuzz/fuzz_edenai.c src/providers/edenai.c \
	  src/providers/remote.c src/providers/remote_util.c src/util/json_region.c -ljansson
	clang $(FUZZ_CFLAGS) -o $(BUILD)/fuzz/runway tests/fuzz/fuzz_runway.c src/providers/runway.c \
	  src/providers/remote.c src/providers/remote_util.c src/util/json_region.c -ljansson
	clang $(FUZZ_CFLAGS) -o $(BUILD)/fuzz/kling tests/fuzz/fuzz_kling.c src/providers/kling.c \
	  src/providers/remote.c src/providers/remote_util.c src/util/json_region.c -ljansson -lsodium
	clang $(FUZZ_CFLAGS) -o $(BUILD)/fuzz/edenai_signature tests/fuzz/fuzz_edenai_signature.c \
	  src/providers/edenai_signature.c -ljansson -lcrypto
	clang $(FUZZ_CFLAGS) -o $(BUILD)/fuzz/multipart tests/fuzz/fuzz_multipart.c src/http/multipart.c
	clang $(FUZZ_CFLAGS) $(shell pkg-config --cflags libavcodec libswscale libavutil) -o $(BUILD)/fuzz/image \
	  tests/fuzz/fuzz_image.c src/media/image.c $(shell pkg-config --libs libavcodec libswscale libavutil zlib)
	$(BUILD)/fuzz/gen_request -max_total_time=$(FUZZ_SECONDS) -dict=tests/fuzz/json.dict
	$(BUILD)/fuzz/router -max_total_time=$(FUZZ_SECONDS)
	@# seeds (provider replies: the recorded shapes of ../shared/providers/; forms: written by
	@# hand; images: tiny ones), copied so the corpus libFuzzer grows stays under $(BUILD)
	@for p in modelslab edenai runway kling multipart image; do mkdir -p $(BUILD)/fuzz/corpus-$$p && cp tests/fuzz/seeds/$$p/* $(BUILD)/fuzz/corpus-$$p/; done
	$(BUILD)/fuzz/modelslab -max_total_time=$(FUZZ_SECONDS) -dict=tests/fuzz/provider.dict $(BUILD)/fuzz/corpus-modelslab
	$(BUILD)/fuzz/edenai -max_total_time=$(FUZZ_SECONDS) -dict=tests/fuzz/provider.dict $(BUILD)/fuzz/corpus-edenai
	$(BUILD)/fuzz/runway -max_total_time=$(FUZZ_SECONDS) -dict=tests/fuzz/provider.dict $(BUILD)/fuzz/corpus-runway
	$(BUILD)/fuzz/kling -max_total_time=$(FUZZ_SECONDS) -dict=tests/fuzz/provider.dict $(BUILD)/fuzz/corpus-kling
	$(BUILD)/fuzz/edenai_signature -max_total_time=$(FUZZ_SECONDS) -dict=tests/fuzz/json.dict $(BUILD)/fuzz/corpus-edenai
	$(BUILD)/fuzz/multipart -max_total_time=$(FUZZ_SECONDS) -dict=tests/fuzz/multipart.dict $(BUILD)/fuzz/corpus-multipart
	$(BUILD)/fuzz/image -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2560 -dict=tests/fuzz/image.dict $(BUILD)/fuzz/corpus-image

# Every C file follows .clang-format; `make test` fails on one that does not (`make format`).
FORMATTED = $(shell find src tests/unit tests/fuzz tests/store -name '*.[ch]' | sort)
format:
	clang-format -i $(FORMATTED)
format-check:
	@clang-format --dry-run --Werror $(FORMATTED) && echo "format-check: $(words $(FORMATTED)) files follow .clang-format"

clean:
	rm -rf build build-asan

-include $(OBJS:.o=.d)
