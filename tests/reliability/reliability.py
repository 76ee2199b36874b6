#!/usr/bin/env python3
"""tests/reliability/reliability.py - fault, leak and load tests of a running sonde (TAP).

Driven by run.sh.  Needs root (skips every test with the reason otherwise).

Leaks: while sonde runs, the BPF programs, maps and links it holds are read from
/proc/PID/fdinfo (prog_id, map_id, link_id); after it exits, none of those ids may still exist in
the kernel (`bpftool prog|map|link show id N`).  Ids come from a cyclic allocator, so another
tool running at the same time cannot be mistaken for a leak.  Checked after: exit(), SIGINT,
SIGTERM, SIGKILL, a -c child that exits, a -c child that dies of SIGSEGV, and a -p target that
exits mid-trace.

Also: SIGINT runs END and prints the maps; without CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN (and as an
unprivileged user) sonde prints one actionable ERROR line and exits 1; under a tracepoint firing
in a tight loop with printf per event and a stalled reader, sonde stays responsive (SIGINT ->
exit within 1 s), its RSS stays bounded, and dropped events are reported as `Lost N events`.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

SONDE = os.environ.get("SONDE") or os.path.join(os.environ.get("top_builddir", "."), "sonde")
BUILD = os.environ.get("RELIABILITY_BUILD_DIR", "/tmp/sonde-reliability-%d" % os.getuid())
HERE = os.path.dirname(os.path.abspath(__file__))

n_tests = 0


def ok(cond, name, diag=None):
    global n_tests
    n_tests += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n_tests, name))
    if not cond and diag:
        for line in str(diag).rstrip("\n").split("\n")[-15:]:
            print("#   " + line)
    sys.stdout.flush()
    return cond


def skip(name, reason):
    global n_tests
    n_tests += 1
    print("ok %d - %s # SKIP %s" % (n_tests, name, reason))


class Reader(threading.Thread):
    """Collects a pipe's output; with stall set, reads nothing until released."""

    def __init__(self, f, stall=False):
        super().__init__(daemon=True)
        self.f = f
        self.buf = bytearray()
        self.nbytes = 0
        self.go = threading.Event()
        if not stall:
            self.go.set()
        self.keep = 1 << 20
        self.lock = threading.Lock()
        self.start()

    def run(self):
        self.go.wait()
        while True:
            chunk = self.f.read1(65536) if hasattr(self.f, "read1") else self.f.read(65536)
            if not chunk:
                break
            with self.lock:
                self.nbytes += len(chunk)
                self.buf += chunk
                if len(self.buf) > 2 * self.keep:
                    # keep the head (Attaching...) and the tail (END, maps)
                    del self.buf[self.keep // 2:len(self.buf) - self.keep]

    def text(self):
        with self.lock:
            return self.buf.decode("utf-8", "replace")


class Sonde:
    def __init__(self, args, stall=False, env=None):
        self.p = subprocess.Popen([SONDE] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=env)
        self.out = Reader(self.p.stdout, stall)
        self.err = Reader(self.p.stderr)
        self.ids = {"prog": set(), "map": set(), "link": set()}
        self.visible = False

    def wait_output(self, needle, timeout=10.0):
        end = time.time() + timeout
        while time.time() < end:
            if needle in self.out.text():
                return True
            if self.p.poll() is not None:
                time.sleep(0.1)
                return needle in self.out.text()
            time.sleep(0.02)
        return False

    def sample_ids(self):
        """The ids of every BPF object sonde holds an fd for, right now."""
        fddir = "/proc/%d/fdinfo" % self.p.pid
        try:
            fds = os.listdir(fddir)
        except OSError:
            return
        for fd in fds:
            try:
                info = open(os.path.join(fddir, fd)).read()
            except OSError:
                continue
            for kind in ("link", "prog", "map"):
                m = re.search(r"^%s_id:\s*(\d+)" % kind, info, re.M)
                if m:
                    self.ids[kind].add(int(m.group(1)))
                    break
        # the leak check is only meaningful if bpftool sees what sonde holds
        self.visible = all(bpf_exists(k, i) for k in self.ids for i in self.ids[k])

    def wait(self, timeout):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def finish(self):
        self.out.go.set()
        self.out.join(5)
        self.err.join(5)


def bpf_exists(kind, ident):
    r = subprocess.run(["bpftool", kind, "show", "id", str(ident)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return r.returncode == 0


def leftovers(s, wait=2.0):
    """Ids still alive after sonde's exit (the kernel frees some objects after an RCU grace)."""
    end = time.time() + wait
    while True:
        left = ["%s %d" % (k, i) for k in ("link", "prog", "map") for i in sorted(s.ids[k])
                if bpf_exists(k, i)]
        if not left or time.time() >= end:
            return left
        time.sleep(0.1)


def check_no_leak(s, name):
    total = sum(len(v) for v in s.ids.values())
    if not ok(s.ids["prog"] and s.ids["map"] and s.visible,
              "%s: sonde held BPF programs and maps while running, visible to bpftool" % name,
              "held: %r, visible %r\nstderr: %s" % (s.ids, s.visible, s.err.text())):
        return
    left = leftovers(s)
    ok(not left, "%s: none of the %d BPF objects sonde held remain" % (name, total),
       "still in the kernel: %s" % ", ".join(left))


def crashed(s):
    rc = s.p.returncode
    err = s.err.text()
    bad = [m for m in ("AddressSanitizer", "runtime error:", "Assertion", "LeakSanitizer") if m in err]
    return (rc is not None and rc < 0 and rc != -signal.SIGKILL) or bool(bad)


TRACE = 'tracepoint:syscalls:sys_enter_getpid { @calls = count(); } '


def test_exit_call():
    name = "exit()"
    s = Sonde(["-e", 'BEGIN { printf("begin\\n"); @m[7] = 3; } interval:ms:1500 { exit(); } '
               + TRACE + 'END { printf("end ran\\n"); }'])
    if not ok(s.wait_output("begin"), "%s: sonde attached" % name, s.err.text()):
        s.kill()
        return
    time.sleep(0.3)
    s.sample_ids()
    rc = s.wait(10)
    s.finish()
    ok(rc == 0, "%s: exit status 0" % name, "status %r\n%s" % (rc, s.err.text()))
    out = s.out.text()
    ok("end ran" in out and "@m[7]: 3" in out, "%s: END ran and maps printed" % name, out)
    check_no_leak(s, name)


def test_signal(sig, signame):
    name = signame
    s = Sonde(["-e", 'BEGIN { printf("begin\\n"); @m[1] = 5; } ' + TRACE +
               'END { printf("end ran\\n"); }'])
    if not ok(s.wait_output("begin"), "%s: sonde attached" % name, s.err.text()):
        s.kill()
        return
    time.sleep(0.3)
    s.sample_ids()
    t0 = time.time()
    s.p.send_signal(sig)
    rc = s.wait(5)
    dt = time.time() - t0
    if rc is None:
        s.kill()
    s.finish()
    ok(rc == 0 and dt < 1.0, "%s: exits with status 0 within 1 s" % name,
       "status %r after %.2f s\n%s" % (rc, dt, s.err.text()))
    out = s.out.text()
    ok("end ran" in out and "@m[1]: 5" in out, "%s: END ran and maps printed" % name, out)
    check_no_leak(s, name)


def test_sigkill():
    name = "SIGKILL"
    s = Sonde(["-e", 'BEGIN { printf("begin\\n"); } ' + TRACE])
    if not ok(s.wait_output("begin"), "%s: sonde attached" % name, s.err.text()):
        s.kill()
        return
    time.sleep(0.3)
    s.sample_ids()
    s.p.kill()
    s.wait(5)
    s.finish()
    check_no_leak(s, name)


def test_child(cmd, name, expect_status=None):
    s = Sonde(["-c", cmd, "-e", 'BEGIN { printf("begin\\n"); } ' + TRACE +
               'END { printf("end ran\\n"); }'])
    if not ok(s.wait_output("begin"), "%s: sonde attached" % name, s.err.text()):
        s.kill()
        return
    s.sample_ids()
    rc = s.wait(10)
    if rc is None:
        s.kill()
    s.finish()
    ok(rc is not None and not crashed(s), "%s: sonde exits on its own after the child, no crash" % name,
       "status %r\n%s" % (rc, s.err.text()))
    if expect_status is not None:
        ok(rc == expect_status, "%s: exit status %d" % (name, expect_status),
           "status %r\n%s" % (rc, s.err.text()))
    ok("end ran" in s.out.text(), "%s: END ran" % name, s.out.text())
    check_no_leak(s, name)


def test_pid_exits():
    name = "-p PID that exits mid-trace"
    target = subprocess.Popen(["sleep", "3"])
    s = Sonde(["-p", str(target.pid), "-e", 'BEGIN { printf("begin\\n"); } ' +
               'tracepoint:syscalls:sys_enter_getpid, tracepoint:syscalls:sys_exit_nanosleep,'
               ' tracepoint:syscalls:sys_exit_clock_nanosleep { @c = count(); } '
               'END { printf("end ran\\n"); }'])
    if not ok(s.wait_output("begin"), "%s: sonde attached" % name, s.err.text()):
        s.kill()
        target.wait()
        return
    s.sample_ids()
    target.wait()
    time.sleep(1.0)
    alive = s.p.poll() is None
    if alive:
        s.p.send_signal(signal.SIGINT)
    rc = s.wait(5)
    if rc is None:
        s.kill()
    s.finish()
    ok(rc == 0 and not crashed(s), "%s: sonde %s, exit status 0, no crash" %
       (name, "kept running until SIGINT" if alive else "exited by itself"),
       "status %r\n%s" % (rc, s.err.text()))
    ok("end ran" in s.out.text(), "%s: END ran" % name, s.out.text())
    check_no_leak(s, name)


def test_no_caps():
    prog = 'tracepoint:syscalls:sys_enter_getpid { @ = count(); }'
    variants = []
    if shutil.which("capsh"):
        variants.append(("without CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN (capsh)",
                         ["capsh", "--drop=cap_bpf,cap_perfmon,cap_sys_admin", "--",
                          "-c", 'exec "$0" "$@"', SONDE, "-e", prog]))
    elif shutil.which("setpriv"):
        variants.append(("without CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN (setpriv)",
                         ["setpriv", "--bounding-set=-bpf,-perfmon,-sys_admin", SONDE, "-e", prog]))
    if shutil.which("setpriv"):
        variants.append(("as an unprivileged user",
                         ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                          "--inh-caps=-all", SONDE, "-e", prog]))
    for what, argv in variants:
        try:
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        except subprocess.TimeoutExpired:
            ok(False, "%s: sonde stops" % what, "hung for 10 s")
            continue
        err = r.stderr.decode("utf-8", "replace")
        lines = [l for l in err.split("\n") if l.strip()]
        ok(r.returncode == 1, "%s: exit status 1" % what, "status %d\n%s" % (r.returncode, err))
        ok(len(lines) == 1 and lines[0].startswith("ERROR: ") and
           re.search(r"CAP_BPF|root|permission|privilege", lines[0], re.I),
           "%s: one actionable ERROR line naming the missing privilege" % what, err)
    if not variants:
        skip("without capabilities", "neither capsh nor setpriv is installed")


def build_spinner():
    os.makedirs(BUILD, exist_ok=True)
    exe = os.path.join(BUILD, "spin_getpid")
    src = os.path.join(HERE, "spin_getpid.c")
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang-16")
    if not cc:
        return None, "no C compiler"
    r = subprocess.run([cc, "-O2", "-o", exe, src], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode:
        return None, r.stdout.decode()
    return exe, None


def rss_kb(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def test_load():
    name = "load"
    exe, why = build_spinner()
    if not exe:
        skip("%s: getpid storm" % name, "cannot build the load generator: %s" % why)
        return
    spin = subprocess.Popen([exe, "30"])
    # a small ring buffer and a reader that stalls for the first seconds: events must drop
    env = dict(os.environ, BPFTRACE_PERF_RB_PAGES="8")
    # a sanitizer build keeps freed memory in quarantine (256 MB by default): keep it small so
    # RSS measures sonde, not ASan
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=8").lstrip(":")
    s = Sonde(["-e", 'BEGIN { printf("begin\\n"); } tracepoint:syscalls:sys_enter_getpid /pid == %d/ '
               '{ printf("getpid %%d %%llu\\n", pid, nsecs); } END { printf("end ran\\n"); }'
               % spin.pid], stall=True, env=env)
    start = time.time()
    samples = []
    while time.time() - start < 4.0 and s.p.poll() is None:
        samples.append(rss_kb(s.p.pid))
        time.sleep(0.25)
    s.out.go.set()      # the reader catches up: sonde drains the backlog
    while time.time() - start < 10.0 and s.p.poll() is None:
        samples.append(rss_kb(s.p.pid))
        time.sleep(0.25)
    s.sample_ids()
    running = s.p.poll() is None
    t0 = time.time()
    s.p.send_signal(signal.SIGINT)
    rc = s.wait(5)
    dt = time.time() - t0
    if rc is None:
        s.kill()
    spin.kill()
    spin.wait()
    s.finish()
    out = s.out.text()
    samples = [x for x in samples if x]
    ok(running and "begin" in out and s.out.nbytes > 100000,
       "%s: sonde ran under a getpid storm and printed events (%d bytes)" % (name, s.out.nbytes),
       "running %r, bytes %d\n%s" % (running, s.out.nbytes, s.err.text()))
    ok(rc == 0 and dt < 1.0, "%s: SIGINT -> exit within 1 s (%.2f s)" % (name, dt),
       "status %r after %.2f s\n%s" % (rc, dt, s.err.text()))
    if samples:
        steady = samples[len(samples) // 2:]
        ok(max(samples) < 200 * 1024 and max(steady) <= 1.5 * min(steady) + 8192,
           "%s: RSS bounded (max %d kB, second half %d..%d kB)" % (name, max(samples), min(steady), max(steady)),
           "samples: %r" % samples)
    else:
        ok(False, "%s: RSS sampled" % name, "no samples")
    m = re.search(r"^Lost (\d+) events$", out + s.err.text(), re.M)
    ok(m and int(m.group(1)) > 0, "%s: dropped events reported as 'Lost N events'" % name,
       "no 'Lost N events' line; tail of output:\n" + out[-600:])
    ok("end ran" in out, "%s: END ran after the storm" % name, out[-600:])
    check_no_leak(s, name)


def main():
    print("# sonde: %s" % SONDE)
    if os.geteuid() != 0:
        print("1..1")
        skip("reliability tests", "need root (BPF objects, signals of traced processes)")
        return 0
    if not os.access(SONDE, os.X_OK):
        print("1..1")
        skip("reliability tests", "sonde binary not found (set SONDE)")
        return 0
    if not shutil.which("bpftool"):
        print("1..1")
        skip("reliability tests", "bpftool not installed")
        return 0
    test_exit_call()
    test_signal(signal.SIGINT, "SIGINT")
    test_signal(signal.SIGTERM, "SIGTERM")
    test_sigkill()
    test_child("sleep 0.5", "-c child that exits")
    test_child("kill -SEGV $$", "-c child killed by SIGSEGV")
    test_pid_exits()
    test_no_caps()
    test_load()
    print("1..%d" % n_tests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
