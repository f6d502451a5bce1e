# rehearse — see README.md.
#
#   make          build ./rehearse
#   make test     install missing packages, build, run every test
#   make demo     install missing packages, build, run the demo rehearsal
#   make asan     build and run the tests under AddressSanitizer + UBSan
#   make deps     only install missing packages (scripts/install-deps.sh)
#
# Sources are found by wildcard: every .c under common/ replay/ reports/
# harness/ (but harness/main.c) goes into build/librehearse.a; every
# tests/test_*.c becomes one criterion binary linked with tests/support/*.c.

PKGS         := libpcap libcurl jansson libpq zlib libcrypto
TEST_PKGS    := criterion
FIXTURE_PKGS := libmicrohttpd

BUILD  ?= build
OPT    ?= -O2
SANITIZE ?=
CFLAGS ?=
LDFLAGS ?=

# Lazily evaluated, so `make test` can install packages before pkg-config runs.
PKG_CFLAGS     = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS       = $(shell pkg-config --libs $(PKGS)) -lhttp_parser -lpthread -lm
TEST_LIBS      = $(shell pkg-config --libs $(TEST_PKGS))
FIXTURE_CFLAGS = $(shell pkg-config --cflags $(FIXTURE_PKGS))
FIXTURE_LIBS   = $(shell pkg-config --libs $(FIXTURE_PKGS))

# -Wno-format-truncation: messages are cut to fit their fixed buffers on purpose.
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla \
            -Wno-format-truncation
INCLUDES := -Icommon -Ireplay -Ireports -Iharness
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -g $(OPT) $(SANITIZE) $(WARN) $(INCLUDES) $(PKG_CFLAGS) \
             -MMD -MP $(CFLAGS)
ALL_LDFLAGS = $(SANITIZE) $(LDFLAGS)

LIB_SRCS := $(filter-out harness/main.c,$(wildcard common/*.c replay/*.c reports/*.c harness/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/librehearse.a

TEST_SRCS    := $(wildcard tests/test_*.c)
TEST_BINS    := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
SUPPORT_SRCS := $(wildcard tests/support/*.c)
SUPPORT_OBJS := $(SUPPORT_SRCS:%.c=$(BUILD)/%.o)

# Fixture programs: each fixtures/bin/NAME.c becomes $(BUILD)/fixtures/NAME.
FIXTURE_SRCS := $(wildcard fixtures/bin/*.c)
FIXTURE_BINS := $(FIXTURE_SRCS:fixtures/bin/%.c=$(BUILD)/fixtures/%)

BIN := rehearse
ifneq ($(BUILD),build)
BIN := $(BUILD)/rehearse
endif

.PHONY: all test check demo asan asan-check check-pkgs deps clean fixtures tests
# Keep objects make considers intermediate (test support), so rebuilds stay incremental.
.SECONDARY:
.DEFAULT_GOAL := all

all: check-pkgs $(BIN)

check-pkgs:
	@pkg-config --exists $(PKGS) && test -f /usr/include/http_parser.h || { \
	  echo "rehearse: build dependencies are missing; run 'make deps' (or 'make test', which installs them)" >&2; \
	  exit 2; }

# `make V=1` shows the full commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# report.html embeds its style sheet and script with .incbin (reports/report_assets.c).
$(BUILD)/reports/report_assets.o: $(wildcard reports/assets/*)

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BIN): $(BUILD)/harness/main.o $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/support/%.o: tests/support/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $(FIXTURE_CFLAGS) -Itests/support -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(SUPPORT_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(FIXTURE_CFLAGS) -Itests/support $(ALL_LDFLAGS) -o $@ $< \
	  $(SUPPORT_OBJS) $(LIB) $(PKG_LIBS) $(FIXTURE_LIBS) $(TEST_LIBS)

$(BUILD)/fixtures/%: fixtures/bin/%.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FIXTURE $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(FIXTURE_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) $(FIXTURE_LIBS)

# The demo services (fixtures/demo/README.md): two versions sharing demo_service.c.
DEMO_BINS := $(BUILD)/fixtures/demo_v1 $(BUILD)/fixtures/demo_v2
$(BUILD)/fixtures/demo_%: fixtures/demo/service_%.c fixtures/demo/demo_service.c fixtures/demo/demo_service.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FIXTURE $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(FIXTURE_CFLAGS) $(ALL_LDFLAGS) -o $@ $(filter %.c,$^) $(PKG_LIBS) $(FIXTURE_LIBS)

fixtures: $(FIXTURE_BINS) $(DEMO_BINS)
tests: $(TEST_BINS)

deps:
	scripts/install-deps.sh

# `test` installs first, then re-enters make so pkg-config sees the packages.
test: deps
	$(MAKE) check

check: all fixtures tests
	REHEARSE_BIN=$(abspath $(BIN)) BUILD=$(BUILD) tests/run.sh $(TEST_BINS)

asan: deps
	$(MAKE) BUILD=build/asan OPT=-O1 \
	  SANITIZE="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  asan-check

# Sanitizer reports from every process (tests, the rehearse binary they run,
# fixture servers) go to files; any such file fails the run, because a leak
# inside a criterion test is printed but does not fail the test.
asan-check: all fixtures tests
	rm -rf $(BUILD)/sanitizer-logs && mkdir -p $(BUILD)/sanitizer-logs
	ASAN_OPTIONS=log_path=$(abspath $(BUILD))/sanitizer-logs/asan:detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=log_path=$(abspath $(BUILD))/sanitizer-logs/ubsan:print_stacktrace=1:halt_on_error=1 \
	REHEARSE_BIN=$(abspath $(BIN)) BUILD=$(BUILD) REHEARSE_SANITIZED=1 tests/run.sh $(TEST_BINS)
	@if [ -n "$$(ls -A $(BUILD)/sanitizer-logs)" ]; then \
	  echo "sanitizer reports:"; cat $(BUILD)/sanitizer-logs/*; exit 1; fi
	@echo "asan: no sanitizer reports"

demo: deps
	$(MAKE) all fixtures
	scripts/demo.sh

clean:
	rm -rf build $(BIN)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
