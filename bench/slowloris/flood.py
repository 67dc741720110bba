#!/usr/bin/env python3
"""Slow-client flood for the slowloris benchmark: IDLE connections from one address that send
nothing, and SLOW connections from another that send a request's first line, then one header
line a second and never finish. A connection the server closes is opened again a second later (an attacker
keeps its pressure), so the flood lasts until the script gets SIGTERM; it then prints one JSON
line with how many connections it opened and how many the server closed.
    flood.py PORT IDLE SLOW [IDLE_FROM [SLOW_FROM]]"""
import json, selectors, signal, socket, sys, time

port, idle_n, slow_n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
idle_from = sys.argv[4] if len(sys.argv) > 4 else "127.0.0.2"
slow_from = sys.argv[5] if len(sys.argv) > 5 else "127.0.0.3"
sel = selectors.DefaultSelector()
stats = {"opened": 0, "closed_by_server": 0, "refused": 0, "answers": {}}
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)


def connect(kind):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((idle_from if kind == "idle" else slow_from, 0))
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        stats["refused"] += 1
        s.close()
        return None
    s.setblocking(False)
    stats["opened"] += 1
    if kind == "slow":
        s.send(b"POST /c/counter/api/v1/ratings HTTP/1.1\r\nHost: x\r\n")
    sel.register(s, selectors.EVENT_READ, kind)
    return s


slow = [c for c in (connect("slow") for _ in range(slow_n)) if c]
for _ in range(idle_n):
    connect("idle")
line, next_drip, reopen = 0, time.monotonic() + 1, []
while running:
    for key, _ in sel.select(timeout=0.2):
        s, kind = key.fileobj, key.data
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if data:  # an answer (503, 408...): note its status, then the server closes
            status = data[9:12].decode(errors="replace")
            stats["answers"][status] = stats["answers"].get(status, 0) + 1
            continue
        sel.unregister(s)
        s.close()
        if kind == "slow":
            slow.remove(s)
        stats["closed_by_server"] += 1
        reopen.append((time.monotonic() + 1, kind))  # a second later, not in a tight loop
    now = time.monotonic()
    while reopen and reopen[0][0] <= now:
        again = connect(reopen.pop(0)[1])
        if again is not None and sel.get_key(again).data == "slow":
            slow.append(again)
    if time.monotonic() >= next_drip:
        line += 1
        for s in slow:
            try:
                s.send(b"X-Slow-%d: a\r\n" % line)
            except OSError:
                pass
        next_drip += 1
print(json.dumps(stats))
