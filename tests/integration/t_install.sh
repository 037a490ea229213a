#!/usr/bin/env bash
# make install: every file lands where it should with its mode; the units
# and man pages name the installed paths (no @PLACEHOLDER@ left, and each
# path they name exists); the units pass `systemd-analyze verify`; each man
# page is lint clean and renders with mandoc and with man(1).
#
# Installs what the suite already built ($WRIT_BIN): `make -o all` takes
# the binaries as they are and builds nothing, in that directory or any.
. "$(dirname "$0")/lib.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
MANS="man1/writ.1 man1/writctl.1 man1/git-credential-writ.1 man1/writ-sandbox.1
man5/writ-policy.5 man5/writd-config.5 man8/writd.8"

# inst DESTDIR PREFIX [make variables...]: make install, output in $T/install.log.
inst() {
	local d=$1 p=$2; shift 2
	# NB. not the outer make's flags or variables (make check B=...).
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$REPO" --no-print-directory \
		-o all B="$BIN" DESTDIR="$d" PREFIX="$p" "$@" install >"$T/install.log" 2>&1
}

# --- DESTDIR=$T/root PREFIX=/usr, as a package build does --------------------

R=$T/root
if ! inst "$R" /usr; then
	fail "make install DESTDIR=... PREFIX=/usr: $(tail -3 "$T/install.log")"
	exit 0
fi
pass "make install DESTDIR=... PREFIX=/usr"

# Every file, its mode; nothing else.
{
	for b in writd writctl writ git-credential-writ writ-sandbox; do
		echo "755 /usr/bin/$b"
	done
	echo "755 /usr/libexec/writ/approve-tty"
	echo "755 /usr/libexec/writ/writd-minter"
	echo "755 /usr/libexec/writ/approve-zenity"
	for e in ci developer enterprise-strict; do
		echo "644 /usr/share/writ/examples/$e.json"
	done
	echo "644 /usr/lib/systemd/system/writd.service"
	echo "644 /usr/lib/systemd/user/writd.service"
	for m in $MANS; do
		echo "644 /usr/share/man/$m"
	done
} | sort -k2 >"$T/want"
(cd "$R" && find . -type f -printf '%m /%P\n') | sort -k2 >"$T/got"
if diff -u "$T/want" "$T/got" >"$T/diff"; then
	pass "every file installed, with its mode, and nothing else ($(wc -l <"$T/want") files)"
else
	fail "installed files differ from the list (- wanted, + got): $(grep '^[-+][0-9]' "$T/diff" | tr '\n' ' ')"
fi

# Installed binaries are the build's, not something rebuilt.
for b in writd writctl writ git-credential-writ writ-sandbox; do
	check "$b installed is the build's" cmp -s "$BIN/$b" "$R/usr/bin/$b"
done
check "writd-minter installed is the build's, in libexec" \
	cmp -s "$BIN/writd-minter" "$R/usr/libexec/writ/writd-minter"
# The installed writd finds its installed minter (../libexec/writ from
# itself), not the build's (break: minter_path's second place, in link.c).
if BIN=$R/usr/bin start_writd; then
	pass "the installed writd starts its installed minter"
	check "  ... which is the installed file" \
		test "$(readlink "/proc/$(pgrep -P "$WRITD_PID" -x writd-minter)/exe")" = "$R/usr/libexec/writ/writd-minter"
	stop_writd
else
	fail "the installed writd did not start: $(tail -2 "$T/writd.log")"
fi
check "approvers installed as in deploy/approvers" \
	cmp -s "$REPO/deploy/approvers/approve-tty" "$R/usr/libexec/writ/approve-tty"

# No placeholder left, in units and man pages alike.
left=$(grep -rnoE '@[A-Z_]+@' "$R/usr/lib/systemd" "$R/usr/share/man" 2>/dev/null)
eq "no @PLACEHOLDER@ left in units or man pages" "" "$left"

# What the units start is what was installed.
for u in system user; do
	exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$R/usr/lib/systemd/$u/writd.service")
	eq "$u unit starts /usr/bin/writd" /usr/bin/writd "$exe"
	check "$u unit's ExecStart is installed ($exe)" test -x "$R$exe"
done

# Paths the man pages name under the prefix exist in the installed tree.
# NB. roff writes a hyphen in a path as \-.
named=$(cat "$R"/usr/share/man/man*/* | sed 's/\\-/-/g' |
	grep -oE '/usr/(libexec/writ|share/writ/examples|lib/systemd/[a-z]+)/[A-Za-z0-9._-]*' | sort -u)
check "man pages name the installed approvers, minter, examples and units" \
	test -n "$(grep approve-tty <<<"$named")" -a -n "$(grep examples/ci.json <<<"$named")" \
	-a -n "$(grep system/writd.service <<<"$named")" -a -n "$(grep writ/writd-minter <<<"$named")"
missing=
for p in $named; do
	[ -e "$R$p" ] || missing="$missing $p"
done
eq "every installed path a man page names exists" "" "$missing"

# --- man pages: lint, and render ------------------------------------------

if ! command -v mandoc >/dev/null; then
	skip "mandoc is not installed (make deps installs it)"
else
	for m in $MANS; do
		f=$R/usr/share/man/$m
		out=$(mandoc -T lint -W warning "$f" 2>&1)
		rc=$?
		eq "mandoc -T lint -W warning $m is clean" "0:" "$rc:$out"
		name=$(basename "$m" | sed 's/\.\([1-8]\)$/(\1)/' | tr a-z A-Z)
		check "mandoc renders $m (header $name)" \
			sh -c 'mandoc -T ascii "$1" | head -1 | grep -qF "$2"' _ "$f" "$name"
	done
fi
if ! command -v man >/dev/null; then
	skip "man(1) is not installed"
else
	for m in $MANS; do
		f=$R/usr/share/man/$m
		# --warnings: groff's own warnings on stderr; none may come.
		out=$(MANWIDTH=80 man --warnings -l "$f" 2>"$T/man.err" | col -b)
		check "man -l renders $m (NAME to SEE ALSO)" \
			sh -c 'printf "%s\n" "$1" | grep -q "^NAME" &&
				printf "%s\n" "$1" | grep -q "^SEE ALSO"' _ "$out"
		eq "man --warnings -l $m: no warning" "" "$(cat "$T/man.err")"
	done
	check "man finds writd(8) in the installed tree" \
		sh -c 'MANPATH="$1" man -w 8 writd | grep -q "^$1/man8/writd.8"' _ "$R/usr/share/man"
fi

# --- systemd-analyze verify --------------------------------------------------
# verify wants ExecStart's binary and the Documentation= pages to exist, on
# the host: so a second install, with a PREFIX inside $T (no DESTDIR), whose
# units differ from the ones above by that prefix alone (checked), and
# MANPATH pointing at its man pages.

P=$T/pfx/usr
if ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze is not installed"
	exit 0
fi
# Can verify run here at all?  A unit that is surely right.
mkdir -p "$T/probe"
printf '[Unit]\nDescription=probe\n[Service]\nExecStart=/bin/true\n' >"$T/probe/probe.service"
if ! (cd "$T/probe" && systemd-analyze verify --man=no ./probe.service) >"$T/probe.log" 2>&1; then
	skip "systemd-analyze verify cannot run here: $(head -1 "$T/probe.log")"
	exit 0
fi
if ! inst "" "$P"; then
	fail "make install PREFIX=$P: $(tail -3 "$T/install.log")"
	exit 0
fi
for u in system user; do
	eq "$u unit under PREFIX=$P is the /usr one but for the prefix" \
		"$(cat "$R/usr/lib/systemd/$u/writd.service")" \
		"$(sed "s|$P|/usr|g" "$P/lib/systemd/$u/writd.service")"
done
mkdir -m 0700 -p "$T/xdg"
# NB. from an empty directory: verify also loads units beside the file.
# NB. verify exits 0 on a bad value or an unknown key ("ignoring"): any
# word from it fails the check.
if (cd "$T/probe" && MANPATH=$P/share/man systemd-analyze verify \
	"$P/lib/systemd/system/writd.service") >"$T/verify.log" 2>&1 && [ ! -s "$T/verify.log" ]; then
	pass "systemd-analyze verify: the system unit"
else
	fail "systemd-analyze verify: the system unit: $(tr '\n' ' ' <"$T/verify.log")"
fi
if (cd "$T/probe" && XDG_RUNTIME_DIR=$T/xdg MANPATH=$P/share/man systemd-analyze --user \
	verify "$P/lib/systemd/user/writd.service") >"$T/verify.log" 2>&1 && [ ! -s "$T/verify.log" ]; then
	pass "systemd-analyze --user verify: the user unit"
else
	fail "systemd-analyze --user verify: the user unit: $(tr '\n' ' ' <"$T/verify.log")"
fi
