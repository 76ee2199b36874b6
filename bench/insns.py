#!/usr/bin/env python3
"""bench/insns.py - program size and kernel cost per event, sonde beside bpftrace, in one run.

    bench/insns.py [--sonde PATH] [--runs N] [--secs S]          (root)

For each small program below, both tools run it on a spinner calling getpid(2) through libc's
syscall() (a tracepoint and a uprobe target); the loaded program's size is the kernel's
translated length (bpftool's "xlated N B" / 8) and the cost per event comes from the kernel's
BPF statistics (kernel.bpf_stats_enabled, switched on for the run and restored): run_time_ns /
run_cnt of the busiest program.  Instruction counts do not vary between runs; the ns are medians
of interleaved runs (sonde, bpftrace, sonde, ...).  A benchmark, not a test: nothing fails.
"""
import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the spinner, per_event, median)

TP = "tracepoint:syscalls:sys_enter_getpid"
UP = "uprobe:libc:syscall"

# (figure, extra arguments, program); SPINPID is the spinner's pid.  The empty probes also count
# other processes' getpid() calls, which only adds events to the average.
CASES = [
    ("empty tracepoint", [], TP + " { }"),
    ("empty uprobe", [], UP + " { }"),
    ("`-p PID` filter, tracepoint", ["-p", "SPINPID"], TP + " { }"),
    ("predicate `/pid == P/`, tracepoint", [], TP + " /pid == SPINPID/ { }"),
    ("`@[comm] = count()`, tracepoint", ["-p", "SPINPID"], TP + " { @[comm] = count(); }"),
    ("`@x = hist(arg0)`, uprobe", ["-p", "SPINPID"], UP + " { @x = hist(arg0); }"),
    ("printf, tracepoint", ["-p", "SPINPID"], TP + ' { printf("%d %d\\n", pid, tid); }'),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sonde", default=os.path.join(bench.TOP, "sonde"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--secs", type=float, default=1.0)
    ap.add_argument("--md", help="also write the table as Markdown rows to this file")
    a = ap.parse_args()
    tools = [("sonde", os.path.abspath(a.sonde))]
    if shutil.which("bpftrace"):
        tools.append(("bpftrace", shutil.which("bpftrace")))
    rows = []
    with bench.bpf_stats("bench/insns.py"):
        spin = bench.build_spinner()
        hdr = "%-38s %12s %12s %10s %10s" % ("program", "sonde insns", "bpftrace", "sonde ns", "bpftrace")
        print(hdr)
        print("-" * len(hdr))
        for figure, extra, prog in CASES:
            res = {n: [] for n, _ in tools}
            for _ in range(a.runs):
                for n, path in tools:
                    res[n].append(bench.per_event([path] + extra + ["-e", prog], spin, a.secs))
            ins = {n: bench.median([r["insns"] for r in v]) for n, v in res.items()}
            ns = {n: bench.median([r["ns"] for r in v]) for n, v in res.items()}
            row = (figure, bench.fmt(ins["sonde"]), bench.fmt(ins.get("bpftrace")),
                   bench.fmt(ns["sonde"]), bench.fmt(ns.get("bpftrace")))
            rows.append(row)
            print("%-38s %12s %12s %10s %10s" % row)
            sys.stdout.flush()
    if a.md:
        with open(a.md, "w") as f:
            f.write("| program | sonde instructions | bpftrace 0.17 instructions | sonde ns/event "
                    "| bpftrace ns/event |\n|---|---|---|---|---|\n")
            for r in rows:
                f.write("| %s | %s | %s | %s | %s |\n" % r)


if __name__ == "__main__":
    main()
