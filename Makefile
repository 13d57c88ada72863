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
BINS      := $(TOOLS:%=bin/agentomics-%)
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

bin/agentomics-%: tools/%/main.c $(LIB) $(HEADERS)
	@mkdir -p bin
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

# Sanitizer build of the library and unit tests in a separate tree.
test-asan:
	$(MAKE) BUILD=build-asan CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
	  LDFLAGS='-fsanitize=address,undefined' test-unit

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
