#!/usr/bin/env python3
"""Resident memory of processes, from /proc/PID/status, summed over the PIDs given (and, with
--children, their child processes: nginx's workers).

    bench/memory/rss.py [--children] PID... -> {"rss_mb": .., "hwm_mb": .., "anon_mb": .., "processes": n}

rss_mb: VmRSS now; hwm_mb: VmHWM, each process's peak resident set since it started (summed: at
least the peak of the sum); anon_mb: RssAnon now (the heap and stacks, without mapped files)."""
import json, os, sys


def status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if value.strip().endswith("kB"):
                fields[key] = int(value.split()[0])
    return fields


def children(pid):
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
        except FileNotFoundError:
            pass
    return found


args = sys.argv[1:]
with_children = "--children" in args
pids = [int(a) for a in args if a != "--children"]
if with_children:
    pids += [c for p in list(pids) for c in children(p)]
total = {"VmRSS": 0, "VmHWM": 0, "RssAnon": 0}
for pid in pids:
    s = status(pid)
    for k in total:
        total[k] += s.get(k, 0)
print(json.dumps({"rss_mb": round(total["VmRSS"] / 1024, 1), "hwm_mb": round(total["VmHWM"] / 1024, 1),
                  "anon_mb": round(total["RssAnon"] / 1024, 1), "processes": len(pids)}))
