# agentomics — top-level build.
#   make            build every tool into bin/
#   make test       unit tests + CLI tests (the README's test command)
#   make test-asan  unit tests under AddressSanitizer + UBSan
#   make bench      benchmarks against named peers (tests/bench/results.md)
#   make install PREFIX=/usr/local
VERSION   := $(shell cat VERSION)
PREFIX    ?= /usr/local
CC        ?= cc
PKGS      := htslib jansson libarchive libcurl zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
CFLAGS    ?= -O2 -g
WARN      := -Wall -Wextra -Werror
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) -Iinclude $(PKG_CFLAGS) $(BLAS_CFLAGS) \
             -DAO_VERSION='"$(VERSION)"' -DAO_DATADIR='"$(PREFIX)/share/agentomics"'
LDLIBS    := $(PKG_LIBS) $(BLAS_LIBS) -lm -lpthread

BUILD     ?= build
LIB_SRC   := $(sort $(wildcard tools/lib/*.c))
LIB_OBJ   := $(LIB_SRC:tools/lib/%.c=$(BUILD)/lib/%.o)
LIB       := $(BUILD)/libagentomics.a
TOOLS     := $(sort $(notdir $(patsubst %/main.c,%,$(wildcard tools/*/main.c))))
BINDIR    ?= bin
BINS      := $(TOOLS:%=$(BINDIR)/agentomics-%)
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
HEADERS   := $(wildcard include/agentomics/*.h)

.PHONY: all test test-unit test-cli test-asan bench install clean demo container-test
all: $(BINS)

$(BUILD)/lib/%.o: tools/lib/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BINDIR)/agentomics-%: tools/%/main.c $(LIB) $(HEADERS)
	@mkdir -p $(BINDIR)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(LIB) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

test: all $(UNIT_BINS)
	@sh tests/run.sh

test-unit: $(UNIT_BINS)
	@sh tests/unit/run.sh $(UNIT_BINS)

test-cli: $(BINS)
	@sh tests/cli/run.sh

# Sanitizer build in a separate tree: the unit tests, then the tools and the
# CLI tests of the paths that handle untrusted input from a model (the LLM
# agent against the scripted server, script models in the sandbox).
ASAN_FLAGS := CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
  LDFLAGS='-fsanitize=address,undefined'
ASAN_CLI   := tests/cli/test_llm_agent.sh tests/cli/test_script_model.sh
test-asan:
	$(MAKE) BUILD=build-asan BINDIR=build-asan/bin $(ASAN_FLAGS) test-unit all
	@AO_TEST_BIN=$(CURDIR)/build-asan/bin AGENTOMICS_PROMPTS=$(CURDIR)/prompts AGENTOMICS_SCHEMAS=$(CURDIR)/schemas \
	  ASAN_OPTIONS=detect_leaks=1 sh tests/cli/run.sh $(ASAN_CLI)

bench: $(BINS)
	@sh tests/bench/run.sh

demo: $(BINS)
	@sh tests/cli/demo.sh

# Builds containers/Dockerfile with podman on a debootstrapped local base and
# runs the tools and `make test` inside it (root; needs podman, runc, debootstrap).
container-test:
	@sh tests/container/run.sh

install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/agentomics/prompts $(DESTDIR)$(PREFIX)/share/agentomics/schemas
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 prompts/*.md prompts/*.json $(DESTDIR)$(PREFIX)/share/agentomics/prompts/
	install -m 0644 schemas/*.json $(DESTDIR)$(PREFIX)/share/agentomics/schemas/

clean:
	rm -rf build build-asan bin
