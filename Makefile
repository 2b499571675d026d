# uipc: the Linux IPC subsystem in user space.
#
#   make            library, shim and tool into build/
#   make check      build and run every test (SAN=1: under ASan+UBSan;
#                   MUSL=1: against musl)
#   make demo       real processes talking through uipc and the kernel
#   make bench      benchmarks, kernel and uipc side by side
#   make install    PREFIX=/usr/local DESTDIR=
#   make deps       (root) the packages the drop-in tests run
#   make mutate     mutation testing (ONLY=msg, IDS="id ...", CONFIRM=0)

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
SAN     ?= 0

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -D_GNU_SOURCE -fPIC $(WARN) -Iinclude -Isrc
LDLIBS  += -lpthread -ldl

# MUSL=1: against musl (Debian's musl-tools).  Its musl-gcc wrapper leaves
# out the kernel's headers (linux/*.h), which do not depend on the C
# library: they come after musl's own.
# `make check CC=musl-gcc` is the same.
MUSL    ?= 0
ifneq ($(findstring musl-gcc,$(CC)),)
MUSL    := 1
endif
ifeq ($(MUSL),1)
override CC := musl-gcc -idirafter /usr/include -idirafter /usr/include/$(shell gcc -dumpmachine)
B       := build-musl
else ifeq ($(SAN),1)
B       := build-san
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
B       := build
endif

LIB_SRC := src/util.c src/cred.c src/lock.c src/wait.c src/store.c src/proc.c src/msg.c src/sem.c src/shm.c src/pipe.c src/signal.c src/handoff.c
LIB_OBJ := $(LIB_SRC:src/%.c=$(B)/obj/%.o)
TESTS   := $(patsubst tests/%.c,$(B)/tests/%,$(filter-out tests/harness.c,$(wildcard tests/*.c)))
BENCHES := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
# Ordinary programs, built without uipc, that the shim_* tests run.
HELPERS := $(patsubst tests/helpers/%.c,$(B)/helpers/%,$(wildcard tests/helpers/*.c))
DEMO    := $(B)/demo/demo

all: $(B)/libuipc.so $(B)/libuipc.a $(B)/libuipc-preload.so $(B)/uipc $(B)/uipc.pc
.PHONY: all check demo bench install clean deps mutate

$(B)/obj/%.o: src/%.c src/internal.h src/direct.h src/libc_calls.h include/uipc.h | $(B)/obj
	$(CC) $(CFLAGS) -DUIPC_DIRECT -fvisibility=hidden -c -o $@ $<

$(B)/obj $(B)/tests $(B)/bench $(B)/demo $(B)/helpers:
	mkdir -p $@

# handoff_spawn.o: in the shared library only (src/handoff_spawn.c says why).
$(B)/libuipc.so: $(LIB_OBJ) $(B)/obj/handoff_spawn.o src/libuipc.map
	$(CC) $(LDFLAGS) -shared -Wl,--version-script=src/libuipc.map \
		-Wl,-soname,libuipc.so.0 -o $@ $(LIB_OBJ) $(B)/obj/handoff_spawn.o $(LDLIBS)
	ln -sf libuipc.so $(B)/libuipc.so.0	# its soname, for programs run from build/

$(B)/libuipc.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

SHIM_SRC := shim/preload.c shim/procview.c shim/pipes.c
$(B)/libuipc-preload.so: $(SHIM_SRC) shim/procview.h shim/pipes.h $(LIB_OBJ) \
		$(B)/obj/handoff_spawn.o shim/preload.map
	$(CC) $(CFLAGS) -DUIPC_DIRECT $(LDFLAGS) -shared -Wl,--version-script=shim/preload.map \
		-o $@ $(SHIM_SRC) $(LIB_OBJ) $(B)/obj/handoff_spawn.o $(LDLIBS)

TOOL_SRC := tools/uipc.c tools/run.c
$(B)/uipc: $(TOOL_SRC) tools/run.h $(B)/libuipc.a
	$(CC) $(CFLAGS) -DUIPC_LIBDIR='"$(PREFIX)/lib"' $(LDFLAGS) -o $@ \
		$(TOOL_SRC) $(B)/libuipc.a $(LDLIBS)

$(B)/uipc.pc: uipc.pc.in | $(B)/obj
	sed -e 's|@PREFIX@|$(PREFIX)|' $< > $@

$(B)/tests/%: tests/%.c tests/harness.c tests/harness.h $(B)/libuipc.a | $(B)/tests
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/harness.c $(B)/libuipc.a $(LDLIBS)

# With the shared library, whose pthread_create stand-in it tests (and so
# without the harness, which uses the library's internals).
$(B)/tests/sig_thread: tests/sig_thread.c $(B)/libuipc.so | $(B)/tests
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -L$(B) -luipc -Wl,-rpath,$(abspath $(B)) $(LDLIBS)

# Neither uipc nor a sanitizer: they stand for other people's programs.
$(B)/helpers/%: tests/helpers/%.c tests/helpers/errname.h | $(B)/helpers
	$(CC) -O2 -g -std=gnu11 -D_GNU_SOURCE $(WARN) -o $@ $< -pthread

$(B)/tests/shim_cred: $(B)/helpers/cred_prog
$(B)/tests/shim_eintr: $(B)/helpers/eintr_prog
$(B)/tests/shim_syscall: $(B)/helpers/syscall_prog
$(B)/tests/shim_closeall: $(B)/helpers/closeall_prog
$(B)/tests/shim_sysctl: $(B)/helpers/sysctl_prog
$(B)/tests/shim_pipes: $(B)/helpers/pipe_prog
$(B)/tests/shim_dlopen: $(B)/helpers/dlopen_prog

# dlopen_prog finds its plugin by its own RUNPATH only ($$ORIGIN/plugin).
$(B)/helpers/plugin/libuipc_plug.so: tests/helpers/plugin/uipc_plug.c | $(B)/helpers
	mkdir -p $(@D)
	$(CC) -O2 -g -std=gnu11 -D_GNU_SOURCE $(WARN) -shared -fPIC -o $@ $<
$(B)/helpers/dlopen_prog: tests/helpers/dlopen_prog.c tests/helpers/errname.h \
		$(B)/helpers/plugin/libuipc_plug.so | $(B)/helpers
	$(CC) -O2 -g -std=gnu11 -D_GNU_SOURCE $(WARN) -o $@ $< \
		-Wl,--enable-new-dtags,-rpath,'$$ORIGIN/plugin' -ldl

# An ordinary program (no uipc) for bench/shim_pipe_bench.sh.
$(B)/bench/pipe_plain: bench/plain/pipe_plain.c | $(B)/bench
	$(CC) -O2 -g -std=gnu11 -D_GNU_SOURCE $(WARN) -o $@ $<

$(B)/bench/%: bench/%.c bench/ops.h $(B)/libuipc.a | $(B)/bench
	$(CC) $(CFLAGS) $(LDFLAGS) -O2 -o $@ $< $(B)/libuipc.a $(LDLIBS)

$(DEMO): demo/demo.c bench/ops.h $(B)/libuipc.a | $(B)/demo
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libuipc.a $(LDLIBS)

check: all $(TESTS) $(HELPERS) $(BENCHES)
	@sh tests/run.sh $(B) $(TESTS)

demo: all $(DEMO) $(B)/bench/msg_bench $(B)/bench/sem_bench $(B)/bench/shm_bench $(B)/bench/pipe_bench $(B)/bench/signal_bench
	@$(DEMO) $(B)

bench: all $(BENCHES) $(B)/bench/pipe_plain
	@for b in $(BENCHES); do $$b || exit 1; done
	@sh bench/shim_pipe_bench.sh $(B)
	@sh bench/stressng_bench.sh $(B)

# Mutation testing: each mutant of tests/mutations.txt built and tested in a
# scratch copy under /tmp (never this tree).  Not part of check or CI.
mutate:
	@python3 tests/mutate.py $(if $(ONLY),--only $(ONLY)) \
		$(if $(filter 0,$(CONFIRM)),--no-confirm) $(IDS)

# The packages whose unmodified programs the shim_* tests run on uipc.
DEPS := stress-ng python3-sysv-ipc perl util-linux postgresql procps musl-tools php-cli fakeroot
deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq $(DEPS) >/dev/null && \
		echo "deps: installed $(DEPS)"; } || \
		echo "deps: could not install $(DEPS); the tests that run them skip"; \
	else \
		echo "deps: as root on Debian: apt-get install $(DEPS)"; \
	fi

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man3 \
		$(DESTDIR)$(PREFIX)/share/man/man7
	install -m 644 include/uipc.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(B)/libuipc.so $(DESTDIR)$(PREFIX)/lib/libuipc.so.0
	ln -sf libuipc.so.0 $(DESTDIR)$(PREFIX)/lib/libuipc.so
	install -m 644 $(B)/libuipc.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(B)/libuipc-preload.so $(DESTDIR)$(PREFIX)/lib/
	sed -e 's|@PREFIX@|$(PREFIX)|' uipc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/uipc.pc
	install -m 755 $(B)/uipc $(DESTDIR)$(PREFIX)/bin/
	install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/*.3 $(DESTDIR)$(PREFIX)/share/man/man3/
	install -m 644 man/*.7 $(DESTDIR)$(PREFIX)/share/man/man7/

clean:
	rm -rf build build-san build-musl
