# writ - one non-recursive Makefile.  `make help` lists the targets.

VERSION := 0.1.0
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
# Where `make install` puts the rest (DESTDIR goes in front of each).
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
# Both are on systemd's search path for PREFIX=/usr and PREFIX=/usr/local.
SYSTEMUNITDIR ?= $(PREFIX)/lib/systemd/system
USERUNITDIR ?= $(PREFIX)/lib/systemd/user
DESTDIR ?=
B ?= build
WERROR ?= 1
SAN ?= 0

CC ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
# -Wno-format-truncation: messages are cut to fit on purpose; where a cut
# path would matter, the code checks snprintf's return value.
WARN := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wformat=2 -Wshadow -Wvla \
	-Wstrict-prototypes -Wno-format-truncation
ifeq ($(WERROR),1)
WARN += -Werror
endif
ifeq ($(SAN),1)
# ASan and FORTIFY disagree; the sanitizers check more anyway.
HARDEN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -fPIE
LDHARDEN := -fsanitize=address,undefined -pie
# Options built in (tests/shims/sanopts.c): reports go to $(B)/san from
# every program, also one started with a cleared environment.
SAN_OBJ := $(B)/tests/shims/sanopts.o
$(SAN_OBJ): DEFS += -DWRIT_SAN_DIR='"$(abspath $(B))/san"'
else
HARDEN := -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fstack-clash-protection \
	-fcf-protection -fPIE
LDHARDEN := -pie -Wl,-z,relro,-z,now,-z,noexecstack
endif
DEFS := -DWRIT_VERSION='"$(VERSION)"'
ALL_CFLAGS = $(WARN) $(HARDEN) $(DEFS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDHARDEN) $(LDFLAGS)

pc = $(shell $(PKG_CONFIG) --cflags --libs $(1) 2>/dev/null)
KIND_LIBS = $(call pc,jansson libsodium libcurl libcrypto)
WRITD_LIBS = $(call pc,libmicrohttpd jansson libsodium libcurl libcrypto) -lkeyutils -lacl -lpthread
AGENT_LIBS = $(call pc,jansson)
CHECK_LIBS = $(call pc,check jansson libsodium) -lkeyutils

# Debian packages every target needs; `make deps` installs what is missing.
DEBS := build-essential pkg-config libmicrohttpd-dev libjansson-dev \
	libsodium-dev libkeyutils-dev libcurl4-openssl-dev libssl-dev check curl jq \
	openssl procps python3 bubblewrap keyutils git openssh-client gdb mandoc \
	socat ripgrep podman runc libacl1-dev

ifeq ($(V),1)
Q :=
say = @:
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
endif

WRITD_SRC := broker/writd.c broker/core.c broker/server.c broker/api.c broker/route.c broker/session.c \
	broker/approval.c broker/issue.c broker/reaper.c broker/restore.c broker/writs.c broker/peer.c broker/config.c \
	broker/duration.c broker/sjson.c broker/errors.c broker/secret.c \
	broker/fsutil.c broker/approver.c broker/store.c broker/upstream.c broker/audit.c \
	broker/auditfmt.c broker/journal.c broker/ledger.c broker/show.c broker/oidc.c broker/refusals.c \
	broker/logtail.c \
	policy/policy.c plugins/kinds.c plugins/jwt/jwt.c plugins/github/github.c
LIBWRIT_SRC := agent-side/libwrit.c
WRIT_SRC := agent-side/writ.c $(LIBWRIT_SRC)
# writctl checks policy files itself, so it links the engine and the kinds'
# grammar (never their keys: kinds are only initialised by writd).
HELPER_SRC := agent-side/git-credential-writ.c agent-side/gitcred.c $(LIBWRIT_SRC)
WRITCTL_SRC := broker/writctl.c broker/show.c broker/fsutil.c $(LIBWRIT_SRC) policy/policy.c broker/duration.c \
	broker/sjson.c broker/errors.c broker/secret.c plugins/kinds.c plugins/jwt/jwt.c \
	plugins/github/github.c
# The host side of a sandbox: libc, jansson and the runtime-dir walk only.
SANDBOX_SRC := broker/writ-sandbox.c broker/sandbox-spool.c broker/relay.c broker/launch.c broker/fsutil.c broker/errors.c $(LIBWRIT_SRC)
# Pure modules the unit tests link.
UNIT_MOD := broker/config.c broker/duration.c broker/sjson.c broker/errors.c \
	broker/secret.c broker/fsutil.c plugins/kinds.c plugins/jwt/jwt.c \
	plugins/github/github.c policy/policy.c broker/audit.c broker/auditfmt.c broker/journal.c broker/store.c \
	broker/show.c broker/oidc.c broker/refusals.c broker/logtail.c broker/route.c \
	agent-side/libwrit.c agent-side/gitcred.c
UNIT_SRC := $(wildcard tests/unit/*.c)

obj = $(patsubst %.c,$(B)/%.o,$(1))
BINS := $(B)/writd $(B)/writctl $(B)/writ $(B)/git-credential-writ $(B)/writ-sandbox

.PHONY: all check unit integration run asan fuzz bench install manlint clean deps help
all: $(BINS)

help:
	@echo 'targets: all check run asan install clean deps  (V=1 WERROR=0 PREFIX= DESTDIR=)'

$(B)/%.o: %.c
	$(call say,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(call pc,libmicrohttpd jansson libsodium check libcurl) -c $< -o $@

# SAN=1: every program links the built-in sanitizer options ($^ below).
$(BINS) $(B)/check_unit: $(SAN_OBJ)

$(B)/writd: $(call obj,$(WRITD_SRC))
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ -o $@ $(WRITD_LIBS)

$(B)/writ: $(call obj,$(WRIT_SRC))
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ -o $@ $(AGENT_LIBS)

$(B)/git-credential-writ: $(call obj,$(HELPER_SRC))
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ -o $@ $(AGENT_LIBS)

$(B)/writctl: $(call obj,$(WRITCTL_SRC))
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ -o $@ $(KIND_LIBS) -lpthread

$(B)/writ-sandbox: $(call obj,$(SANDBOX_SRC))
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ -o $@ $(AGENT_LIBS)

$(B)/check_unit: $(call obj,$(UNIT_SRC) $(UNIT_MOD))
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ -o $@ $(CHECK_LIBS) $(KIND_LIBS) -lpthread

deps:
	@missing=; for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "missing Debian packages; run:"; echo "  sudo apt-get install -y$$missing"; exit 1; \
	fi; \
	echo "installing:$$missing"; \
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing

# A test shim (LD_PRELOAD) for disk faults; plain flags: it runs inside
# sanitized programs too.
$(B)/syncfault.so: tests/shims/syncfault.c
	$(call say,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(WARN) -O2 -fPIC -shared $< -o $@ -ldl

unit: $(B)/check_unit
	$(B)/check_unit

integration: $(BINS) $(B)/syncfault.so
	WRIT_BIN=$(abspath $(B)) tests/integration/run.sh

check: deps
	$(MAKE) --no-print-directory all $(B)/check_unit
	$(MAKE) --no-print-directory manlint unit integration

asan: deps
	$(MAKE) --no-print-directory B=build-asan SAN=1 CFLAGS='-O1 -g' all build-asan/check_unit
	@rm -rf build-asan/san && mkdir -m 1777 build-asan/san
	@# Where reports go is built in (sanopts.c), not passed in the environment,
	@# which env -i and the approver command's clean environment drop.
	$(MAKE) --no-print-directory B=build-asan SAN=1 CFLAGS='-O1 -g' unit integration
	@# Every binary the tests ran reports here; one report fails the run.
	@if [ -n "$$(ls build-asan/san)" ]; then cat build-asan/san/*; \
	  echo "asan: sanitizer reports above"; exit 1; else echo "asan: no sanitizer reports"; fi

run: deps
	$(MAKE) --no-print-directory all
	@echo
	@echo "Starting writd in the foreground (Ctrl-C stops it). In another terminal:"
	@echo "  $(abspath $(B))/writctl watch                     # approve requests as they come"
	@echo "and in a third:"
	@echo "  export WRIT_SOCKET=\$$($(abspath $(B))/writctl sessions new demo)"
	@echo "  $(abspath $(B))/writ get jwt --scope aud=example  # prints a token after you approve"
	@echo "  $(abspath $(B))/writctl jwks                      # the public key that verifies it"
	@echo
	exec $(B)/writd

# Benchmarks: printed, never asserted.
# The load generator, and the bare reference server writd is held against
# (tests/bench/ref.c: libmicrohttpd set up as writd's, one signature a POST).
$(B)/load: tests/bench/load.c
	$(call say,LD,$@)
	$(Q)$(CC) $(WARN) $(HARDEN) $(CFLAGS) $(LDHARDEN) $(LDFLAGS) $< -o $@

$(B)/ref: tests/bench/ref.c broker/server.h
	$(call say,LD,$@)
	$(Q)$(CC) $(WARN) $(HARDEN) $(CFLAGS) -Ibroker $(call pc,libmicrohttpd jansson libsodium) \
		$(LDHARDEN) $(LDFLAGS) $< -o $@ $(call pc,libmicrohttpd libsodium)

bench: deps all $(B)/load $(B)/ref
	WRIT_BIN=$(abspath $(B)) tests/bench/run.sh

# One libFuzzer harness per parser; each runs FUZZ_SECONDS from its corpus.
# The modules are compiled once (with coverage and the sanitizers) and
# linked into every harness.
FUZZ_SECONDS ?= 30
FUZZ_MOD := policy/policy.c broker/duration.c broker/sjson.c broker/errors.c \
	broker/secret.c plugins/kinds.c plugins/jwt/jwt.c plugins/github/github.c \
	broker/audit.c broker/auditfmt.c broker/journal.c broker/logtail.c broker/store.c \
	broker/fsutil.c broker/route.c broker/config.c agent-side/libwrit.c agent-side/gitcred.c
FUZZERS := policy request audit auditstate oidc route response credential ledger config
FZ := build-fuzz
FUZZ_OBJ := $(patsubst %.c,$(FZ)/%.o,$(FUZZ_MOD))
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -DWRIT_VERSION='"fuzz"' \
	$(shell $(PKG_CONFIG) --cflags jansson libsodium)
FUZZ_LIBS = $(shell $(PKG_CONFIG) --libs jansson libsodium libcurl libcrypto) -lkeyutils
# Kept between runs: the harnesses share them.
.SECONDARY: $(FUZZ_OBJ)

$(FZ)/%.o: %.c
	$(call say,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c $< -o $@

$(FZ)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	$(call say,LD,$@)
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -MMD -MP -MF $@.d \
		$< $(FUZZ_OBJ) -o $@ $(FUZZ_LIBS)

fuzz:
	@command -v clang >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q clang; } || \
	  { echo "make fuzz needs clang: sudo apt-get install -y clang"; exit 1; }
	$(MAKE) --no-print-directory $(addprefix $(FZ)/fuzz_,$(FUZZERS))
	@for f in $(FUZZERS); do \
	  echo "  FUZZ   $$f ($(FUZZ_SECONDS)s)"; \
	  mkdir -p $(FZ)/corpus-$$f; \
	  $(FZ)/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    $(FZ)/corpus-$$f tests/fuzz/corpus/$$f 2>$(FZ)/$$f.log || \
	    { tail -40 $(FZ)/$$f.log; exit 1; }; \
	  grep -E '^Done|^#[0-9]+ *DONE' $(FZ)/$$f.log | tail -1; \
	done

# What `make install` adds to the binaries.  Units and man pages name
# installed paths as @BINDIR@, @LIBEXECDIR@, @EXAMPLESDIR@, @SYSTEMUNITDIR@,
# @USERUNITDIR@ (and @VERSION@), filled in here; tests/integration/t_install.sh
# checks that none is left.
MANPAGES := $(wildcard deploy/man/*.[1-8])
APPROVERS := deploy/approvers/approve-tty deploy/approvers/approve-zenity
EXAMPLES := $(wildcard policy/examples/*.json)
EXAMPLESDIR = $(DATADIR)/writ/examples
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' \
	-e 's|@EXAMPLESDIR@|$(EXAMPLESDIR)|g' -e 's|@SYSTEMUNITDIR@|$(SYSTEMUNITDIR)|g' \
	-e 's|@USERUNITDIR@|$(USERUNITDIR)|g' -e 's|@VERSION@|$(VERSION)|g'

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)/writ $(DESTDIR)$(EXAMPLESDIR) \
		$(DESTDIR)$(SYSTEMUNITDIR) $(DESTDIR)$(USERUNITDIR) \
		$(addprefix $(DESTDIR)$(MANDIR)/man,1 5 8)
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	install -m 0755 $(APPROVERS) $(DESTDIR)$(LIBEXECDIR)/writ/
	install -m 0644 $(EXAMPLES) $(DESTDIR)$(EXAMPLESDIR)/
	@# The system unit runs writd under a user of its own; both are writd.service.
	$(SUBST) deploy/systemd/writd-system.service >$(DESTDIR)$(SYSTEMUNITDIR)/writd.service
	$(SUBST) deploy/systemd/writd.service >$(DESTDIR)$(USERUNITDIR)/writd.service
	chmod 0644 $(DESTDIR)$(SYSTEMUNITDIR)/writd.service $(DESTDIR)$(USERUNITDIR)/writd.service
	@for m in $(MANPAGES); do \
	  d=$(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; \
	  echo "$(SUBST) $$m >$$d"; \
	  $(SUBST) $$m >$$d && chmod 0644 $$d || exit 1; \
	done

# The man pages, mdoc(7): any mandoc message of level warning or worse fails.
manlint:
	@command -v mandoc >/dev/null || { echo "manlint needs mandoc: make deps"; exit 1; }
	@# NB. with no file mandoc reads stdin and would pass.
	@[ -n "$(MANPAGES)" ] || { echo "manlint: no pages in deploy/man"; exit 1; }
	@out=$$(mandoc -T lint -W warning $(MANPAGES) 2>&1); rc=$$?; \
	  if [ $$rc -ne 0 ] || [ -n "$$out" ]; then echo "$$out"; echo "manlint: fix the pages above"; exit 1; fi; \
	  echo "  MANLINT $(words $(MANPAGES)) pages"

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(B) $(FZ) -name '*.d' 2>/dev/null)
