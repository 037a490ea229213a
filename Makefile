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
# How many jobs the builds of check, asan and fuzzers run (and fuzz its
# harnesses); the tests run one at a time: their guards are wall-clock.
JOBS ?= $(shell nproc 2>/dev/null || echo 1)

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
# The confined front end may write its reports there (frontconfine.c).
$(B)/broker/frontconfine.o: DEFS += -DWRIT_SAN_DIR='"$(abspath $(B))/san"'
else
HARDEN := -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fstack-clash-protection \
	-fcf-protection -fPIE
LDHARDEN := -pie -Wl,-z,relro,-z,now,-z,noexecstack
endif
DEFS := -DWRIT_VERSION='"$(VERSION)"' -DWRIT_LIBEXECDIR='"$(LIBEXECDIR)"'
# Headers included by bare name from anywhere: the leaf modules
# (broker/lib) and the secret store's (broker/store).
INC := -iquote broker/lib -iquote broker/store
ALL_CFLAGS = $(WARN) $(HARDEN) $(DEFS) $(INC) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDHARDEN) $(LDFLAGS)

pc = $(shell $(PKG_CONFIG) --cflags --libs $(1) 2>/dev/null)
KIND_LIBS = $(call pc,jansson libsodium libcurl libcrypto)
WRITD_LIBS = $(call pc,libmicrohttpd jansson libsodium libcurl libcrypto) -lacl -lpthread
MINTER_LIBS = $(call pc,jansson libsodium libcurl libcrypto) -lkeyutils -lpthread
AGENT_LIBS = $(call pc,jansson)
WRITCTL_LIBS = $(call pc,jansson libsodium) -lpthread
CHECK_LIBS = $(call pc,check jansson libsodium) -lkeyutils

# Debian packages every target needs; `make deps` installs what is missing.
DEBS := build-essential pkg-config libmicrohttpd-dev libjansson-dev \
	libsodium-dev libkeyutils-dev libcurl4-openssl-dev libssl-dev check curl jq \
	openssl procps python3 bubblewrap keyutils git openssh-client gdb mandoc \
	socat ripgrep podman runc libacl1-dev openssh-server

ifeq ($(V),1)
Q :=
say = @:
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
endif

# The leaf modules, one job each, on no other module of writ's: both sides
# and the plugins use them (the agent side only id, for libc alone).
LIB_SRC := broker/lib/errors.c broker/lib/sjson.c broker/lib/secret.c broker/lib/duration.c \
	broker/lib/fsutil.c broker/lib/id.c broker/lib/jdump.c broker/lib/clock.c \
	broker/lib/keypage.c broker/lib/heap.c broker/lib/procpeer.c
# Every kind's scope grammar: pure, all that the policy engine, writctl
# and the fuzzers link of a kind.
GRAMMAR_SRC := plugins/grammar.c plugins/jwt/scope.c plugins/github/scope.c \
	plugins/sshcert/scope.c plugins/sshcert/wire.c
# The kinds' minting (keys, signing, libcurl) and the secret store: writd's
# only (`make linkcheck` holds writctl to that).
KIND_SRC := plugins/kinds.c plugins/jwt/jwt.c plugins/github/github.c plugins/sshcert/sshcert.c \
	plugins/sshcert/krl.c
STORE_SRC := broker/store/store.c broker/store/keyring.c broker/store/sealed.c
# The policy engine and what it needs.
POLICY_SRC := policy/policy.c $(GRAMMAR_SRC) broker/lib/duration.c broker/lib/sjson.c \
	broker/lib/errors.c

# The request table, both ends of it.
PROTO_SRC := broker/minter/proto.c broker/minter/orderwire.c
# writd, the front end: HTTP, JSON, sessions, policy, approvals; the key
# side only through the channel (link.c).  No store, no kind's minting,
# no log's writing (`make linkcheck` holds it to that).
WRITD_SRC := broker/writd.c broker/core.c broker/server.c broker/api.c broker/route.c broker/session.c \
	broker/approval.c broker/issue.c broker/reaper.c broker/restore.c broker/writs.c broker/peer.c \
	broker/config.c broker/approver.c broker/show.c broker/oidc.c broker/refusals.c broker/link.c \
	broker/confine.c broker/frontconfine.c broker/lib/harden.c $(PROTO_SRC) $(LIB_SRC) $(POLICY_SRC)
# writd-minter, the key side: the store, the kinds' keys and minting, the
# audit journal and the ledger, behind the request table (serve.c).
MINTER_SRC := broker/minter/writd-minter.c broker/minter/serve.c broker/minter/mint.c \
	broker/minter/order.c broker/minter/minter.c broker/minter/custody.c broker/core.c \
	broker/config.c broker/minter/upstream.c broker/minter/audit.c broker/minter/auditfmt.c broker/minter/journal.c \
	broker/minter/ledger.c broker/minter/logtail.c broker/oidc.c broker/lib/harden.c $(PROTO_SRC) $(LIB_SRC) \
	$(STORE_SRC) $(POLICY_SRC) $(KIND_SRC)
LIBWRIT_SRC := agent-side/libwrit.c
WRIT_SRC := agent-side/writ.c broker/lib/id.c $(LIBWRIT_SRC)
HELPER_SRC := agent-side/git-credential-writ.c agent-side/gitcred.c $(LIBWRIT_SRC)
# writctl checks policy files itself, so it links the engine and the kinds'
# grammars; never their minting, the store or libcurl.
WRITCTL_SRC := $(wildcard broker/writctl/*.c) broker/show.c broker/lib/fsutil.c broker/lib/id.c \
	$(LIBWRIT_SRC) $(POLICY_SRC)
# The host side of a sandbox: libc, jansson and the runtime-dir walk only.
SANDBOX_SRC := broker/writ-sandbox.c broker/sandbox-spool.c broker/relay.c broker/launch.c broker/lib/fsutil.c broker/lib/errors.c broker/lib/id.c $(LIBWRIT_SRC)
# Pure modules the unit tests link.
UNIT_MOD := broker/config.c broker/confine.c $(LIB_SRC) $(POLICY_SRC) $(KIND_SRC) \
	broker/minter/audit.c broker/minter/auditfmt.c broker/minter/journal.c $(STORE_SRC) \
	broker/show.c broker/oidc.c broker/refusals.c broker/minter/logtail.c broker/route.c \
	broker/minter/proto.c broker/minter/orderwire.c agent-side/libwrit.c agent-side/gitcred.c \
	broker/minter/order.c
UNIT_SRC := $(wildcard tests/unit/*.c)

# Built for the tests only, never installed: confine_probe confines itself
# as the front end would (broker/confine.h) and tries what it must not do
# (tests/integration/t_confine.sh); minterdrive starts writd-minter as
# writd does and plays a compromised front end on the channel, from a
# script (tests/integration/t_channel.sh): the request table's decoder
# and the leaf modules it needs, nothing of either side.
PROBE_SRC := tests/confine/confine_probe.c tests/confine/frontprobe.c broker/confine.c
DRIVE_SRC := tests/tools/minterdrive.c broker/minter/proto.c broker/lib/id.c broker/lib/errors.c
# writd-frontprobe is writd with a hook (-DWRIT_TEST_FRONTPROBE: a process
# of the confined front end's own tries what it must not do); frontprobe
# tries the same unconfined (tests/integration/t_frontconfine.sh).
FRONTPROBE_OBJ = $(B)/tests/confine/writd-frontprobe.o $(B)/tests/confine/frontprobe.o \
	$(call obj,$(filter-out broker/writd.c,$(WRITD_SRC)))
TEST_BINS := $(B)/confine_probe $(B)/minterdrive $(B)/syncfault.so $(B)/writd-frontprobe \
	$(B)/frontprobe

# NB. a source in two lists (LIB_SRC and POLICY_SRC share three) is linked
# once: $^ names each prerequisite once.
obj = $(patsubst %.c,$(B)/%.o,$(1))
BINS := $(B)/writd $(B)/writd-minter $(B)/writctl $(B)/writ $(B)/git-credential-writ $(B)/writ-sandbox

.PHONY: all check unit integration run asan fuzz fuzzers fuzz-clang bench install manlint linkcheck clean deps help
all: $(BINS)

help:
	@echo 'targets: all check run asan fuzz fuzzers linkcheck bench install clean deps  (V=1 WERROR=0 JOBS= PREFIX= DESTDIR=)'

$(B)/%.o: %.c
	$(call say,CC,$<)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(call pc,libmicrohttpd jansson libsodium check libcurl) -c $< -o $@

# SAN=1: every program links the built-in sanitizer options ($^ below).
$(BINS) $(B)/check_unit $(B)/confine_probe $(B)/minterdrive $(B)/writd-frontprobe \
	$(B)/frontprobe: $(SAN_OBJ)

$(B)/writd: $(call obj,$(WRITD_SRC))
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ -o $@ $(WRITD_LIBS)

$(B)/writd-minter: $(call obj,$(MINTER_SRC))
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ -o $@ $(MINTER_LIBS)

$(B)/writ: $(call obj,$(WRIT_SRC))
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ -o $@ $(AGENT_LIBS)

$(B)/git-credential-writ: $(call obj,$(HELPER_SRC))
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ -o $@ $(AGENT_LIBS)

$(B)/writctl: $(call obj,$(WRITCTL_SRC))
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ -o $@ $(WRITCTL_LIBS)

$(B)/writ-sandbox: $(call obj,$(SANDBOX_SRC))
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ -o $@ $(AGENT_LIBS)

$(B)/confine_probe: $(call obj,$(PROBE_SRC))
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ -o $@ -lpthread

$(B)/minterdrive: $(call obj,$(DRIVE_SRC))
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ -o $@ $(AGENT_LIBS)

$(B)/tests/confine/writd-frontprobe.o: broker/writd.c
	$(call say,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -DWRIT_TEST_FRONTPROBE $(call pc,libmicrohttpd jansson libsodium libcurl) \
		-c $< -o $@

$(B)/writd-frontprobe: $(FRONTPROBE_OBJ)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ -o $@ $(WRITD_LIBS)

$(B)/frontprobe: $(call obj,tests/confine/frontprobe_main.c tests/confine/frontprobe.c)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ -o $@

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

integration: $(BINS) $(TEST_BINS)
	WRIT_BIN=$(abspath $(B)) tests/integration/run.sh

check: deps
	$(MAKE) --no-print-directory -j$(JOBS) all $(B)/check_unit $(B)/syncfault.so
	$(MAKE) --no-print-directory -j1 manlint linkcheck unit integration

asan: deps
	$(MAKE) --no-print-directory -j$(JOBS) B=build-asan SAN=1 CFLAGS='-O1 -g' all build-asan/check_unit \
		build-asan/syncfault.so
	@rm -rf build-asan/san && mkdir -m 1777 build-asan/san
	@# Where reports go is built in (sanopts.c), not passed in the environment,
	@# which env -i and the approver command's clean environment drop.
	$(MAKE) --no-print-directory -j1 B=build-asan SAN=1 CFLAGS='-O1 -g' unit integration
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
	$(Q)$(CC) $(WARN) $(HARDEN) $(CFLAGS) -Ibroker $(INC) $(call pc,libmicrohttpd jansson libsodium) \
		$(LDHARDEN) $(LDFLAGS) $< -o $@ $(call pc,libmicrohttpd libsodium)

bench: deps all $(B)/load $(B)/ref
	WRIT_BIN=$(abspath $(B)) tests/bench/run.sh

# One libFuzzer harness per parser; each runs FUZZ_SECONDS from its corpus
# (`make fuzzers` only builds them).  Each links its parser and the leaf
# modules it needs: never a kind's minting or the store (fuzz_oidc links
# libcurl: oidc.c fetches JWKS itself).
#
# Every source is compiled once, with coverage and the sanitizers, into
# $(FZ) (the same path with .o), and each harness links its own object and
# the objects of its own list only.  A new harness NAME is
# tests/fuzz/fuzz_NAME.c, NAME in FUZZERS, FUZZ_MOD_NAME (its sources),
# FUZZ_LIBS_NAME (pkg-config names) and FUZZ_LD_NAME (other -l, if any).
FZ := build-fuzz
FUZZ_SECONDS ?= 30
FUZZERS := policy request audit auditstate oidc jdump sshcert route response credential ledger config \
	proto
FUZZ_MOD_policy := $(POLICY_SRC)
FUZZ_MOD_request := $(GRAMMAR_SRC) broker/lib/sjson.c broker/lib/errors.c
FUZZ_MOD_audit := broker/minter/auditfmt.c broker/lib/sjson.c broker/lib/errors.c
FUZZ_MOD_auditstate := $(FUZZ_MOD_audit)
FUZZ_MOD_oidc := broker/lib/sjson.c broker/lib/errors.c broker/lib/clock.c
FUZZ_MOD_jdump := broker/lib/jdump.c
# The grammar, and the certificate and CA key parsers of its minting file.
FUZZ_MOD_sshcert := $(GRAMMAR_SRC) plugins/sshcert/sshcert.c plugins/sshcert/krl.c $(LIB_SRC)
# The API router, the agent side's answer reader, git's credential lines.
FUZZ_MOD_route := broker/route.c $(LIB_SRC)
FUZZ_MOD_response := agent-side/libwrit.c broker/lib/id.c
FUZZ_MOD_credential := agent-side/gitcred.c agent-side/libwrit.c broker/lib/id.c
# The minter's request table: libc and two leaf modules, nothing else.
FUZZ_MOD_proto := broker/minter/proto.c broker/lib/id.c broker/lib/errors.c
# The ledger reader includes ledger.c whole; the config loader is config.c.
FUZZ_MOD_ledger := $(LIB_SRC) $(STORE_SRC) $(KIND_SRC) $(GRAMMAR_SRC) broker/minter/audit.c \
	broker/minter/auditfmt.c broker/minter/journal.c broker/minter/logtail.c
FUZZ_MOD_config := broker/config.c broker/oidc.c $(LIB_SRC) $(GRAMMAR_SRC) $(KIND_SRC) \
	$(STORE_SRC) broker/minter/audit.c broker/minter/auditfmt.c broker/minter/journal.c broker/minter/logtail.c
FUZZ_LIBS_route := jansson libsodium
FUZZ_LIBS_response := jansson
FUZZ_LIBS_credential := jansson
FUZZ_LIBS_ledger := jansson libsodium libcurl libcrypto
FUZZ_LIBS_config := jansson libsodium libcurl libcrypto
FUZZ_LD_ledger := -lkeyutils
FUZZ_LD_config := -lkeyutils
FUZZ_LIBS_policy := jansson libsodium
FUZZ_LIBS_request := jansson libsodium
FUZZ_LIBS_audit := jansson libsodium
FUZZ_LIBS_auditstate := jansson libsodium
FUZZ_LIBS_oidc := jansson libsodium libcurl libcrypto
FUZZ_LIBS_jdump := jansson
FUZZ_LIBS_sshcert := jansson libsodium
# Headers are tracked per object (-MMD).  pkg-config's --cflags of every
# library a harness may link: one object serves every harness.
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -DWRIT_VERSION='"fuzz"' $(INC) \
	$(shell $(PKG_CONFIG) --cflags jansson libsodium libcurl libcrypto 2>/dev/null)
FUZZ_SAN := -fsanitize=address,undefined

$(FZ)/%.o: %.c
	$(call say,FUZZCC,$<)
	@mkdir -p $(dir $@)
	$(Q)clang $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

# NB. $^ names each object once, however many lists bring it in.  The
# lists are read at the second expansion, once the whole Makefile is: a
# harness's variables may come after this rule.  fuzz-run-NAME runs one
# harness and says its result in one line.
.SECONDEXPANSION:
define fuzz_rule
$(FZ)/fuzz_$(1): $(FZ)/tests/fuzz/fuzz_$(1).o $$$$(patsubst %.c,$(FZ)/%.o,$$$$(FUZZ_MOD_$(1)))
	$$(call say,FUZZLD,$$@)
	$$(Q)clang $(FUZZ_SAN) -fsanitize=fuzzer $$^ -o $$@ \
		$$(call pc,$$(FUZZ_LIBS_$(1))) $$(FUZZ_LD_$(1))

.PHONY: fuzz-run-$(1)
fuzz-run-$(1):
	@mkdir -p $(FZ)/corpus-$(1)
	@$(FZ)/fuzz_$(1) -max_total_time=$$(FUZZ_SECONDS) -max_len=4096 \
	    $(FZ)/corpus-$(1) tests/fuzz/corpus/$(1) 2>$(FZ)/$(1).log || \
	    { echo "  FUZZ   $(1) ($$(FUZZ_SECONDS)s) failed:"; tail -40 $(FZ)/$(1).log; exit 1; }
	@printf '  FUZZ   %-11s (%ss) %s\n' $(1) $$(FUZZ_SECONDS) \
	    "$$$$(grep -E '^Done|^#[0-9]+ *DONE' $(FZ)/$(1).log | tail -1)"
endef
$(foreach f,$(FUZZERS),$(eval $(call fuzz_rule,$(f))))

fuzz-clang:
	@command -v clang >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q clang; } || \
	  { echo "make fuzz needs clang: sudo apt-get install -y clang"; exit 1; }

fuzzers: fuzz-clang
	$(MAKE) --no-print-directory -j$(JOBS) $(addprefix $(FZ)/fuzz_,$(FUZZERS))

# The harnesses run FUZZ_JOBS at once, a core each (libFuzzer is
# single-threaded): each still has a core of its own for its FUZZ_SECONDS
# on a machine doing nothing else; FUZZ_JOBS=1 runs them one by one.
FUZZ_JOBS ?= $(JOBS)
fuzz: fuzzers
	$(MAKE) --no-print-directory -j$(FUZZ_JOBS) $(addprefix fuzz-run-,$(FUZZERS))



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
	install -m 0755 $(filter-out $(B)/writd-minter,$(BINS)) $(DESTDIR)$(BINDIR)/
	install -m 0755 $(B)/writd-minter $(DESTDIR)$(LIBEXECDIR)/writ/
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

# The grammar split (plugins/grammar.h): writctl, the policy engine and
# the fuzzers link the kinds' grammars, never their minting, the secret
# store or libcurl.  Checked on writctl's binary (its libraries and its
# symbols) and on the harnesses' source lists, so that a stray include or
# source line cannot bring them back unnoticed.
NO_MINT_SYMS := writ_kinds|kinds_init|kind_jwt|kind_github|store_[a-z_]+|curl_[a-z_]+
# The front end (issue 16): its files reach the key side -- the store,
# the kinds' minting, the ledger, the upstream workers, the journal, the
# minter's insides -- only through broker/minter/minter.h (link.c, the
# channel's end, aside), and its binary holds none of that code, nor
# libkeyutils.
FRONT_MODS := api route issue session approval approver writs restore reaper server peer \
	show refusals oidc confine frontconfine writd
NO_KEY_SYMS := $(NO_MINT_SYMS)|kinds_[a-z_]+|custody_[a-z_]+|ledger_[a-z_]+|journal_[a-z_]+|\
	upstream_[a-z_]+|audit_(open|append|verify|rotate|tail|fingerprint|close)|order_check|mint_drain|\
	serve_[a-z_]+
FRONT_FILES := $(wildcard $(foreach m,$(FRONT_MODS),broker/$(m).c broker/$(m).h))
KEY_SIDE_H := store\.h|plugins/kind\.h|(minter/)?(audit|auditfmt|ledger|upstream|journal|logtail)\.h|minter/(custody|order|mint|orderwire|serve)\.h

linkcheck: $(B)/writctl $(B)/writd
	@bad='$(filter $(KIND_SRC) $(STORE_SRC),$(WRITCTL_SRC) $(FUZZ_MOD_policy) $(FUZZ_MOD_request))'; \
	  [ -z "$$bad" ] || { echo "linkcheck: writctl or a fuzzer lists $$bad"; exit 1; }
	@bad=$$(ldd $(B)/writctl | awk '{print $$1}' | grep -E 'lib(curl|crypto|ssl|keyutils)'); \
	  [ -z "$$bad" ] || { echo "linkcheck: writctl links" $$bad; exit 1; }
	@bad=$$(nm $(B)/writctl | grep -oE ' [TDRB] ($(NO_MINT_SYMS))$$'); \
	  [ -z "$$bad" ] || { echo "linkcheck: writctl holds" $$bad; exit 1; }
	@echo "  LINKCHECK writctl: no kind's minting, no store, no libcurl"
	@bad=$$(grep -HE '^#include "([^"]*/)?($(KEY_SIDE_H))"' $(FRONT_FILES)); \
	  [ -z "$$bad" ] || { echo "linkcheck: the front end reaches the key side:"; \
	  echo "$$bad"; exit 1; }
	@echo "  LINKCHECK the front end: the key side through minter/minter.h alone"
	@bad=$$(nm $(B)/writd | grep -oE ' [TDRB] ($(NO_KEY_SYMS))$$'); \
	  [ -z "$$bad" ] || { echo "linkcheck: writd (the front end) holds" $$bad; exit 1; }
	@bad=$$(readelf -d $(B)/writd | grep -E 'NEEDED.*lib(keyutils)'); \
	  [ -z "$$bad" ] || { echo "linkcheck: writd (the front end) links" $$bad; exit 1; }
	@echo "  LINKCHECK writd: no store, no kind's minting, no log's writing, no keyring"

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(B) $(FZ) -name '*.d' 2>/dev/null)
