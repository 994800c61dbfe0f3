# tests/fuzz.mk - included by the Makefile.
# libFuzzer targets in tests/fuzz/ (fuzz_TARGET.c), linked against the modules they test,
# compiled once more with clang, ASan, UBSan and coverage instrumentation into build/fuzz/
# (never the normal objects). `make fuzz` runs each target for FUZZ_SECONDS on a scratch
# copy of tests/fuzz/corpus/TARGET; `make fuzz-smoke` is the short run of CI. Crash
# reproducers land in tests/fuzz/crashes/.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_TARGETS := config rules fdrecv preload_env proxy_header proxy_parse connect_map convert sockd_request
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_CFLAGS  := -std=c11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -MMD -MP \
	-fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CPPFLAGS := -D_GNU_SOURCE $(INC_tests)
FUZZ_LIB_SRCS := $(CORE_SRCS) $(ACCEPTOR_SRCS) applets/relay/proxy_header.c \
	applets/preload/preload_env.c applets/preload/connect_map.c applets/common/applet_register.c
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(FUZZ_LIB_SRCS))
FUZZ_BINS    := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_TARGETS))

# Rebuilt when the compiler or flags change (FUZZ_CFLAGS=... on the command line).
$(FUZZ_BUILD)/.flags: FORCE
	@mkdir -p $(FUZZ_BUILD)
	@echo '$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS)' | cmp -s - $@ || \
		echo '$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS)' >$@

$(FUZZ_BUILD)/%.o: %.c $(FUZZ_BUILD)/.flags
	@mkdir -p $(@D) && echo "  CC      $< (fuzz)"
	@$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/libsbfuzz.a: $(FUZZ_LIB_OBJS)
	@rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libsbfuzz.a $(FUZZ_BUILD)/.flags
	@echo "  LD      $@"
	@$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -MF $@.d -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_BUILD)/libsbfuzz.a $(LIBCONFIG) $(LIBCAPNG)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@FUZZ_BUILD=$(abspath $(FUZZ_BUILD)) bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	@FUZZ_BUILD=$(abspath $(FUZZ_BUILD)) bash tests/fuzz/run.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-clean
