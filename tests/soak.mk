# tests/soak.mk - included by the Makefile.
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
