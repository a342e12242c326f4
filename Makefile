# socks64 - one non-recursive Makefile, building out of tree into $(B).
#
#   make                  gatewayd, libsocks64.so, socks64-run
#   make check            unit and integration tests (installs test tools)
#   make check SANITIZE=1 the same under AddressSanitizer + UBSan
#   make fuzz             each libFuzzer target for FUZZ_SECONDS (clang)
#   make install          PREFIX, DESTDIR, sbindir, bindir, libdir, ... honoured

PREFIX		?= /usr/local
exec_prefix	?= $(PREFIX)
bindir		?= $(exec_prefix)/bin
sbindir		?= $(exec_prefix)/sbin
libdir		?= $(exec_prefix)/lib
includedir	?= $(PREFIX)/include
datarootdir	?= $(PREFIX)/share
mandir		?= $(datarootdir)/man
# Configuration lives in /etc unless told otherwise: the shim's file is
# named in its documentation as /etc/socks64.conf, whatever the PREFIX.
sysconfdir	?= /etc
pkgconfigdir	?= $(libdir)/pkgconfig
systemdunitdir	?= $(libdir)/systemd/system
# The file libsocks64 reads (SOCKS64_CONF overrides it at run time).
socks64conf	?= $(sysconfdir)/socks64.conf
DESTDIR		?=

CC		?= cc
CFLAGS		?= -O2 -g
LDFLAGS		?=
WARN		 = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
		   -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
CPPFLAGS_ALL	 = -D_GNU_SOURCE -Isrc -Iinclude $(CPPFLAGS)

# SANITIZE=1: ASan + UBSan; SANITIZE=thread: TSan. Each has its own tree.
SANITIZE	?=
ifeq ($(SANITIZE),)
B		?= build
SANFLAGS	 =
else ifeq ($(SANITIZE),thread)
B		?= build/tsan
SANFLAGS	 = -fsanitize=thread -fno-omit-frame-pointer
else
B		?= build/asan
SANFLAGS	 = -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer
endif

ALL_CFLAGS	 = $(WARN) $(CFLAGS) $(SANFLAGS) -fPIC -pthread
ALL_LDFLAGS	 = $(LDFLAGS) $(SANFLAGS) -pthread

# --- sources ------------------------------------------------------------
COMMON_SRC	:= $(wildcard src/*.c)
GW_MAIN		:= src/gateway/main.c
GW_SRC		:= $(filter-out $(GW_MAIN),$(wildcard src/gateway/*.c))
RUN_SRC		:= src/lib/socks64-run.c
LIB_SRC		:= $(filter-out $(RUN_SRC),$(wildcard src/lib/*.c))
LIB_MAP		:= src/lib/libsocks64.map

obj		 = $(patsubst %.c,$(B)/obj/%.o,$(1))
COMMON_OBJ	:= $(call obj,$(COMMON_SRC))
GW_OBJ		:= $(call obj,$(GW_SRC))
LIB_OBJ		:= $(call obj,$(LIB_SRC))

GATEWAYD	:= $(B)/gatewayd
LIBSOCKS64	:= $(B)/libsocks64.so
SOCKS64_RUN	:= $(B)/socks64-run
PROGRAMS	:= $(GATEWAYD) $(if $(LIB_SRC),$(LIBSOCKS64)) \
		   $(if $(wildcard $(RUN_SRC)),$(SOCKS64_RUN))

# --- tests --------------------------------------------------------------
# tests/unit/test_*.c:        shared code and gateway policy, with cmocka
# tests/lib/test_*.c:         the shim's internals, with cmocka
# tests/integration/it_*.c:   real binaries over real sockets, with cmocka
# tests/tools/*.c:            small servers and clients the tests drive
UNIT_TESTS	:= $(patsubst tests/unit/%.c,$(B)/tests/%,\
		   $(wildcard tests/unit/test_*.c))
LIB_TESTS	:= $(patsubst tests/lib/%.c,$(B)/tests/%,\
		   $(wildcard tests/lib/test_*.c))
IT_TESTS	:= $(patsubst tests/integration/%.c,$(B)/tests/%,\
		   $(wildcard tests/integration/it_*.c))
IT_SUPPORT	:= $(call obj,$(filter-out $(wildcard tests/integration/it_*.c),\
		   $(wildcard tests/integration/*.c)))
TOOLS		:= $(patsubst tests/tools/%.c,$(B)/tools/%,\
		   $(wildcard tests/tools/*.c))
TEST_BINS	:= $(UNIT_TESTS) $(LIB_TESTS) $(IT_TESTS) $(TOOLS)

LIBS		:= -lcrypt
TEST_LIBS	:= -lcmocka $(LIBS)

.PHONY: all check tests deps install uninstall clean
all: $(PROGRAMS)

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(GATEWAYD): $(call obj,$(GW_MAIN)) $(GW_OBJ) $(COMMON_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# Only the interposed symbols and the public API leave the shim: an
# exported internal name would hijack the host program's own functions.
$(B)/obj/src/lib/%.o: ALL_CFLAGS += -fvisibility=hidden
$(LIBSOCKS64): $(LIB_OBJ) $(COMMON_OBJ) $(wildcard $(LIB_MAP))
	$(CC) $(ALL_LDFLAGS) -shared -Wl,-soname,libsocks64.so \
	    $(if $(wildcard $(LIB_MAP)),-Xlinker --version-script=$(LIB_MAP)) \
	    -o $@ $(LIB_OBJ) $(COMMON_OBJ) -ldl

# The library reads $(socks64conf); socks64-run looks for the library in
# the libdir it is installed for. The stamp changes only when those paths
# do, so `make install libdir=...` after a plain `make` rebuilds the two
# objects that bake them in instead of installing stale paths.
PATHS_STAMP	:= $(B)/paths.stamp
PATHS_TEXT	:= socks64conf=$(socks64conf) libdir=$(libdir)
$(PATHS_STAMP): FORCE
	@mkdir -p $(@D)
	@[ "$$(cat $@ 2>/dev/null)" = '$(PATHS_TEXT)' ] || \
	    echo '$(PATHS_TEXT)' > $@
$(B)/obj/src/lib/config.o: CPPFLAGS_ALL += -DSHIM_CONF_PATH='"$(socks64conf)"'
$(B)/obj/src/lib/config.o: $(PATHS_STAMP)
$(call obj,$(RUN_SRC)): CPPFLAGS_ALL += -DSOCKS64_LIBDIR='"$(libdir)"'
$(call obj,$(RUN_SRC)): $(PATHS_STAMP)
.PHONY: FORCE
FORCE:
$(SOCKS64_RUN): $(call obj,$(RUN_SRC)) $(COMMON_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^

$(B)/tests/test_%: $(B)/obj/tests/unit/test_%.o $(GW_OBJ) $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS)

$(LIB_TESTS): $(B)/tests/test_%: $(B)/obj/tests/lib/test_%.o $(LIB_OBJ) \
	    $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) -ldl

$(B)/tests/it_%: $(B)/obj/tests/integration/it_%.o $(IT_SUPPORT) \
	    $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS)

$(B)/tools/%: $(B)/obj/tests/tools/%.o $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

tests: $(PROGRAMS) $(TEST_BINS)

# deps first (it may install libcmocka-dev), then build, then run.
check:
	@sh tests/deps.sh
	@$(MAKE) --no-print-directory tests
	@B=$(B) SANITIZE=$(SANITIZE) sh tests/run.sh

deps:
	@sh tests/deps.sh

# make fuzz [FUZZ_SECONDS=60]: each tests/fuzz/fuzz_X.c built with clang's
# libFuzzer, ASan and UBSan as $(B)/fuzz/fuzz_X, run for FUZZ_SECONDS on
# its seeds (tests/fuzz/run.sh); -jN runs N at once. The same bodies,
# without libFuzzer, replay the seeds and crashes in test_fuzz_regress.
FUZZ_CC		?= clang
FUZZ_SECONDS	?= 60
FUZZ_FLAGS	 = -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all \
		   -fsanitize=address,undefined
FUZZ_SRC	:= $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES	:= $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_BINS	:= $(addprefix $(B)/fuzz/fuzz_,$(FUZZ_NAMES))
FUZZ_RUNS	:= $(addprefix fuzz-run-,$(FUZZ_NAMES))
fuzz_obj	 = $(patsubst %.c,$(B)/fuzz/obj/%.o,$(1))
.PHONY: fuzz $(FUZZ_RUNS)

$(B)/tests/test_fuzz_regress: $(call obj,$(FUZZ_SRC) src/lib/config.c \
	    src/lib/real.c)

$(B)/fuzz/obj/%.o: %.c $(wildcard src/*.h src/*/*.h tests/fuzz/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS_ALL) -DFUZZ_MAIN $(WARN) $(FUZZ_FLAGS) \
	    -fsanitize=fuzzer-no-link -c -o $@ $<

# Each target links only the code it parses, not the daemon's mechanism.
$(FUZZ_BINS): $(B)/fuzz/fuzz_%: $(B)/fuzz/obj/tests/fuzz/fuzz_%.o \
	    $(call fuzz_obj,$(COMMON_SRC))
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -pthread -o $@ $^ $(LIBS)
$(B)/fuzz/fuzz_gateway_conf $(B)/fuzz/fuzz_users: $(call fuzz_obj,\
	    $(wildcard src/gateway/conf*.c) src/gateway/policy.c \
	    src/gateway/users.c)
$(B)/fuzz/fuzz_shim_conf $(B)/fuzz/fuzz_shim_env: $(call fuzz_obj,\
	    src/lib/config.c src/lib/real.c)

.PHONY: fuzz-runs
fuzz:
	@sh tests/deps.sh tests/fuzz/deps.txt
	@$(MAKE) --no-print-directory fuzz-runs
fuzz-runs: $(FUZZ_RUNS)
$(FUZZ_RUNS): fuzz-run-%: $(B)/fuzz/fuzz_%
	@sh tests/fuzz/run.sh $< $* $(FUZZ_SECONDS) $(B)/fuzz

# The pages in man/ name the default paths; installed ones name the real.
MAN_SED		 = sed -e 's|/etc/socks64.conf|$(socks64conf)|g' \
		   -e 's|/etc/socks64/|$(sysconfdir)/socks64/|g' \
		   -e 's|/usr/local/lib/systemd/system|$(systemdunitdir)|g'

install: all
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(mandir)/man8 \
	    $(DESTDIR)$(mandir)/man5 $(DESTDIR)$(sysconfdir)/socks64
	install -m 755 $(GATEWAYD) $(DESTDIR)$(sbindir)/gatewayd
	$(MAN_SED) man/gatewayd.8 > $(DESTDIR)$(mandir)/man8/gatewayd.8
	$(MAN_SED) man/gatewayd.conf.5 > $(DESTDIR)$(mandir)/man5/gatewayd.conf.5
	test -e $(DESTDIR)$(sysconfdir)/socks64/gatewayd.conf || \
	    install -m 644 conf/gatewayd.conf $(DESTDIR)$(sysconfdir)/socks64/
	install -d $(DESTDIR)$(systemdunitdir)
	sed 's|@sbindir@|$(sbindir)|g; s|@sysconfdir@|$(sysconfdir)|g' \
	    conf/gatewayd.service > $(DESTDIR)$(systemdunitdir)/gatewayd.service
	install -m 644 conf/gatewayd.socket $(DESTDIR)$(systemdunitdir)/
	install -d $(DESTDIR)$(bindir) $(DESTDIR)$(libdir) \
	    $(DESTDIR)$(includedir) $(DESTDIR)$(pkgconfigdir) \
	    $(DESTDIR)$(mandir)/man1 $(DESTDIR)$(mandir)/man3
	install -m 755 $(LIBSOCKS64) $(DESTDIR)$(libdir)/libsocks64.so
	install -m 755 $(SOCKS64_RUN) $(DESTDIR)$(bindir)/socks64-run
	install -m 644 include/socks64.h $(DESTDIR)$(includedir)/
	sed -e 's|@prefix@|$(PREFIX)|g' -e 's|@libdir@|$(libdir)|g' \
	    -e 's|@includedir@|$(includedir)|g' -e 's|@version@|0.1.0|g' \
	    conf/socks64.pc.in > $(DESTDIR)$(pkgconfigdir)/socks64.pc
	$(MAN_SED) man/socks64-run.1 > $(DESTDIR)$(mandir)/man1/socks64-run.1
	$(MAN_SED) man/libsocks64.3 > $(DESTDIR)$(mandir)/man3/libsocks64.3
	$(MAN_SED) man/socks64.conf.5 > $(DESTDIR)$(mandir)/man5/socks64.conf.5
	test -e $(DESTDIR)$(socks64conf) || \
	    install -D -m 644 conf/socks64.conf $(DESTDIR)$(socks64conf)

uninstall:
	rm -f $(DESTDIR)$(sbindir)/gatewayd \
	    $(DESTDIR)$(mandir)/man8/gatewayd.8 \
	    $(DESTDIR)$(mandir)/man5/gatewayd.conf.5 \
	    $(DESTDIR)$(systemdunitdir)/gatewayd.service \
	    $(DESTDIR)$(systemdunitdir)/gatewayd.socket \
	    $(DESTDIR)$(libdir)/libsocks64.so \
	    $(DESTDIR)$(bindir)/socks64-run \
	    $(DESTDIR)$(includedir)/socks64.h \
	    $(DESTDIR)$(pkgconfigdir)/socks64.pc \
	    $(DESTDIR)$(mandir)/man1/socks64-run.1 \
	    $(DESTDIR)$(mandir)/man3/libsocks64.3 \
	    $(DESTDIR)$(mandir)/man5/socks64.conf.5

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# make bench [ROUNDS=3] [BENCH_QUICK=1]: gatewayd, the shim (when it
# builds; its cases say n/a otherwise), the load generator and server in
# $(B)/bench, then bench/run.sh against Dante, microsocks and a direct
# connection (docs/BENCHMARKS.md). Loopback only; ~10 min, quick <1 min.
# A program per bench/*.c; the load generator's parts (bench/lg/) are
# linked into it.
BENCH_BINS	:= $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
LOADGEN_OBJ	:= $(call obj,$(wildcard bench/lg/*.c))
.PHONY: bench

$(BENCH_BINS): $(B)/bench/%: $(B)/obj/bench/%.o $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^

$(B)/bench/loadgen: $(LOADGEN_OBJ)

bench: $(GATEWAYD) $(BENCH_BINS)
	@$(MAKE) --no-print-directory $(LIBSOCKS64) || \
	    echo "bench: libsocks64.so did not build: shim cases are n/a"
	@B=$(B) bash bench/run.sh
