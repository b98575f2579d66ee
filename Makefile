# Shipoff: the whole build.  ./configure writes config.mk; see README.md.
#
#   make                 build everything
#   make up | down | status     run the platform on loopback (as root)
#   make check           install what is missing, build, run every test
#   make SANITIZER=address|undefined ...   build with a sanitizer
#   make WERROR=0 ...    do not turn warnings into errors (packagers)

NOCONF_GOALS = deps up down status check clean distclean help
ifneq ($(filter-out $(NOCONF_GOALS),$(or $(MAKECMDGOALS),all)),)
include config.mk
endif

SANITIZER ?=
WERROR ?= 1
CFLAGS ?= -O2 -g

WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN += -Werror
endif
ifneq ($(SANITIZER),)
SAN = -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
# the tests' programs inherit it: known leaks of libraries, not ours
export LSAN_OPTIONS = suppressions=$(abspath tests/lsan.supp)
endif

ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(CFLAGS) $(WARN) $(SAN) -pthread \
             -Ilib $(CFLAGS_LIBS)
ALL_LDFLAGS = $(LDFLAGS) $(SAN) -pthread

LIB = lib/libshipoff.a
LIB_SRC = $(wildcard lib/*.c)
LIB_OBJ = $(LIB_SRC:.c=.o)
# every program links all of lib's dependencies: static archive, one list
LIBS = $(LIB) $(LIBS_FCGI) $(LIBS_PQ) $(LIBS_HIREDIS) $(LIBS_JANSSON) \
       $(LIBS_GIT2) $(LIBS_CURL) $(LIBS_ARGON2) $(LIBS_CRYPTO) -lm

API = fcgi-apps/api/shipoff-api
AUTH = fcgi-apps/auth/shipoff-auth
HOOKS = fcgi-apps/hooks/shipoff-hooks
BUILDER = builder/shipoffd
CLI = cli/shipoff
PROGS = $(API) $(AUTH) $(HOOKS) $(BUILDER) $(CLI)

NGX_BUILD = nginx-modules/build
MODULE = $(NGX_BUILD)/ngx_http_shipoff_module.so

# the web console, served by nginx at / (scripts/console-build)
CONSOLE = console/build/index.html
CONSOLE_SRC = console/index.html $(wildcard console/src/*.* console/src/*/*.*)

# /docs/ of the public address: static pages built from docs/*.md
DOCSITE = docs/site/index.html
DOCSITE_SRC = $(wildcard docs/*.md docs/web/*) scripts/docsite

# the browser tests' npm packages (playwright-core, axe-core), pinned by
# tests/browser/package-lock.json and installed when it changes
BROWSER_DEPS = tests/browser/node_modules/.package-lock.json

UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT = $(UNIT_SRC:.c=)

.PHONY: all deps up down status check test unit integration bench clean \
        distclean help fuzz fuzz-replay lint FORCE

all: $(LIB) $(PROGS) $(MODULE) $(CONSOLE) $(DOCSITE)

help:
	@sed -n '3,8p' Makefile | sed 's/^# \{0,1\}//'

config.mk: configure
	@./configure || { echo "run 'make deps' as root to install what is missing" >&2; exit 1; }

# objects are rebuilt whenever the flags change (e.g. SANITIZER=address)
.build-flags: FORCE
	@echo '$(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || \
	    echo '$(ALL_CFLAGS) $(ALL_LDFLAGS)' > $@

# -MMD: each object also depends on the headers it includes (*.d files)
%.o: %.c .build-flags config.mk
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

-include $(wildcard lib/*.d fcgi-apps/*/*.d builder/*.d cli/*.d tests/unit/*.d)

$(LIB): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

define program
$(1): $$(patsubst %.c,%.o,$$(wildcard $(2)/*.c)) $$(LIB)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$(filter %.o,$$^) $$(LIBS)
endef
$(eval $(call program,$(API),fcgi-apps/api))
$(eval $(call program,$(AUTH),fcgi-apps/auth))
$(eval $(call program,$(HOOKS),fcgi-apps/hooks))
$(eval $(call program,$(BUILDER),builder))
# the publisher precompresses static assets (zlib: already a dependency of
# libcurl and libgit2); the sandbox compiles its seccomp filter (libseccomp)
$(BUILDER): LIBS += $(LIBS_Z) $(LIBS_SECCOMP)
$(eval $(call program,$(CLI),cli))

tests/unit/test_%: tests/unit/test_%.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS) $(LIBS_CMOCKA)

# shipoffd's sandbox (builder/cgroup.c, builder/sandbox.c, the seccomp
# policy builder/seccomp.c, the network namespaces builder/netns.c) is
# tested on its own: the test links those objects, not the daemon.  It
# needs root, real cgroups, bwrap and nft, and skips with the reason
# otherwise.
SANDBOX_OBJ = builder/cgroup.o builder/sandbox.o builder/seccomp.o \
              builder/netns.o

$(SANDBOX_OBJ) tests/unit/test_sandbox.o: builder/cgroup.h builder/sandbox.h \
    builder/seccomp.h builder/netns.h
# builder's headers, for the tests of builder's parts (a flag of these
# objects alone: a target-specific variable would reach .build-flags, and
# every object would be rebuilt each time one of these is)
BUILDER_TESTS_OBJ = tests/unit/test_sandbox.o tests/unit/test_publish.o \
                    tests/unit/test_stream.o tests/unit/test_appstate.o

$(BUILDER_TESTS_OBJ): tests/unit/%.o: tests/unit/%.c .build-flags config.mk
	$(CC) $(ALL_CFLAGS) -Ibuilder -MMD -MP -c $< -o $@

tests/unit/test_sandbox: tests/unit/test_sandbox.o $(SANDBOX_OBJ) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(SANDBOX_OBJ) $(LIBS) $(LIBS_SECCOMP) \
	    $(LIBS_CMOCKA)

# the publisher (builder/publish.c, source.c) on its own, with what they
# call: the deployment's log (builder/deploylog.c: a NULL log writes
# nowhere) and the sandbox a clone runs in
PUBLISH_OBJ = builder/publish.o builder/source.o builder/deploylog.o \
              builder/build.o $(SANDBOX_OBJ)

tests/unit/test_publish: tests/unit/test_publish.o $(PUBLISH_OBJ) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(PUBLISH_OBJ) $(LIBS) $(LIBS_Z) \
	    $(LIBS_SECCOMP) $(LIBS_CMOCKA)

# the stream consumers' policy (builder/stream.c) on its own, against a
# redis-server the test starts
tests/unit/test_stream: tests/unit/test_stream.o builder/stream.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $< builder/stream.o $(LIBS) $(LIBS_CMOCKA)

# the supervisor's state machine (builder/appstate.c): a pure function
tests/unit/test_appstate: tests/unit/test_appstate.o builder/appstate.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $< builder/appstate.o $(LIBS) $(LIBS_CMOCKA)

# The static module's rules (nginx-modules/src/shipoff_rules.c) are
# plain C: its unit test and the corpus replay of its fuzzer compile it
# directly, without nginx.  `make fuzz` builds the libFuzzer binary (clang).
RULES_SRC = nginx-modules/src/shipoff_rules.c
RULES_DEPS = $(RULES_SRC) nginx-modules/src/shipoff_rules.h \
             .build-flags config.mk
FUZZ_REPLAY = tests/fuzz/rules_replay
FUZZ_SRC = tests/fuzz/rules_fuzzer.c

tests/unit/test_rules: tests/unit/test_rules.c tests/unit/so_test.h $(RULES_DEPS)
	$(CC) $(ALL_CFLAGS) -Inginx-modules/src -o $@ tests/unit/test_rules.c \
	    $(RULES_SRC) $(ALL_LDFLAGS) $(LIBS_CMOCKA)

$(FUZZ_REPLAY): tests/fuzz/replay.c $(FUZZ_SRC) $(RULES_DEPS)
	$(CC) $(ALL_CFLAGS) -Inginx-modules/src -o $@ tests/fuzz/replay.c \
	    $(FUZZ_SRC) $(RULES_SRC) $(ALL_LDFLAGS)

fuzz-replay: $(FUZZ_REPLAY)
	./$(FUZZ_REPLAY) tests/fuzz/corpus/rules

tests/fuzz/rules_fuzzer: $(FUZZ_SRC) $(RULES_DEPS)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Inginx-modules/src \
	    -o $@ $(FUZZ_SRC) $(RULES_SRC)

# an input that takes a second is a finding, as a crash is: the rules run
# in the nginx workers every tenant shares (fuzz-replay: 50 ms of CPU each)
fuzz: tests/fuzz/rules_fuzzer
	./tests/fuzz/rules_fuzzer -max_total_time=60 -timeout=1 \
	    tests/fuzz/corpus/rules

# the addon is configured once against Debian's nginx-dev tree, which
# nginx's configure leaves untouched; everything lands in $(NGX_BUILD)
$(NGX_BUILD)/Makefile: nginx-modules/config config.mk
	mkdir -p $(NGX_BUILD)
	cd $(NGX_SRC) && ./configure --with-compat \
	    --add-dynamic-module=$(abspath nginx-modules) \
	    --builddir=$(abspath $(NGX_BUILD)) > $(abspath $(NGX_BUILD))/configure.log 2>&1 \
	    || { tail -20 $(abspath $(NGX_BUILD))/configure.log; exit 1; }

# nginx names the library after the first module in the addon's config;
# renamed into place, as a running nginx may have the old one mapped
$(MODULE): $(NGX_BUILD)/Makefile $(wildcard nginx-modules/src/*)
	$(MAKE) -s -f $(abspath $(NGX_BUILD))/Makefile -C $(NGX_SRC) modules
	cp $(NGX_BUILD)/ngx_http_shipoff_router_module.so $@.tmp
	mv -f $@.tmp $@

$(CONSOLE): $(CONSOLE_SRC) scripts/console-build
	scripts/console-build

$(DOCSITE): $(DOCSITE_SRC)
	scripts/docsite docs docs/web docs/site

$(BROWSER_DEPS): tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error

deps:
	@scripts/deps

up: deps
	@$(MAKE) -s all
	@scripts/stack up

down:
	@scripts/stack down

status:
	@scripts/stack status

check: deps
	@$(MAKE) -s test

test: lint unit fuzz-replay integration

# no call or include loop among builder/'s files (issue 13): each actor of
# shipoffd is given what it uses, and none calls back into its caller
lint: $(BUILDER)
	scripts/callgraph builder

unit: $(UNIT) $(LIB)
	@set -e; for t in $(UNIT); do echo "# $$t"; ./$$t; done

# Four files at a time on any machine: an integration file spends most of
# its time waiting (on a build's sandbox, an app's start, a timer it
# tests), not on a core.  On 2 cores -j4 took 422 s where -j2 took 858 s,
# with the same 4,722 tests passing.  PROVE_JOBS=1 runs them one by one.
PROVE_JOBS = 4

integration: all $(BROWSER_DEPS)
	prove -v --timer -j$(PROVE_JOBS) tests/integration/

# the in-process cost of a token check, for bench/api.pl
bench/jwt: bench/jwt.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS)

# shipoffd's clone as a process of its own, for bench/builder.pl
bench/clone: bench/clone.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS)

bench: all bench/jwt bench/clone
	@for b in $(wildcard bench/*.sh); do sh $$b || exit 1; done
	@for b in $(wildcard bench/*.pl); do perl $$b || exit 1; done

clean:
	rm -f lib/*.o $(LIB) fcgi-apps/*/*.o builder/*.o cli/*.o \
	      lib/*.d fcgi-apps/*/*.d builder/*.d cli/*.d tests/unit/*.d \
	      tests/unit/*.o $(UNIT) $(PROGS) .build-flags \
	      $(FUZZ_REPLAY) tests/fuzz/rules_fuzzer bench/jwt bench/clone \
	      bench/*.o bench/*.d
	rm -rf $(NGX_BUILD) console/build docs/site

distclean: clean
	rm -f config.mk

FORCE:
