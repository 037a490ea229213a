#!/usr/bin/env python3
"""spoolc.py DIR [--name NAME] [--regular] [--hold] [--acked FILE]: one raw exchange
through writ's spool (agent-side/spool.h), as a hostile client may make it.

The request's bytes come from stdin, as they are: a test can send what
libwrit never would.  Prints writd's answer (after the relay's ack) and
exits 0; 2 when no relay took the request within 5 s; 3 when the relay
took it and closed without an answer.
  --name NAME  the exchange's name (default: 32 random hex digits)
  --regular    make NAME.req a regular file, not a FIFO
  --hold       after the ack, never read the answer (kill it to leave)
  --acked FILE make FILE once the relay has acknowledged
"""
import os
import select
import sys
import time

args = sys.argv[1:]
d = args.pop(0)
name = os.urandom(16).hex()
regular = hold = False
acked = None
while args:
    a = args.pop(0)
    if a == "--name":
        name = args.pop(0)
    elif a == "--regular":
        regular = True
    elif a == "--hold":
        hold = True
    elif a == "--acked":
        acked = args.pop(0)
    else:
        sys.exit("spoolc.py: unknown option " + a)
req, res = os.path.join(d, name + ".req"), os.path.join(d, name + ".res")
new = os.path.join(d, name + ".new")
data = sys.stdin.buffer.read()
os.mkfifo(res, 0o600)
r = os.open(res, os.O_RDONLY | os.O_NONBLOCK)
if regular:
    with open(new, "wb") as f:
        f.write(data)
    os.rename(new, req)
    w = None
else:
    os.mkfifo(new, 0o600)
    w = os.open(new, os.O_RDWR | os.O_NONBLOCK)
    # What fits the FIFO's buffer now; the rest once the relay reads, if it does.
    try:
        data = data[os.write(w, data):]
    except BlockingIOError:
        pass
    os.rename(new, req)
    while data and select.select([], [w], [], 5)[1]:
        try:
            data = data[os.write(w, data):]
        except BlockingIOError:
            pass


def wait(timeout):
    return select.select([r], [], [], timeout)[0]


if not wait(5):
    for p in (req, res):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
    sys.exit(2)
ack = os.read(r, 1)
if ack != b"W":
    sys.exit(3)
if acked:
    open(acked, "w").close()
if hold:
    while True:
        time.sleep(60)
out = b""
while True:
    if not wait(60):
        break
    b = os.read(r, 65536)
    if not b:
        break
    out += b
sys.stdout.buffer.write(out)
sys.exit(0 if out else 3)
