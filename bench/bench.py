#!/usr/bin/env python3
"""bench/bench.py - the issue-13 figures for sonde and bpftrace side by side, in one run.

    bench/bench.py [--sonde PATH] [--runs N] [--md docs/PERFORMANCE.md]     (root)

Every row runs both tools, interleaved (sonde, bpftrace, sonde, ...), and reports medians and
the ratio sonde/bpftrace.  Kernel cost per event comes from the kernel's BPF statistics
(kernel.bpf_stats_enabled, switched on for the run and restored): run_time_ns / run_cnt of each
tool's programs, next to their instruction counts (xlated length / 8).  A row a tool cannot run
says why ("fails: ..."), never a made-up number.  Benchmarks, not tests: nothing here passes or
fails.  With --md the table is also written as Markdown with the date and the machine.
"""
import argparse
import contextlib
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
BUILD = tempfile.mkdtemp(prefix="sonde-bench-")

SPIN_C = r"""
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
/* call getpid(2) through libc's syscall() (a uprobe target) for argv[1] seconds */
int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 5;
	struct timespec a, b;
	unsigned long n = 0;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (;;) {
		syscall(SYS_getpid);
		if (++n % 4096 == 0) {
			clock_gettime(CLOCK_MONOTONIC, &b);
			if (b.tv_sec - a.tv_sec + (b.tv_nsec - a.tv_nsec) / 1e9 >= secs)
				break;
		}
	}
	return 0;
}
"""


def build_spinner():
    src = os.path.join(BUILD, "spin.c")
    exe = os.path.join(BUILD, "spin")
    with open(src, "w") as f:
        f.write(SPIN_C)
    subprocess.run(["cc", "-O2", "-o", exe, src], check=True)
    return exe


def wall_and_rss(argv):
    """Run to completion; (wall s, peak RSS MiB, rc, stderr)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return dt, ru.ru_maxrss / 1024.0, p.returncode, err.decode("utf-8", "replace")


def first_line_after(argv, needle, timeout=15):
    """Seconds from launch until a stdout line contains needle (None if it never does)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    got = None
    end = t0 + timeout
    while time.perf_counter() < end:
        line = p.stdout.readline()
        if not line:
            break
        if needle in line:
            got = time.perf_counter() - t0
            break
    p.send_signal(signal.SIGINT)
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return got


def fd_ids(pid, kind="prog"):
    ids = []
    try:
        fds = os.listdir("/proc/%d/fdinfo" % pid)
    except OSError:
        return ids
    for fd in fds:
        try:
            m = re.search(r"^%s_id:\s*(\d+)" % kind, open("/proc/%d/fdinfo/%s" % (pid, fd)).read(), re.M)
        except OSError:
            continue
        if m:
            ids.append(int(m.group(1)))
    return sorted(set(ids))


def prog_stats(ident):
    """(run_time_ns, run_cnt, instructions, name) of one loaded program, from bpftool."""
    r = subprocess.run(["bpftool", "prog", "show", "id", str(ident)], stdout=subprocess.PIPE)
    text = r.stdout.decode()
    rt = re.search(r"run_time_ns (\d+)", text)
    rc = re.search(r"run_cnt (\d+)", text)
    xl = re.search(r"xlated (\d+)B", text)
    nm = re.search(r"name (\S+)", text)
    return (int(rt.group(1)) if rt else 0, int(rc.group(1)) if rc else 0,
            int(xl.group(1)) // 8 if xl else 0, nm.group(1) if nm else "?")


def per_event(argv, spin, secs=2.0, count_lines=False):
    """Run a tracer on the spinner's events; kernel ns/event and instructions of its busiest
    program, lines printed, events seen by the program, lost, user+sys CPU of the tracer."""
    sp = subprocess.Popen([spin, str(secs + 30)])
    args = [a.replace("SPINPID", str(sp.pid)) for a in argv]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines = [0]
    lost_seen = [0, 0]	# events reported lost, "Lost" lines
    tail = bytearray()

    def reader():
        carry = b""
        while True:
            b = p.stdout.read1(1 << 20)
            if not b:
                break
            lines[0] += b.count(b"\n")
            tail.extend(b[-4096:])
            del tail[:-8192]
            chunk = carry + b
            cut = chunk.rfind(b"\n") + 1
            carry = chunk[cut:]
            for m in re.finditer(rb"^Lost (\d+) events$", chunk[:cut], re.M):
                lost_seen[0] += int(m.group(1))
                lost_seen[1] += 1
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    # wait for attach
    end = time.time() + 20
    while time.time() < end and p.poll() is None and lines[0] == 0:
        time.sleep(0.05)
    time.sleep(0.3)
    ids = fd_ids(p.pid)
    before = {i: prog_stats(i) for i in ids}
    time.sleep(secs)
    after = {i: prog_stats(i) for i in ids}
    p.send_signal(signal.SIGINT)
    _, status, ru = os.wait4(p.pid, 0)
    t.join(10)
    sp.kill()
    sp.wait()
    best = None
    for i in ids:
        d_ns = after[i][0] - before[i][0]
        d_cnt = after[i][1] - before[i][1]
        if d_cnt > 0 and (best is None or d_cnt > best[1]):
            best = (d_ns, d_cnt, after[i][2])
    text = tail.decode("utf-8", "replace")
    n = re.search(r"^@n: (\d+)$", text, re.M)
    lost = lost_seen[0]
    # bpftrace 0.17 on stderr: "Lost N events" as well
    return {
        "ns": best[0] / best[1] if best else None,
        "events": best[1] if best else 0,
        "insns": best[2] if best else None,
        "lines": lines[0] - lost_seen[1],
        "n": int(n.group(1)) if n else None,
        "lost": lost,
        "cpu": ru.ru_utime + ru.ru_stime,
        "secs": secs,
    }


STATS = "/proc/sys/kernel/bpf_stats_enabled"


@contextlib.contextmanager
def bpf_stats(tool):
    """Root or exit; kernel.bpf_stats_enabled on for the block, then restored, and the
    benchmark's build directory removed."""
    if os.geteuid() != 0:
        sys.exit("%s: needs root (BPF)" % tool)
    saved = open(STATS).read().strip()
    try:
        open(STATS, "w").write("1")
        yield
    finally:
        open(STATS, "w").write(saved)
        shutil.rmtree(BUILD, ignore_errors=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, unit="", prec=0):
    if v is None:
        return "-"
    return ("%%.%df%%s" % prec) % (v, unit)


def ratio(s, b):
    if s is None or b is None or not b:
        return "-"
    return "%.2fx" % (s / b)


class Bench:
    def __init__(self, sonde, bpftrace, runs):
        self.tools = [("sonde", sonde)] + ([("bpftrace", bpftrace)] if bpftrace else [])
        self.runs = runs
        self.rows = []
        self.spin = build_spinner()

    def add(self, figure, s, b, unit="", prec=0, note="", target=None):
        """target: ("ratio", r) for sonde/bpftrace <= r, ("max", v) / ("min", v) for sonde."""
        met = "-"
        if target and not isinstance(s, str) and s is not None:
            kind, v = target
            if kind == "ratio" and b and not isinstance(b, str):
                met = "%s (<= %.2fx)" % ("yes" if s / b <= v else "no", v)
            elif kind == "max":
                met = "%s (<= %s%s)" % ("yes" if s <= v else "no", v, unit)
            elif kind == "min":
                met = "%s (>= %s%s)" % ("yes" if s >= v else "no", v, unit)
        self.rows.append((figure, fmt(b, unit, prec) if not isinstance(b, str) else b,
                          fmt(s, unit, prec) if not isinstance(s, str) else s,
                          ratio(s, b) if not isinstance(s, str) and not isinstance(b, str) else "-",
                          met, note))
        print("%-48s bpftrace %-14s sonde %-14s %s target %s %s" % self.rows[-1])
        sys.stdout.flush()

    def interleave(self, fn):
        """fn(tool, path) -> value; runs alternate between the tools; medians per tool."""
        vals = {name: [] for name, _ in self.tools}
        for _ in range(self.runs):
            for name, path in self.tools:
                vals[name].append(fn(name, path))
        return vals

    def startup(self):
        prog = "BEGIN { exit(); }"
        res = self.interleave(lambda n, p: wall_and_rss([p, "-e", prog]))
        wall = {n: median([r[0] * 1000 for r in v if r[2] == 0]) for n, v in res.items()}
        rss = {n: median([r[1] for r in v if r[2] == 0]) for n, v in res.items()}
        self.add("`BEGIN { exit(); }` wall", wall["sonde"], wall.get("bpftrace"), " ms",
                 target=("ratio", 0.10))
        self.add("peak RSS, same", rss["sonde"], rss.get("bpftrace"), " MB", 1, target=("ratio", 0.20))

    def first_event(self):
        gen = subprocess.Popen([sys.executable, "-c",
                                "import os, time\nwhile True:\n os.getppid(); time.sleep(0.0005)"])
        prog = 'tracepoint:syscalls:sys_enter_getppid { printf("first\\n"); exit(); }'
        res = self.interleave(lambda n, p: first_line_after([p, "-e", prog], b"first"))
        gen.kill()
        gen.wait()
        self.add("launch to the first tracepoint event", median([x * 1000 if x else None for x in res["sonde"]]),
                 median([x * 1000 if x else None for x in res["bpftrace"]]) if "bpftrace" in res else None, " ms",
                 target=("ratio", 0.15))

    def envoy(self):
        """scripts/trace-envoy-socket.bt on the bundled e2e server (tests/e2e), connected to
        every millisecond: launch to the first record line ("##########")."""
        server = os.path.join(BUILD, "sonde-test-server")
        subprocess.run(["cc", "-O0", "-g", "-fno-omit-frame-pointer", "-o", server,
                        os.path.join(TOP, "tests/e2e/server.c")], check=True)
        s4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s4.bind(("127.0.0.1", 0))
        port = s4.getsockname()[1]
        s4.close()
        srv = subprocess.Popen([server, str(port), "100000000", "600"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
        stop = threading.Event()
        try:
            while not srv.stdout.readline().startswith(b"ready"):
                pass

            def connect():
                while not stop.is_set():
                    try:
                        with socket.create_connection(("127.0.0.1", port), 1) as c:
                            c.sendall(b"ping\n")
                            c.recv(64)
                    except OSError:
                        pass
                    time.sleep(0.001)
            t = threading.Thread(target=connect, daemon=True)
            t.start()
            script = os.path.join(TOP, "scripts/trace-envoy-socket.bt")

            def run(n, p):
                t0 = time.perf_counter()
                q = subprocess.Popen([p, script, str(srv.pid)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
                got = None
                for line in iter(q.stdout.readline, b""):
                    if b"##########" in line:
                        got = (time.perf_counter() - t0) * 1000
                        break
                    if time.perf_counter() - t0 > 15:
                        break
                q.send_signal(signal.SIGINT)
                try:
                    _, err = q.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    q.kill()
                    _, err = q.communicate()
                if got is None:
                    e = [l for l in err.decode("utf-8", "replace").strip().split("\n") if l.strip() and "RLIMIT_MEMLOCK" not in l]
                    return "fails: " + (e[0][:70] if e else "no record")
                return got
            res = self.interleave(run)
        finally:
            stop.set()
            srv.kill()
            srv.wait()
        cells = {}
        for n, v in res.items():
            good = [x for x in v if not isinstance(x, str)]
            cells[n] = median(good) if good else v[0]
        self.add("`trace-envoy-socket.bt` to its first record", cells["sonde"], cells.get("bpftrace"),
                 " ms", target=("max", 50))

    def kernel_rows(self):
        cases = [
            ("kernel ns per event, `/pid == P/ { }`, tracepoint",
             "tracepoint:syscalls:sys_enter_getpid /pid == SPINPID/ { }"),
            ("kernel ns per event, `/pid == P/ { }`, uprobe", "uprobe:libc:syscall /pid == SPINPID/ { }"),
            ("`@[comm] = count()`, tracepoint",
             "tracepoint:syscalls:sys_enter_getpid /pid == SPINPID/ { @[comm] = count(); }"),
            ("`@[comm] = count()`, uprobe", "uprobe:libc:syscall /pid == SPINPID/ { @[comm] = count(); }"),
            ("`@[ustack] = count()`, uprobe",
             "uprobe:libc:syscall /pid == SPINPID/ { @[ustack] = count(); }"),
            ("printf per event, tracepoint",
             'tracepoint:syscalls:sys_enter_getpid /pid == SPINPID/ { printf("%d %d\\n", pid, tid); }'),
        ]
        targets = [1.0, 1.0, 0.8, 0.8, 0.8, 0.1]
        for (figure, prog), tgt in zip(cases, targets):
            res = self.interleave(lambda n, p: per_event([p, "-e", prog], self.spin, 1.5))
            ns = {n: median([r["ns"] for r in v]) for n, v in res.items()}
            ins = {n: median([r["insns"] for r in v]) for n, v in res.items()}
            self.add(figure, ns["sonde"], ns.get("bpftrace"), " ns",
                     note="instructions: sonde %s, bpftrace %s" % (fmt(ins["sonde"]), fmt(ins.get("bpftrace"))),
                     target=("ratio", tgt))

    def delivery(self):
        prog = ('tracepoint:syscalls:sys_enter_getpid /pid == SPINPID/ { @n = count(); '
                'printf("%d %d\\n", pid, tid); }')
        res = self.interleave(lambda n, p: per_event([p, "-e", prog], self.spin, 2.0))
        for n, v in res.items():
            for r in v:
                r["rate"] = r["n"] / r["secs"] if r["n"] else None
                # lines minus the map line and Attaching and END blank lines, over events counted
                r["pct"] = 100.0 * max(r["lines"] - 4, 0) / r["n"] if r["n"] else None
                r["us"] = 1e6 * r["cpu"] / max(r["lines"], 1)
        rate = {n: median([r["rate"] for r in v]) for n, v in res.items()}
        pct = {n: median([r["pct"] for r in v]) for n, v in res.items()}
        us = {n: median([r["us"] for r in v]) for n, v in res.items()}
        lost = {n: median([r["lost"] for r in v]) for n, v in res.items()}
        self.add("printf lines delivered, one producer (%% of events; rate sonde %s/s, bpftrace %s/s)"
                 % (fmt(rate["sonde"]), fmt(rate.get("bpftrace"))), pct["sonde"], pct.get("bpftrace"), "%",
                 note="reported lost: sonde %s, bpftrace %s" % (fmt(lost["sonde"]), fmt(lost.get("bpftrace"))),
                 target=("min", 100))
        self.add("user-space CPU per printf line", us["sonde"], us.get("bpftrace"), " us", 2,
                 target=("max", 0.5))

    def two_producers(self):
        prog = ('tracepoint:syscalls:sys_enter_getpid /comm == "spin"/ { @n = count(); '
                'printf("%d %d\\n", pid, tid); }')

        def run(n, p):
            sp2 = subprocess.Popen([self.spin, "40"])
            try:
                return per_event([p, "-e", prog], self.spin, 2.0)
            finally:
                sp2.kill()
                sp2.wait()
        res = self.interleave(run)
        pct = {n: median([100.0 * max(r["lines"] - 4, 0) / r["n"] if r["n"] else None for r in v])
               for n, v in res.items()}
        lost = {n: median([r["lost"] for r in v]) for n, v in res.items()}
        self.add("two producers at full speed, lines delivered", pct["sonde"], pct.get("bpftrace"), "%",
                 note="reported lost: sonde %s, bpftrace %s" % (fmt(lost["sonde"]), fmt(lost.get("bpftrace"))),
                 target=("min", 90))

    def wildcards(self):
        for pattern in ("p*", "*"):
            def run(n, p):
                target = subprocess.Popen(["sleep", "60"])
                t0 = time.perf_counter()
                q = subprocess.Popen([p, "-p", str(target.pid), "-e", "uprobe:libc:%s { @ = count(); }" % pattern],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                line = q.stdout.readline()
                t1 = time.perf_counter()
                ok = line.startswith(b"Attaching")
                q.send_signal(signal.SIGINT)
                t2 = time.perf_counter()
                _, err = q.communicate()
                t3 = time.perf_counter()
                target.kill()
                target.wait()
                if not ok or q.returncode:
                    e = err.decode("utf-8", "replace").strip().split("\n")
                    return ("fails: " + (e[-1][:60] if e and e[-1] else "no output"), None, 0)
                return ((t1 - t0) * 1000, (t3 - t2) * 1000, err.count(b"WARNING"),
                        line.decode().strip())
            res = self.interleave(run)
            cells = {}
            for n, v in res.items():
                good = [r for r in v if not isinstance(r[0], str)]
                if not good:
                    cells[n] = v[0][0]
                else:
                    cells[n] = "attach %s, exit %s (%s, %d warnings)" % (
                        fmt(median([r[0] for r in good]), " ms"), fmt(median([r[1] for r in good]), " ms"),
                        good[0][3].replace("Attaching ", "").replace("...", ""), good[0][2])
            self.add("`uprobe:libc:%s` with -p" % pattern, cells["sonde"], cells.get("bpftrace", "-"))

    def markdown(self, path):
        cpu = "?"
        try:
            for line in open("/proc/cpuinfo"):
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        bt = subprocess.run(["bpftrace", "--version"], stdout=subprocess.PIPE).stdout.decode().strip() \
            if len(self.tools) > 1 else "not installed"
        # the sections after the generated table (written by hand, dated) are kept
        kept = ""
        try:
            old = open(path).read()
            i = old.find("\n## ")
            kept = old[i + 1:] if i >= 0 else ""
        except OSError:
            pass
        load = os.getloadavg()
        with open(path, "w") as f:
            f.write("# Performance\n\n")
            f.write("Generated by `bench/bench.py --md docs/PERFORMANCE.md` on %s UTC.\n\n"
                    % time.strftime("%Y-%m-%d %H:%M", time.gmtime()))
            f.write("Machine: %s, %d CPUs, kernel %s; %s.  Medians of %d interleaved runs per tool "
                    "(sonde, bpftrace, sonde, ...).\n\n" % (cpu, os.cpu_count(), platform.release(), bt,
                                                            self.runs))
            f.write("Load average when the table was written: %.2f (1 min), %.2f (5 min) on 2 cores; "
                    "wall-clock and delivery rows move between runs, and the ratios of interleaved "
                    "runs are more telling than the absolute numbers.  Kernel ns per event come from "
                    "`kernel.bpf_stats_enabled` (run_time_ns / run_cnt of the busiest program).\n\n"
                    % (load[0], load[1]))
            f.write("| figure | bpftrace 0.17 | sonde | sonde / bpftrace | issue-13 target met | notes |\n")
            f.write("|---|---|---|---|---|---|\n")
            for r in self.rows:
                f.write("| %s | %s | %s | %s | %s | %s |\n" % r)
            f.write("\nThe wildcard rows' target is: every probe-able function attached, one warning per "
                    "refused one, <= 2 s to attach and to exit.\n\n"
                    "The `trace-envoy-socket.bt` row runs the bundled script on tests/e2e's server, "
                    "connected to every millisecond; bpftrace 0.17 cannot compile it without kernel "
                    "headers installed.\n")
            if kept:
                f.write("\n" + kept)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sonde", default=os.path.join(TOP, "sonde"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--md")
    ap.add_argument("--only", help="comma-separated rows: startup,first,envoy,kernel,delivery,two,wildcards")
    a = ap.parse_args()
    with bpf_stats("bench.py"):
        b = Bench(os.path.abspath(a.sonde), shutil.which("bpftrace"), a.runs)
        rows = (a.only or "startup,first,envoy,kernel,delivery,two,wildcards").split(",")
        for r in rows:
            {"startup": b.startup, "first": b.first_event, "envoy": b.envoy, "kernel": b.kernel_rows,
             "delivery": b.delivery, "two": b.two_producers, "wildcards": b.wildcards}[r]()
    if a.md:
        b.markdown(a.md)


if __name__ == "__main__":
    main()
