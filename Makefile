# socketbox - GNU make. `make`, `make check`, `make demo`, `make install`, `make clean`.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
LIBDIR     ?= $(PREFIX)/lib
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DESTDIR    ?=

CC       ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -Wall -Wextra -Werror -fPIC
CPPFLAGS += -D_GNU_SOURCE -Isrc
# The preload library goes into other programs' processes: never sanitizer-instrumented
# (ASan must come first in a process, which a daemon we preload into will not have).
PRELOAD_CFLAGS := $(CFLAGS)
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
endif

LIBCONFIG := $(shell $(PKG_CONFIG) --libs libconfig)
LIBCAPNG  := $(shell $(PKG_CONFIG) --libs libcap-ng)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check)

# The core every program links: the wire protocol, addresses, environment, logging.
CORE_OBJS := src/log.o src/num.o src/ports.o src/subst.o src/conn.o src/proxy_header.o src/preload_env.o src/addr.o src/fdpass.o src/ucspi.o src/unixsock.o src/sd.o
# The acceptor's own modules (a library too, so unit tests link them).
ACCEPTOR_OBJS := src/config.o src/rules.o src/handoff.o \
	src/listener.o src/privs.o src/acceptor.o

PROGRAMS := src/socketbox applets/socketbox-inetd applets/socketbox-preload applets/socketbox-relay
PRELOAD_LIB := applets/libsocketbox-preload.so
UNIT_TESTS := $(patsubst %.c,%,$(filter-out tests/unit/check_main.c,$(wildcard tests/unit/test_*.c)))
INTEGRATION_TESTS := $(sort $(wildcard tests/integration/test_*.sh))
ifeq ($(SANITIZE),1)
# valgrind cannot run ASan-instrumented programs; the plain run covers it.
INTEGRATION_TESTS := $(filter-out tests/integration/test_valgrind_memcheck.sh,$(INTEGRATION_TESTS))
endif
MAN8 := man/socketbox.8 man/socketbox-inetd.8 man/socketbox-preload.8 man/socketbox-relay.8
MAN5 := man/socketbox.conf.5

all: $(PROGRAMS) $(PRELOAD_LIB)

src/libsbcore.a: $(CORE_OBJS) Makefile
	rm -f $@ && $(AR) rcs $@ $(CORE_OBJS)

src/libsbacceptor.a: $(ACCEPTOR_OBJS) Makefile
	rm -f $@ && $(AR) rcs $@ $(ACCEPTOR_OBJS)

src/socketbox: src/main.o src/libsbacceptor.a src/libsbcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCONFIG) $(LIBCAPNG)

applets/socketbox-inetd: applets/inetd.o src/libsbcore.a
	$(CC) $(LDFLAGS) -o $@ $^

applets/socketbox-relay: applets/relay_main.o applets/relay.o src/libsbcore.a
	$(CC) $(LDFLAGS) -o $@ $^

# Its own objects of the core, built without sanitizers; the version script keeps all but
# the intercepted calls local.
PRELOAD_OBJS := applets/pic/preload.o $(patsubst src/%,applets/pic/%,$(CORE_OBJS))
$(PRELOAD_LIB): $(PRELOAD_OBJS) applets/preload.map
	$(CC) -shared -Wl,--version-script=applets/preload.map -Wl,-z,defs \
		-o $@ $(PRELOAD_OBJS) -ldl

applets/pic/%.o: src/%.c $(wildcard src/*.h) .build-flags
	@mkdir -p applets/pic
	$(CC) $(CPPFLAGS) $(PRELOAD_CFLAGS) -c -o $@ $<

applets/pic/%.o: applets/%.c $(wildcard src/*.h) .build-flags
	@mkdir -p applets/pic
	$(CC) $(CPPFLAGS) $(PRELOAD_CFLAGS) -c -o $@ $<

applets/preload_wrapper.o: CPPFLAGS += -DPRELOAD_LIB='"$(LIBDIR)/socketbox/libsocketbox-preload.so"'
applets/socketbox-preload: applets/preload_wrapper.o src/libsbcore.a
	$(CC) $(LDFLAGS) -o $@ $^

tests/unit/test_%: tests/unit/test_%.o tests/unit/check_main.o src/libsbacceptor.a src/libsbcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCONFIG) $(LIBCAPNG) $(CHECK_LIBS)

%.o: %.c $(wildcard src/*.h applets/*.h) .build-flags
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Rebuild everything when the flags change (SANITIZE=1 after a plain build, CC=clang...).
BUILD_FLAGS := $(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(LIBDIR)
.build-flags: FORCE
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' >$@

check: all $(UNIT_TESTS)
	@bash tests/run-tests.sh $(UNIT_TESTS) -- $(INTEGRATION_TESTS)

demo: all
	@bash tests/demo.sh

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -d $(DESTDIR)$(LIBDIR)/socketbox
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(SBINDIR)/
	install -m 0644 $(PRELOAD_LIB) $(DESTDIR)$(LIBDIR)/socketbox/
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/

clean:
	rm -f src/*.o src/*.a applets/*.o tests/unit/*.o $(PROGRAMS) $(PRELOAD_LIB) $(UNIT_TESTS)
	rm -rf applets/pic .build-flags
	rm -rf tests/logs

.PHONY: all check demo install clean FORCE
.SECONDARY:

# ---------------------------------------------------------------- benchmarks (tests/bench/)
# `make bench`: every comparison of tests/bench/run.sh in one run (a few minutes, root, its
# own network namespace); `make bench-smoke`: the same harness for about a second per case,
# with no assertion on speed, only that every case ran and served connections (CI).
BENCH_PROGS := tests/bench/loadgen tests/bench/benchsrv tests/bench/lookup_bench

tests/bench/loadgen: tests/bench/loadgen.c
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

tests/bench/benchsrv: tests/bench/benchsrv.c src/libsbcore.a $(wildcard src/*.h)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.a,$^)

tests/bench/lookup_bench: tests/bench/lookup_bench.c src/libsbacceptor.a src/libsbcore.a \
		$(wildcard src/*.h)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LIBCONFIG) $(LIBCAPNG)

bench: all $(BENCH_PROGS)
	@bash tests/bench/run.sh

bench-smoke: all $(BENCH_PROGS)
	@bash tests/bench/run.sh --smoke

.PHONY: bench bench-smoke

# ---- fuzzing (issue 7) ---------------------------------------------------------------
# libFuzzer targets in tests/fuzz/ (fuzz_TARGET.c), linked against the src/ modules
# compiled once more with clang, ASan, UBSan and coverage instrumentation into
# tests/fuzz/build/ (never the normal objects). `make fuzz` runs each target for
# FUZZ_SECONDS on a scratch copy of tests/fuzz/corpus/TARGET; `make fuzz-smoke` is the
# short run of CI. Crash reproducers land in tests/fuzz/crashes/.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_TARGETS := config rules fdrecv preload_env proxy_header
FUZZ_BUILD   := tests/fuzz/build
FUZZ_CFLAGS  := -std=c11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra \
	-fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CPPFLAGS := -D_GNU_SOURCE -Isrc
FUZZ_LIB_OBJS := $(patsubst src/%.c,$(FUZZ_BUILD)/%.o,$(filter-out src/main.c,$(wildcard src/*.c)))
FUZZ_BINS    := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_TARGETS))

# Rebuilt when the compiler or flags change (FUZZ_CFLAGS=... on the command line).
$(FUZZ_BUILD)/.flags: FORCE
	@mkdir -p $(FUZZ_BUILD)
	@echo '$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS)' | cmp -s - $@ || \
		echo '$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS)' >$@

$(FUZZ_BUILD)/%.o: src/%.c $(wildcard src/*.h) $(FUZZ_BUILD)/.flags
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/libsbfuzz.a: $(FUZZ_LIB_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FUZZ_BUILD)/libsbfuzz.a \
		$(FUZZ_BUILD)/.flags
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_BUILD)/libsbfuzz.a $(LIBCONFIG) $(LIBCAPNG)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@FUZZ_BUILD=$(abspath $(FUZZ_BUILD)) bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	@FUZZ_BUILD=$(abspath $(FUZZ_BUILD)) bash tests/fuzz/run.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-clean

# ---------------------------------------------------------------- soak (tests/soak/)
# `make soak`: 1,000,000 connections through socketbox to a minimal fd-receiving applet
# (tests/soak/line_applet.c), descriptors and RSS of the acceptor and the applet sampled
# every 100,000 and required to stay flat (root, its own network namespaces, a few minutes).
# `make soak-ci`: the same with 50,000 connections sampled every 10,000 (CI).
# A skip (exit 77: not root, no namespaces) passes unless SOCKETBOX_REQUIRE_NETNS=1.
soak: all
	@bash tests/soak/soak.sh 1000000 100000; rc=$$?; [ $$rc -eq 77 ] && rc=0; exit $$rc

soak-ci: all
	@bash tests/soak/soak.sh 50000 10000; rc=$$?; [ $$rc -eq 77 ] && rc=0; exit $$rc

.PHONY: soak soak-ci
