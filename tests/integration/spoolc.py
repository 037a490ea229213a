#!/usr/bin/env python3
"""spoolc.py DIR [--name NAME] [--regular] [--leave]: one raw exchange
through writ's spool (agent-side/spool.h), as a hostile client may make it.

The request's bytes come from stdin, as they are: a test can send what
libwrit never would.  Prints writd's answer (after the relay's ack) and
exits 0; 2 when no relay took the request within 5 s; 3 when the relay
took it and closed without an answer.
  --name NAME  the exchange's name (default: 32 random hex digits)
  --regular    make NAME.req a regular file, not a FIFO
  --leave      exit right after the ack, never reading the answer
"""
import os
import select
import sys
import time

args = sys.argv[1:]
d = args.pop(0)
name = os.urandom(16).hex()
regular = leave = False
while args:
    a = args.pop(0)
    if a == "--name":
        name = args.pop(0)
    elif a == "--regular":
        regular = True
    elif a == "--leave":
        leave = True
    else:
        sys.exit("spoolc.py: unknown option " + a)
req, res = os.path.join(d, name + ".req"), os.path.join(d, name + ".res")
data = sys.stdin.buffer.read()
os.mkfifo(res, 0o600)
r = os.open(res, os.O_RDONLY | os.O_NONBLOCK)
if regular:
    with open(req, "wb") as f:
        f.write(data)
    w = None
else:
    os.mkfifo(req, 0o600)
    w = os.open(req, os.O_RDWR | os.O_NONBLOCK)
    os.set_blocking(w, True)
    os.write(w, data)


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
if leave:
    sys.exit(0)
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
