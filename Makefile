# dnsvigil build. `make` builds ./dnsvigil; `make check` runs every test under ASan+UBSan;
# `make test` runs them on the normal build; `make bench` measures; see README.md.
CC      ?= cc
PREFIX  ?= /usr/local
WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
           -Wvla -Wpointer-arith
CFLAGS  ?= -O2 -g
ALLCFLAGS = -std=c11 -D_DEFAULT_SOURCE $(WARN) $(CFLAGS)
LIBS     = -lpcap -lldns -lpsl -linih -lsqlite3 -lncurses -lcap-ng -lz -llzma -llz4 -lzstd -lm \
           -lpthread

# The layers below the command line (DESIGN.md, STYLE.md section 1), in include order.
LAYERS   = common capture analyze rules store report export run tui
CORE_SRC = $(foreach d,$(LAYERS),$(wildcard $(d)/*.c))
CLI_SRC  = $(wildcard cli/*.c)
HDRS     = $(foreach d,$(LAYERS) cli,$(wildcard $(d)/*.h)) rules/rules.def

BUILD   ?= build
SAN_BUILD = build-san
SANFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TSAN_BUILD = build-tsan
# The store with a passive-DNS table of 4,096 RRsets, so that it starts over often
# (tests/store/same.sh compares its rows with the normal build's).
SMALL_BUILD = build-small
SMALLFLAGS = -DPDNS_MAX=4096u
TSANFLAGS = -O1 -g -fsanitize=thread

CORE_OBJ = $(CORE_SRC:%.c=$(BUILD)/%.o)

.PHONY: all clean check test bench install format format-check lint fixtures fuzz deps demo

all: dnsvigil

dnsvigil: $(BUILD)/dnsvigil
	cp $< $@.tmp && mv -f $@.tmp $@

$(BUILD)/dnsvigil: $(CORE_OBJ) $(CLI_SRC:%.c=$(BUILD)/%.o) $(BUILD)/main.o
	$(CC) $(ALLCFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALLCFLAGS) -c -o $@ $<

# ---- tests -------------------------------------------------------------------------------
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOLS    = $(BUILD)/tests/gen $(BUILD)/tests/fuzz_replay

$(BUILD)/tests/test_%: tests/unit/test_%.c $(CORE_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -o $@ $< $(CORE_OBJ) $(LIBS) -lcmocka

$(BUILD)/tests/gen: tests/gen/gen.c tests/gen/pcapw.c tests/gen/pcapw.h
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -o $@ tests/gen/gen.c tests/gen/pcapw.c $(LIBS)

$(BUILD)/tests/fuzz_replay: tests/fuzz/fuzz_decode.c tests/fuzz/replay.c $(CORE_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -o $@ tests/fuzz/fuzz_decode.c tests/fuzz/replay.c $(CORE_OBJ) $(LIBS)

tests-build: $(BUILD)/dnsvigil $(UNIT_BIN) $(TOOLS)

# `make test`: all suites on the normal build.
test: tests-build
	$(MAKE) BUILD=$(SMALL_BUILD) CFLAGS="$(CFLAGS) $(SMALLFLAGS)" $(SMALL_BUILD)/dnsvigil
	BUILD=$(BUILD) tests/run_all.sh

# `make check`: formatting, lint, then all suites on the sanitizer build plus a bounded
# libFuzzer run (FUZZ_SECONDS, 0 to skip): the CI gate. A ThreadSanitizer build of the
# binary (build-tsan) is made for tests/pipe.sh.
check: format-check lint
	$(MAKE) BUILD=$(SAN_BUILD) CFLAGS="$(SANFLAGS)" tests-build
	$(MAKE) BUILD=$(TSAN_BUILD) CFLAGS="$(TSANFLAGS)" $(TSAN_BUILD)/dnsvigil
	$(MAKE) BUILD=$(SMALL_BUILD) CFLAGS="$(SANFLAGS) $(SMALLFLAGS)" $(SMALL_BUILD)/dnsvigil
	BUILD=$(SAN_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run_all.sh

# Install the Debian packages (build and test), then the quick-start demo.
deps:
	tools/install-deps.sh

demo: deps
	$(MAKE) dnsvigil
	./dnsvigil analyze tests/sample.pcap
	rm -f demo.db demo.db-wal demo.db-shm
	./dnsvigil analyze -q --db demo.db tests/sample.pcap tests/pcap/xfr.pcap >/dev/null
	./dnsvigil report --db demo.db --format html -o demo-report.html
	./dnsvigil report --db demo.db
	@echo "demo: the ISO report is also in demo-report.html; 'dnsvigil watch -r tests/sample.pcap' replays it live"

# Regenerate the checked-in fixtures and sample from the generator.
fixtures: $(BUILD)/tests/gen
	$(BUILD)/tests/gen fixtures tests/pcap
	$(BUILD)/tests/gen sample tests/sample.pcap

# libFuzzer run over the decoder (clang); FUZZ_SECONDS bounds it.
FUZZ_SECONDS ?= 60
fuzz:
	tests/fuzz/run_fuzz.sh $(FUZZ_SECONDS)

$(BUILD)/bench: bench/bench.c $(CORE_OBJ) $(HDRS)
	$(CC) $(ALLCFLAGS) -o $@ bench/bench.c $(CORE_OBJ) $(LIBS)

# `make bench`: BENCH_PACKETS (default 5000000), REPEAT (3) and PAIRS (7) tune it; see bench/run.sh.
bench: dnsvigil $(BUILD)/bench $(BUILD)/tests/gen
	bench/run.sh

install: dnsvigil
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 dnsvigil $(DESTDIR)$(PREFIX)/bin/dnsvigil
	install -m 0644 docs/dnsvigil.1 $(DESTDIR)$(PREFIX)/share/man/man1/dnsvigil.1

FMT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]')
format:
	clang-format -i $(FMT_FILES)

format-check:
	clang-format --dry-run --Werror $(FMT_FILES)

lint:
	cppcheck --quiet --enable=warning,performance,portability --error-exitcode=1 \
	  --inline-suppr --suppress=missingIncludeSystem -D_DEFAULT_SOURCE \
	  $(LAYERS) tests/unit tests/gen tests/fuzz cli main.c

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(TSAN_BUILD) $(SMALL_BUILD) dnsvigil
