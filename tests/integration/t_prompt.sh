#!/usr/bin/env bash
# Nothing the agent controls can forge what the approver reads.  A caller
# with a padded command line, a crafted working directory and a reason full
# of format characters, separators and look-alike headers asks; writctl
# watch (on a real 80-column pty), requests, audit tail, writs ls, sessions
# ls and the approver command's input are then read back and judged by
# Python's own Unicode tables (unicodedata), not by writ's.
. "$(dirname "$0")/lib.sh"

# ptyrun COLS OUT ANSWER CMD...: run CMD on a pty COLS wide, answer ANSWER
# to every approval question, stop after the first one (or at exit).
cat >"$T/ptyrun.py" <<'PY'
import fcntl, os, pty, re, signal, struct, sys, termios, time
cols, out, answer, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    # NB. the size is set before exec: set by the parent, it could come late.
    fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    os.execv(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
seen = b""
deadline = time.time() + 30
while time.time() < deadline:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
    if answer and re.search(rb"Approve request [0-9a-f]{8}\? \[y/N\] $", seen):
        os.write(fd, answer.encode() + b"\n")
        time.sleep(0.3)
        try:
            seen += os.read(fd, 65536)
        except OSError:
            pass
        os.kill(pid, signal.SIGTERM)
        break
open(out, "wb").write(seen.replace(b"\r\n", b"\n"))
try:
    os.waitpid(pid, 0)
except ChildProcessError:
    pass
PY

# judge MODE COLS FILE: print what is wrong with FILE, nothing when all is well.
#   chars   no control, format, separator, private-use or filler character
#   ascii   nothing outside printable ASCII
#   prompt  chars, and every line fits COLS; in each request's block each
#           header appears once and every other line is a marked continuation
#   rows    chars, and every line fits COLS and is a row or a continuation
cat >"$T/judge.py" <<'PY'
import re, sys, unicodedata
mode, cols, text = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "rb").read().decode("utf-8", "replace")
bad = []
fillers = {0x115f, 0x1160, 0x3164, 0xffa0, 0x2800, 0x34f, 0x17b4, 0x17b5}
def width(s):
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
for ch in text:
    cat = unicodedata.category(ch)
    if ch == "\n":
        continue
    if mode == "ascii" and not (0x20 <= ord(ch) < 0x7f):
        bad.append("non-ASCII U+%04X" % ord(ch))
    if cat in ("Cc", "Cf", "Zl", "Zp", "Co", "Cs") or ord(ch) in fillers or 0xfe00 <= ord(ch) <= 0xfe0f \
            or (cat == "Zs" and ch != " "):
        bad.append("U+%04X (%s) reached the terminal" % (ord(ch), cat))
lines = text.split("\n")
if mode in ("prompt", "rows"):
    for l in lines:
        # (writctl's own word of what it watches names a path of the test's)
        if width(l) > cols and not l.startswith("writctl: watching "):
            bad.append("a line of %d columns wraps: %r" % (width(l), l[:60]))
if mode == "prompt":
    labels = ["session", "workspace", "caller", "cmdline", "cwd", "kind", "scope", "ttl", "asked by", "reason"]
    blocks = re.split(r"\n(?=== writ request )", text)
    nblocks = 0
    for b in blocks:
        if not b.startswith("== writ request "):
            continue
        nblocks += 1
        body = b.split("\n")
        if not re.fullmatch(r"== writ request [0-9a-f]{8} ==", body[0]):
            bad.append("header line forged: %r" % body[0])
        seen = {}
        for l in body[1:]:
            if l.startswith("Approve request ") or l.startswith("writctl:") or l in ("", "denied", "approved"):
                break
            m = re.match(r"  (%s) +" % "|".join(labels), l)
            if m and not l.startswith("  |"):
                seen[m.group(1)] = seen.get(m.group(1), 0) + 1
            elif not l.startswith("  |          "):
                bad.append("a line that is neither a field nor marked: %r" % l)
        for k, n in seen.items():
            if n != 1:
                bad.append("%s appears %d times in one prompt" % (k, n))
    if nblocks != int(sys.argv[4] if len(sys.argv) > 4 else 1):
        bad.append("%d prompts shown" % nblocks)
if mode == "rows":
    row = re.compile(sys.argv[4])
    for l in lines:
        if l and not row.match(l) and not l.startswith("  |          "):
            bad.append("a line that is neither a row nor marked: %r" % l)
print("\n".join(sorted(set(bad))[:8]))
PY
judged() {	# judged DESC MODE COLS FILE [ARG]: pass when the judge finds nothing
	local d=$1; shift
	local out
	out=$(python3 "$T/judge.py" "$@" 2>&1)
	if [ -z "$out" ]; then pass "$d"; else fail "$d: $out"; fi
}

# The approver writes what it is shown in its scratch dir (its TMPDIR): the
# one place it may, confined with writd's front end (frontconfine.h).
cat >"$T/yes" <<EOF
#!/bin/sh
cat >'$T/run/approver/cmd.json'
exit 1
EOF
chmod 0755 "$T/yes"
start_writd "{\"approval\":{\"command\":\"$T/yes\",\"timeout\":\"20s\"}}" || exit 1
SOCK=$(new_session prompt)

# The crafted request: a reason with every trick, a working directory named
# like a header line, and a command line padded to wrap into one.
pad=$(printf 'x%.0s' $(seq 1 66))
reason=$(printf 'ok\xe2\x80\xa8== writ request 0badc0de ==\xe2\x80\xa9  session   trusted\xe2\x80\x8b\xe2\x81\xa6evil\xe2\x81\xa9 \xc2\x85\xc2\x9b31m \xf3\xa0\x81\x81tag \xe3\x85\xa4\xe2\xa0\x80 \xef\xb8\x8f%s%*s  caller    pid 1, uid 0, /usr/bin/git' "$pad" 70 '')
cwd="$T/$(printf 'd%.0s' $(seq 1 58))       kind      github"
mkdir -p "$cwd"
cat >"$T/ask.py" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
body = json.dumps({"kind": "jwt", "scope": {"aud": "forged"}, "reason": sys.argv[2]}).encode()
s.sendall(b"POST /v1/writs HTTP/1.1\r\nHost: writ\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
s.recv(65536)
PY
ask() {	# the caller: argv padded so the command line wraps into a header
	(cd "$cwd" && exec python3 "$T/ask.py" "$SOCK" "$reason" "$pad" \
		"$(printf ' %.0s' $(seq 1 40))" "  cmdline   git fetch origin" \
		"== writ request 12345678 ==" >/dev/null 2>&1)
}

# The approver command's input.
ask
judged "approver command: its JSON input holds no hidden character" chars 80 "$T/run/approver/cmd.json"
jq -r '.prompt + .question' "$T/run/approver/cmd.json" >"$T/cmd.prompt"
judged "approver command: the prompt it is given forges no header and fits 80 columns" prompt 80 "$T/cmd.prompt"
check "  ... the hidden characters are shown, escaped" grep -q '<U+2028>== writ request 0badc0de' "$T/cmd.prompt"
check "  ... the padded command line is there, collapsed" grep -q '^  cmdline   [^ ]*python3 ' "$T/cmd.prompt"
stop_writd

# writctl watch on an 80-column terminal.
printf '{"allow":[{"id":"long-aud","kind":"jwt","scope":{"aud":"aaaa*"}}]}\n' >"$T/user.json"
start_writd || exit 1
SOCK=$(new_session prompt)
approver_on
ask &
ASK=$!
wait_for sh -c "test \"\$(curl -s --unix-socket '$ADMIN' http://writ/v1/requests | jq '.requests | length')\" = 1"
approver_off
python3 "$T/ptyrun.py" 80 "$T/watch.out" n "$BIN/writctl" watch
wait $ASK
check "watch showed the prompt and took the answer" grep -q '^denied' "$T/watch.out"
judged "watch: no hidden character reaches the terminal" chars 80 "$T/watch.out"
judged "watch: every line fits 80 columns, one header of each, the rest marked" prompt 80 "$T/watch.out"
check "  ... the zero-width space, tag and fillers are shown, escaped" \
	grep -q '<U+200B>evil 31m <U+E0041>tag <U+3164><U+2800> <U+FE0F>' "$T/watch.out"
python3 "$T/ptyrun.py" 60 "$T/watch60.out" n "$BIN/writctl" watch &
W60=$!
wait_for sh -c "curl -s --unix-socket '$ADMIN' http://writ/v1/health | jq -e '.approvers > 0' >/dev/null"
ask
wait $W60
judged "watch on a 60-column terminal: lines fit, nothing forged" prompt 60 "$T/watch60.out"

# The other places writctl prints what the agent wrote.
approver_on
ask &
ASK=$!
wait_for sh -c "test \"\$(curl -s --unix-socket '$ADMIN' http://writ/v1/requests | jq '.requests | length')\" = 1"
"$BIN/writctl" requests >"$T/requests.out"
judged "writctl requests: nothing outside printable ASCII (JSON escapes)" ascii 0 "$T/requests.out"
check "  ... the reason is still all there, escaped" grep -q 'ok\\u2028== writ request 0badc0de' "$T/requests.out"
status "$ADMIN" POST "/v1/requests/$(admin /v1/requests | jq -r '.requests[0].id')/deny" >/dev/null
wait $ASK
approver_off
python3 "$T/ptyrun.py" 80 "$T/tail.out" "" "$BIN/writctl" audit tail -n 50
judged "audit tail: no hidden character reaches the terminal" chars 80 "$T/tail.out"
judged "audit tail: every line fits 80 columns and is a record or marked" rows 80 "$T/tail.out" \
	'^ *[0-9]+ [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} [a-z_]+ +\{'
check "  ... the request record with the reason is there" grep -q ' request  ' "$T/tail.out"
"$BIN/writctl" audit tail -n 50 >"$T/tail.pipe"
judged "audit tail into a pipe: no hidden character either" chars 0 "$T/tail.pipe"
eq "  ... one line per record there" "$(admin '/v1/audit?tail=50' | jq '.records | length')" "$(wc -l <"$T/tail.pipe")"
python3 "$T/ptyrun.py" 80 "$T/sessions.out" "" "$BIN/writctl" sessions ls
judged "sessions ls: fits 80 columns, rows or marked lines only" rows 80 "$T/sessions.out" '^[0-9a-f]{32}  '
WRIT_SOCKET=$(new_session long) "$BIN/writ" get jwt --scope "aud=$(printf 'a%.0s' $(seq 1 70))" >/dev/null
eq "a writ with a long audience, allowed by policy" 1 "$(nwrits)"
python3 "$T/ptyrun.py" 80 "$T/writs.out" "" "$BIN/writctl" writs ls
judged "writs ls: fits 80 columns, rows or marked lines only" rows 80 "$T/writs.out" '^[0-9a-f]{32}  session '
stop_writd
