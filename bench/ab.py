#!/usr/bin/env python3
"""bench/ab.py - one program's kernel ns per event under several tracers, side by side.

    bench/ab.py [--runs N] [--secs S] 'PROG' TRACER...

PROG is a script for `TRACER -e`, with SPINPID standing for the pid of bench.py's spinner (a
program calling syscall(SYS_getpid) in a loop).  Each tracer runs N times (default 4),
interleaved (A, B, A, B, ...); printed per tracer: the median kernel ns per event of its busiest
program (kernel.bpf_stats_enabled), every run's figure, and the program's xlated instructions.
Compare two builds of sonde, or sonde and bpftrace:

    bench/ab.py 'uprobe:libc:syscall /pid == SPINPID/ { @[ustack] = count(); }' \\
        ./sonde /tmp/sonde.old /usr/bin/bpftrace
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--secs", type=float, default=1.5)
    ap.add_argument("prog")
    ap.add_argument("tracers", nargs="+")
    a = ap.parse_args()
    res = {t: [] for t in a.tracers}
    with bench.bpf_stats("bench/ab.py"):
        spin = bench.build_spinner()
        for _ in range(a.runs):
            for t in a.tracers:
                r = bench.per_event([t, "-e", a.prog], spin, a.secs)
                res[t].append((r["ns"], r["insns"]))
    for t in a.tracers:
        ns = [v[0] for v in res[t] if v[0]]
        insns = [v[1] for v in res[t] if v[1]]
        print("%-28s median %s ns  runs %s  instructions %s" %
              (t, "%.0f" % statistics.median(ns) if ns else "-", [round(v) for v in ns],
               insns[0] if insns else "-"))


if __name__ == "__main__":
    main()
