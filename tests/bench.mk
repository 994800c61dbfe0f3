# tests/bench.mk - included by the Makefile.
# `make bench`: every comparison of tests/bench/run.sh in one run (a few minutes, root, its
# own network namespace); `make bench-smoke`: the same harness for about a second per case,
# with no assertion on speed, only that every case ran and served connections (CI).
BENCH_PROGS := $(BUILD)/bench/loadgen $(BUILD)/bench/benchsrv $(BUILD)/bench/lookup_bench

$(BUILD)/bench/loadgen: $(OBJ)/tests/bench/loadgen.o
	$(LINK)

$(BUILD)/bench/benchsrv: $(OBJ)/tests/bench/benchsrv.o $(CORE_LIB)
	$(LINK)

$(BUILD)/bench/lookup_bench: $(OBJ)/tests/bench/lookup_bench.o $(ACCEPTOR_LIB) $(CORE_LIB)
	$(LINK) $(LIBCONFIG) $(LIBCAPNG)

bench: all $(BENCH_PROGS)
	@bash tests/bench/run.sh

bench-smoke: all $(BENCH_PROGS)
	@bash tests/bench/run.sh --smoke

.PHONY: bench bench-smoke
