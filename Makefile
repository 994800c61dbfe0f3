# socketbox - GNU make. `make`, `make check`, `make demo`, `make install`, `make uninstall`,
# `make clean`. Developers and CI build with `WERROR=1` (warnings are errors); packagers
# may pass their own CFLAGS, CPPFLAGS and LDFLAGS: what the code needs is added to them.
#
# Layout (the compiler keeps it: include paths are set per directory):
#   src/core/       the library every program links; includes only itself
#   src/            the acceptor's modules; include src/core
#   src/sockd/      socketbox-sockd; includes src (its rule engine and config readers)
#   applets/common/ what every applet does alike; includes src/core
#   applets/NAME/   one applet each; include src/core and applets/common, never src/
# Everything built lands in build/: objects under build/obj/ (and build/pic/ for the
# preload library), programs and the preload library in build/ itself.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
LIBDIR     ?= $(PREFIX)/lib
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DOCDIR     ?= $(PREFIX)/share/doc/socketbox
# Where systemd looks under either prefix (/usr or /usr/local). Distributions that keep
# units in /lib pass SYSTEMDUNITDIR=$(pkg-config --variable=systemdsystemunitdir systemd).
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR    ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR    ?= $(PREFIX)/lib/tmpfiles.d
DESTDIR    ?=

CC         ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS     ?= -O2 -g
# What the code needs, whatever CFLAGS, CPPFLAGS and LDFLAGS a packager gives (on the
# command line too, where `CFLAGS +=` in here would be ignored): always added, never replaced.
SB_CFLAGS   := -std=c11 -Wall -Wextra -fPIC -MMD -MP
SB_CPPFLAGS := -D_GNU_SOURCE
SB_LDFLAGS  :=
# Off by default so that a newer compiler's new warning does not break a package build.
ifeq ($(WERROR),1)
SB_CFLAGS  += -Werror
endif
# The preload library goes into other programs' processes: never sanitizer-instrumented
# (ASan must come first in a process, which a daemon we preload into will not have).
PRELOAD_CFLAGS := $(SB_CFLAGS) $(CFLAGS)
ifeq ($(SANITIZE),1)
SB_CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SB_LDFLAGS += -fsanitize=address,undefined
endif

LIBCONFIG  := $(shell $(PKG_CONFIG) --libs libconfig)
LIBCAPNG   := $(shell $(PKG_CONFIG) --libs libcap-ng)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check)

BUILD := build
OBJ   := $(BUILD)/obj
PIC   := $(BUILD)/pic

# Include paths per directory: a core file that includes an acceptor or applet header, or
# an applet that includes an acceptor header, does not compile.
INC_core    := -Isrc/core
INC_src     := -Isrc/core
INC_sockd   := -Isrc -Isrc/core
INC_applets := -Iapplets/common -Isrc/core
INC_tests   := -Isrc/core -Isrc -Isrc/sockd -Iapplets/common -Iapplets/inetd -Iapplets/relay \
	-Iapplets/preload

objs = $(patsubst %.c,$(OBJ)/%.o,$(1))

CORE_SRCS     := $(wildcard src/core/*.c)
ACCEPTOR_SRCS := $(filter-out src/main.c,$(wildcard src/*.c))
COMMON_SRCS   := $(wildcard applets/common/*.c)
INETD_SRCS    := $(wildcard applets/inetd/*.c)
RELAY_SRCS    := $(wildcard applets/relay/*.c)
SOCKD_SRCS    := $(wildcard src/sockd/*.c)
PRELOAD_LIB_SRCS := applets/preload/preload.c applets/preload/preload_env.c \
	applets/preload/preload_connect.c applets/preload/connect_map.c \
	applets/preload/preload_egress.c
# SOCKETBOX_REGISTER: the registration is the applets' own code.
PRELOAD_LIB_SRCS += applets/common/applet_register.c

CORE_LIB     := $(BUILD)/libsbcore.a
ACCEPTOR_LIB := $(BUILD)/libsbacceptor.a
COMMON_LIB   := $(BUILD)/libsbapplet.a

SOCKETBOX       := $(BUILD)/socketbox
SB_INETD        := $(BUILD)/socketbox-inetd
SB_RELAY        := $(BUILD)/socketbox-relay
SB_PRELOAD      := $(BUILD)/socketbox-preload
SB_SOCKD        := $(BUILD)/socketbox-sockd
PRELOAD_LIB     := $(BUILD)/libsocketbox-preload.so
PROGRAMS        := $(SOCKETBOX) $(SB_INETD) $(SB_RELAY) $(SB_PRELOAD) $(SB_SOCKD)

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
INTEGRATION_TESTS := $(sort $(wildcard tests/integration/test_*.sh))
ifeq ($(SANITIZE),1)
# valgrind cannot run ASan-instrumented programs; the plain run covers it.
INTEGRATION_TESTS := $(filter-out tests/integration/test_valgrind_memcheck.sh,$(INTEGRATION_TESTS))
endif
MAN8 := man/socketbox.8 man/socketbox-inetd.8 man/socketbox-preload.8 man/socketbox-relay.8 \
	man/socketbox-sockd.8
MAN5 := man/socketbox.conf.5

all: $(PROGRAMS) $(PRELOAD_LIB)

# ---------------------------------------------------------------- compiling
# Rebuild everything when the flags change (SANITIZE=1 after a plain build, CC=clang...).
FLAGS_FILE  := $(BUILD)/.flags
BUILD_FLAGS := $(CC) $(SB_CPPFLAGS) $(CPPFLAGS) $(SB_CFLAGS) $(CFLAGS) $(SB_LDFLAGS) $(LDFLAGS) \
	$(LIBDIR)
$(FLAGS_FILE): FORCE
	@mkdir -p $(@D)
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' >$@

COMPILE = @mkdir -p $(@D) && echo "  CC      $<" && \
	$(CC) $(SB_CPPFLAGS) $(1) $(CPPFLAGS) $(SB_CFLAGS) $(CFLAGS) -c -o $@ $<

$(OBJ)/src/core/%.o: src/core/%.c $(FLAGS_FILE)
	$(call COMPILE,$(INC_core))
$(OBJ)/src/%.o: src/%.c $(FLAGS_FILE)
	$(call COMPILE,$(INC_src))
$(OBJ)/src/sockd/%.o: src/sockd/%.c $(FLAGS_FILE)
	$(call COMPILE,$(INC_sockd))
$(OBJ)/applets/%.o: applets/%.c $(FLAGS_FILE)
	$(call COMPILE,$(INC_applets))
$(OBJ)/tests/%.o: tests/%.c $(FLAGS_FILE)
	$(call COMPILE,$(INC_tests))

$(CORE_LIB): $(call objs,$(CORE_SRCS))
$(ACCEPTOR_LIB): $(call objs,$(ACCEPTOR_SRCS))
$(COMMON_LIB): $(call objs,$(COMMON_SRCS))
$(BUILD)/%.a:
	@rm -f $@ && $(AR) rcs $@ $^

LINK = @mkdir -p $(@D) && echo "  LD      $@" && $(CC) $(SB_LDFLAGS) $(LDFLAGS) -o $@ $^

# ---------------------------------------------------------------- programs
$(SOCKETBOX): $(OBJ)/src/main.o $(ACCEPTOR_LIB) $(CORE_LIB)
	$(LINK) $(LIBCONFIG) $(LIBCAPNG)

# The acceptor's library for its rule engine and configuration readers.
$(SB_SOCKD): $(call objs,$(SOCKD_SRCS)) $(ACCEPTOR_LIB) $(CORE_LIB)
	$(LINK) $(LIBCONFIG)

$(SB_INETD): $(call objs,$(INETD_SRCS)) $(COMMON_LIB) $(CORE_LIB)
	$(LINK)

$(SB_RELAY): $(call objs,$(RELAY_SRCS)) $(COMMON_LIB) $(CORE_LIB)
	$(LINK)

$(OBJ)/applets/preload/preload_wrapper.o: \
	SB_CPPFLAGS += -DPRELOAD_LIB='"$(LIBDIR)/socketbox/libsocketbox-preload.so"'
$(SB_PRELOAD): $(call objs,applets/preload/preload_wrapper.c applets/preload/preload_env.c) \
		$(COMMON_LIB) $(CORE_LIB)
	$(LINK)

# Its own objects of the core, built without sanitizers; the version script keeps all but
# the intercepted calls local.
PRELOAD_OBJS := $(patsubst %.c,$(PIC)/%.o,$(PRELOAD_LIB_SRCS) $(CORE_SRCS))
$(PRELOAD_LIB): $(PRELOAD_OBJS) applets/preload/preload.map
	@echo "  LD      $@"
	@$(CC) $(filter-out -fsanitize=%,$(LDFLAGS)) -shared \
		-Wl,--version-script=applets/preload/preload.map -Wl,-z,defs \
		-o $@ $(PRELOAD_OBJS) -ldl

$(PIC)/src/core/%.o: src/core/%.c $(FLAGS_FILE)
	@mkdir -p $(@D) && echo "  CC      $< (preload)"
	@$(CC) $(SB_CPPFLAGS) $(INC_core) $(CPPFLAGS) $(PRELOAD_CFLAGS) -c -o $@ $<
$(PIC)/applets/%.o: applets/%.c $(FLAGS_FILE)
	@mkdir -p $(@D) && echo "  CC      $< (preload)"
	@$(CC) $(SB_CPPFLAGS) $(INC_applets) $(CPPFLAGS) $(PRELOAD_CFLAGS) -c -o $@ $<

# ---------------------------------------------------------------- tests
# Unit tests link every library and the applet modules they test.
UNIT_LIBS := $(call objs,applets/inetd/ucspi.c applets/relay/proxy_header.c \
	applets/preload/preload_env.c applets/preload/connect_map.c src/sockd/sockd_config.c \
	src/sockd/sockd_serve.c) $(ACCEPTOR_LIB) $(COMMON_LIB) $(CORE_LIB)
$(BUILD)/tests/test_%: $(OBJ)/tests/unit/test_%.o $(OBJ)/tests/unit/check_main.o \
	$(OBJ)/tests/unit/helpers.o $(UNIT_LIBS)
	$(LINK) $(LIBCONFIG) $(LIBCAPNG) $(CHECK_LIBS)
# These tests fail allocations one at a time: our calls go through the wrappers in
# tests/unit/alloc_fault.c (libconfig's own calls do not, the shared library is linked as it is).
ALLOC_FAULT_TESTS := $(BUILD)/tests/test_config $(BUILD)/tests/test_handoff
$(ALLOC_FAULT_TESTS): $(OBJ)/tests/unit/alloc_fault.o
$(ALLOC_FAULT_TESTS): SB_LDFLAGS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup

check: all $(UNIT_TESTS)
	@bash tests/run-tests.sh $(UNIT_TESTS) -- $(INTEGRATION_TESTS)

demo: all
	@bash tests/demo.sh

# ---------------------------------------------------------------- install
# The units name the programs and the configuration: their @SBINDIR@ and @SYSCONFDIR@ are
# filled in here. The configuration itself is not installed (an upgrade must never
# overwrite it): the examples go to DOCDIR, to copy to $(SYSCONFDIR)/socketbox.conf and
# $(SYSCONFDIR)/socketbox-sockd.conf.
UNITS := conf/socketbox.service conf/socketbox.socket conf/socketbox-inetd@.service \
	conf/socketbox-inetd-login@.service conf/socketbox-sockd.service
INSTALLED := $(addprefix $(DESTDIR)$(SBINDIR)/,$(notdir $(PROGRAMS))) \
	$(DESTDIR)$(LIBDIR)/socketbox/$(notdir $(PRELOAD_LIB)) \
	$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8))) \
	$(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5))) \
	$(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(notdir $(UNITS))) \
	$(DESTDIR)$(SYSUSERSDIR)/socketbox.conf $(DESTDIR)$(TMPFILESDIR)/socketbox.conf \
	$(DESTDIR)$(DOCDIR)/socketbox.conf $(DESTDIR)$(DOCDIR)/socketbox-sockd.conf

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -d $(DESTDIR)$(LIBDIR)/socketbox $(DESTDIR)$(SYSTEMDUNITDIR)
	install -d $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(DOCDIR)
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(SBINDIR)/
	install -m 0644 $(PRELOAD_LIB) $(DESTDIR)$(LIBDIR)/socketbox/
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	for u in $(UNITS); do \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $$u \
			>$(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} || exit 1; \
	done
	install -m 0644 conf/socketbox.sysusers $(DESTDIR)$(SYSUSERSDIR)/socketbox.conf
	install -m 0644 conf/socketbox.tmpfiles $(DESTDIR)$(TMPFILESDIR)/socketbox.conf
	install -m 0644 conf/socketbox.conf $(DESTDIR)$(DOCDIR)/socketbox.conf
	install -m 0644 conf/socketbox-sockd.conf $(DESTDIR)$(DOCDIR)/socketbox-sockd.conf

# Removes what install put there, and the two directories that are socketbox's own.
uninstall:
	rm -f $(INSTALLED)
	for d in $(DESTDIR)$(LIBDIR)/socketbox $(DESTDIR)$(DOCDIR); do \
		[ ! -d $$d ] || rmdir --ignore-fail-on-non-empty $$d || exit 1; \
	done

clean:
	rm -rf $(BUILD) tests/logs

.PHONY: all check demo install uninstall clean FORCE
.SECONDARY:

include tests/bench.mk tests/fuzz.mk tests/soak.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
