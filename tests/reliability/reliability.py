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

Stopping and faults: SIGINT/SIGTERM end a sched_switch + system() storm within 1 s (END runs,
maps print, what was not printed is reported lost); the -c child and system() commands get the
signal dispositions sonde found; perf-event fds are closed once (strace); a closed stdout, a full
disk for -o and a reader that goes away end sonde cleanly.  Faults that real processes cannot
provoke come from fault_shim.c (LD_PRELOAD): an unreadable CPU list, a map without fd, a -p target
that exits or execs while sonde attaches.  Complexity: a 200000-key map prints and a wildcard
over 200000 functions expands in seconds, not minutes.

`reliability.py 3 7` runs only the 3rd and 7th tests of the list in main().
"""
import os
import re
import shutil
import select
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


def build_c(name, extra=None):
    """Compile tests/reliability/NAME.c into the build dir; (path, None) or (None, why)."""
    os.makedirs(BUILD, exist_ok=True)
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang-16")
    if not cc:
        return None, "no C compiler"
    out = os.path.join(BUILD, name + (".so" if extra else ""))
    argv = [cc, "-O2", "-Wall", "-o", out, os.path.join(HERE, name + ".c")] + (extra or [])
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode:
        return None, r.stdout.decode()
    return out, None


def asan_runtime():
    """The AddressSanitizer runtime a sanitizer build of sonde links, or None."""
    try:
        out = subprocess.run(["ldd", SONDE], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=10).stdout.decode()
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"^\s*libasan\S*\s+=>\s+(\S+)", out, re.M)
    return m.group(1) if m else None


def fault_env(**faults):
    shim, why = build_c("fault_shim", ["-shared", "-fPIC", "-ldl"])
    if not shim:
        return None, why
    # under ASan its runtime must be the first library loaded, before the shim
    asan = asan_runtime()
    env = dict(os.environ, LD_PRELOAD=asan + ":" + shim if asan else shim)
    env.update(faults)
    return env, None


def run_sonde(args, timeout=20, env=None, **kw):
    try:
        r = subprocess.run([SONDE] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, env=env, **kw)
    except subprocess.TimeoutExpired:
        return None, "", "timed out after %d s" % timeout
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def test_storm_stop(sig, signame):
    """sched_switch + system(): every event makes more; a signal still ends it within 1 s."""
    name = "%s during a system() storm on sched_switch" % signame
    s = Sonde(["--unsafe", "-e", 'BEGIN { printf("begin\\n"); } tracepoint:sched:sched_switch '
               '{ system("echo foo"); } END { printf("end ran\\n"); @x = 7; }'])
    if not ok(s.wait_output("begin"), "%s: sonde attached" % name, s.err.text()):
        s.kill()
        return
    time.sleep(2.0)
    s.sample_ids()
    t0 = time.time()
    s.p.send_signal(sig)
    rc = s.wait(10)
    dt = time.time() - t0
    if rc is None:
        s.kill()
    s.finish()
    out = s.out.text()
    ok(rc == 0 and dt < 1.0, "%s: exits with status 0 within 1 s (%.2f s)" % (name, dt),
       "status %r after %.2f s\n%s" % (rc, dt, s.err.text()))
    ok("foo" in out and "end ran" in out and "@x: 7" in out,
       "%s: the storm's output, then END ran and the maps printed" % name, out[-800:])
    ok(re.search(r"^Lost \d+ events$", out, re.M),
       "%s: what was not printed is reported as 'Lost N events'" % name, out[-800:])
    ok("I/O error" not in s.err.text(), "%s: system() commands are not cut off by the signal"
       % name, s.err.text())
    check_no_leak(s, name)


def sig_ign(text):
    m = re.search(r"^SigIgn:\s*([0-9a-f]+)$", text, re.M)
    return int(m.group(1), 16) if m else None


def test_child_dispositions():
    """The command sonde runs sees the dispositions it would see run without sonde."""
    name = "-c child"
    prog = 'BEGIN { printf("begin\\n"); }'
    grep = ["grep", "SigIgn", "/proc/self/status"]

    def ignore_int():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    for what, pre in (("sonde's parent ignores nothing special", None),
                      ("sonde's parent ignores SIGINT (as `cmd &` does)", ignore_int)):
        base = sig_ign(subprocess.run(grep, stdout=subprocess.PIPE, preexec_fn=pre).stdout.decode())
        rc, out, err = run_sonde(["-e", prog, "-c", " ".join(grep)], preexec_fn=pre)
        ok(rc == 0 and base is not None and sig_ign(out) == base and
           not base & (1 << (signal.SIGPIPE - 1)),
           "%s: ignores what the command run without sonde ignores (SIGPIPE restored); %s"
           % (name, what), "status %r, without sonde %r\n%s%s" % (rc, base, out, err))
        rc, out, err = run_sonde(["--unsafe", "-e", 'BEGIN { system("%s"); exit(); }' % " ".join(grep)],
                                 preexec_fn=pre)
        ok(rc == 0 and sig_ign(out) == base,
           "system(): the command ignores what it would without sonde; %s" % what,
           "status %r, without sonde %r\n%s%s" % (rc, base, out, err))


def test_perf_fds_closed_once():
    name = "perf events"
    if not shutil.which("strace"):
        skip("%s: every fd closed once" % name, "strace not installed")
        return
    log = os.path.join(BUILD, "close.strace")
    os.makedirs(BUILD, exist_ok=True)
    # LeakSanitizer cannot run under ptrace: a sanitizer build checks leaks elsewhere
    env = dict(os.environ, ASAN_OPTIONS=(os.environ.get("ASAN_OPTIONS", "") +
                                         ":detect_leaks=0").lstrip(":"))
    r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=close", "-o", log, SONDE, "-e",
                        'profile:hz:99 { @p = count(); } software:cpu-clock:1000000 { @s = count(); }'
                        ' interval:ms:300 { exit(); }'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, env=env)
    trace = open(log).read()
    bad = [l for l in trace.split("\n") if "EBADF" in l]
    ok(r.returncode == 0 and "@p:" in r.stdout.decode() and not bad,
       "%s: profile, software and interval probes attach, and no fd is closed twice (EBADF)"
       % name, "status %d\n%s\n%s" % (r.returncode, r.stderr.decode(), "\n".join(bad[:5])))


def test_online_cpus_fault():
    name = "online CPUs unreadable"
    env, why = fault_env(SONDE_FAULT_ONLINE_CPUS="empty")
    if not env:
        ok(False, "%s: the fault shim builds" % name, why)
        return
    rc, out, err = run_sonde(["-e", 'profile:hz:99 { @ = count(); }'], env=env)
    ok(rc == 1 and re.search(r"^ERROR: failed to read the online CPUs for profile:hz:99 .*: "
                             r"not a list of CPUs$", err, re.M) and "Attaching" not in out,
       "%s: profile refuses to start, in words, instead of attaching to no CPU" % name,
       "status %r\n%s%s" % (rc, out, err))


def test_missing_map_fault():
    name = "a map without fd after loading"
    env, why = fault_env(SONDE_FAULT_NO_MAP="sonde_lost")
    if not env:
        ok(False, "%s: the fault shim builds" % name, why)
        return
    rc, out, err = run_sonde(["-e", 'BEGIN { @a = 1; exit(); }'], env=env)
    ok(rc == 1 and "ERROR: internal error: map sonde_lost has no file descriptor" in err
       and not crashed_rc(rc, err),
       "%s: a located internal error and exit 1, never a map used as fd -1" % name,
       "status %r\n%s%s" % (rc, out, err))


def crashed_rc(rc, err):
    return (rc is not None and rc < 0) or any(m in err for m in ("AddressSanitizer", "runtime error:"))


def test_output_faults():
    prog = ['-e', 'BEGIN { printf("begin\\n"); } interval:ms:10 { printf("tick\\n"); } '
            'END { printf("end\\n"); }']
    # stdout closed by the caller
    try:
        r = subprocess.run("exec %s -e 'BEGIN { printf(\"x\\n\"); exit(); }' >&-" % SONDE,
                           shell=True, stderr=subprocess.PIPE, timeout=10)
        rc, err = r.returncode, r.stderr.decode()
    except subprocess.TimeoutExpired:
        rc, err = None, "timed out"
    ok(rc == 1 and err.startswith("ERROR: standard output is closed"),
       "closed stdout: one ERROR line and exit 1 (nothing written into a reused fd)",
       "status %r\n%s" % (rc, err))
    # a full disk for -o
    t0 = time.time()
    rc, out, err = run_sonde(["-o", "/dev/full"] + prog, timeout=10)
    dt = time.time() - t0
    ok(rc == 1 and dt < 5 and err.count("ERROR:") == 1 and
       "failed to write the output: No space left on device" in err,
       "-o /dev/full: one ERROR naming the reason, exit 1, no spinning (%.2f s)" % dt,
       "status %r\n%s" % (rc, err))
    # the reader goes away (| head -1)
    p = subprocess.Popen([SONDE] + prog, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stdout.readline()
    p.stdout.close()
    try:
        rc = p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = None
    err = p.stderr.read().decode()
    ok(first.startswith(b"Attaching") and rc == 0 and "ERROR" not in err,
       "stdout reader exits (| head): sonde ends quietly with status 0",
       "status %r\n%s" % (rc, err))


def test_pid_gone_during_attach(sig, what):
    name = "-p target that %s during attach" % what
    # on SIGUSR1 the target execs sleep; SIGKILL just ends it
    target = subprocess.Popen([sys.executable, "-c",
                               "import os, signal, time\n"
                               "signal.signal(signal.SIGUSR1, lambda *a: os.execv('/bin/sleep', "
                               "['sleep', '4']))\n"
                               "print('ready', flush=True)\n"
                               "time.sleep(30)\n"], stdout=subprocess.PIPE)
    target.stdout.readline()
    reaper = threading.Thread(target=target.wait, daemon=True)
    reaper.start()
    env, why = fault_env(SONDE_FAULT_ATTACH_PID=str(target.pid), SONDE_FAULT_ATTACH_SIG=str(int(sig)))
    if not env:
        ok(False, "%s: the fault shim builds" % name, why)
        target.kill()
        return
    s = Sonde(["-p", str(target.pid), "-e", 'BEGIN { printf("begin\\n"); } '
               'uprobe:libc:nanosleep, uprobe:libc:clock_nanosleep { @c = count(); } '
               'END { printf("end ran\\n"); }'], env=env)
    t0 = time.time()
    while time.time() - t0 < 3 and s.p.poll() is None and "begin" not in s.out.text():
        time.sleep(0.05)
    s.sample_ids()
    if s.p.poll() is None:
        time.sleep(0.5)
        s.p.send_signal(signal.SIGINT)
    rc = s.wait(5)
    if rc is None:
        s.kill()
    s.finish()
    target.kill()
    reaper.join(5)
    err = s.err.text()
    errors = [l for l in err.split("\n") if "ERROR:" in l]
    if sig == signal.SIGKILL:
        ok(rc in (0, 1) and not crashed(s) and (rc == 0 or len(errors) == 1),
           "%s: no crash or hang; either it traced until SIGINT or one ERROR line and exit 1"
           % name, "status %r\n%s" % (rc, err))
        if rc == 1:
            ok(re.search(r"No such process|exited", errors[0]) is not None,
               "%s: the ERROR says the process is gone" % name, err)
    else:
        ok(rc == 0 and "end ran" in s.out.text() and not crashed(s),
           "%s: attaches and traces the new image until SIGINT, END ran" % name,
           "status %r\n%s%s" % (rc, s.out.text(), err))
    if s.ids["prog"]:
        check_no_leak(s, name)


def test_map_print_linear():
    name = "a map of 200000 keys"
    exe, why = build_spinner()
    if not exe:
        ok(False, "%s: the load generator builds" % name, why)
        return
    spin = subprocess.Popen([exe, "20"])
    env = dict(os.environ, BPFTRACE_MAP_KEYS_MAX="200000")
    s = Sonde(["-e", 'BEGIN { printf("begin\\n"); } tracepoint:syscalls:sys_enter_getpid '
               '/pid == %d/ { @[nsecs] = count(); @n = count(); }' % spin.pid], env=env)
    s.wait_output("begin")
    time.sleep(3.0)
    t0 = time.time()
    s.p.send_signal(signal.SIGINT)
    rc = s.wait(60)
    dt = time.time() - t0
    if rc is None:
        s.kill()
    spin.kill()
    spin.wait()
    s.finish()
    lines = s.out.nbytes
    n = re.search(r"^@n: (\d+)$", s.out.text(), re.M)
    ok(rc == 0 and n and int(n.group(1)) >= 150000 and dt < 10,
       "%s: printed in %.1f s after SIGINT (a linear search per key took minutes)" % (name, dt),
       "status %r, @n %s, %d bytes\n%s" % (rc, n and n.group(1), lines, s.err.text()))


def test_uprobe_wildcard_linear():
    name = "a wildcard over 200000 functions"
    os.makedirs(BUILD, exist_ok=True)
    asm = os.path.join(BUILD, "big.s")
    lib = os.path.join(BUILD, "libbig.so")
    with open(asm, "w") as f:
        f.write(".text\n")
        for i in range(200000):
            f.write(".globl fn%d\n.type fn%d,@function\nfn%d:\n\tret\n.size fn%d,1\n" % (i, i, i, i))
        # aliases: one probe per address
        f.write(".globl alias0\n.set alias0, fn0\n.type alias0,@function\n")
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    r = subprocess.run([cc, "-shared", "-nostdlib", "-o", lib, asm], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if not ok(r.returncode == 0, "%s: the library builds" % name, r.stdout.decode()):
        return
    t0 = time.time()
    rc, out, err = run_sonde(["-l", "-e", "uprobe:%s:* {}" % lib], timeout=120)
    dt = time.time() - t0
    names = out.split("\n")
    ok(rc == 0 and len([x for x in names if x]) == 200000 and dt < 10,
       "%s: expanded and de-duplicated in %.1f s (an alias shares its function's probe)"
       % (name, dt), "status %r, %d names\n%s" % (rc, len(names), err))


def test_uprobe_refused_functions():
    """A wildcard over functions some of which the kernel refuses: those are named and skipped."""
    name = "wildcard with refused functions"
    os.makedirs(BUILD, exist_ok=True)
    asm = os.path.join(BUILD, "refuse.s")
    lib = os.path.join(BUILD, "librefuse.so")
    body = {"good_a": "\tpush %rbp\n\tpop %rbp\n\tret\n",
            "good_b": "\tmov %rdi, %rax\n\tret\n",
            "good_c": "\tendbr64\n\tret\n",
            "lock_fn": "\tlock incl (%rdi)\n\tret\n",
            "avx_fn": "\tvmovd %esi, %xmm0\n\tret\n"}
    with open(asm, "w") as f:
        f.write(".text\n")
        for fn, code in body.items():
            f.write(".globl %s\n.type %s,@function\n%s:\n%s.size %s,.-%s\n" % (fn, fn, fn, code, fn, fn))
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    r = subprocess.run([cc, "-shared", "-nostdlib", "-o", lib, asm], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if not ok(r.returncode == 0, "%s: the fixture library builds" % name, r.stdout.decode()):
        return
    t0 = time.time()
    rc, out, err = run_sonde(["-e", "uprobe:%s:* { @[func] = count(); } BEGIN { exit(); }" % lib])
    dt = time.time() - t0
    warns = sorted(l for l in err.split("\n") if l.startswith("WARNING"))
    want = sorted(["WARNING: uprobe:%s:avx_fn skipped: the kernel refuses a uprobe on its first "
                   "instruction (an AVX instruction it cannot single-step)" % lib,
                   "WARNING: uprobe:%s:lock_fn skipped: the kernel refuses a uprobe on its first "
                   "instruction (a LOCK-prefixed instruction)" % lib])
    ok(rc == 0 and warns == want and "Attaching 4 probes..." in out and "ERROR" not in err,
       "%s: one warning per refused function with the reason in words; the other 3 attach"
       " (%.2f s)" % (name, dt), "status %r\n%s%s" % (rc, out, err))
    # libc through the multi-link, confined to one process so nothing else is slowed down
    target = subprocess.Popen(["sleep", "30"])
    t0 = time.time()
    rc, out, err = run_sonde(["-p", str(target.pid), "-e",
                              "uprobe:libc:* { @ = count(); } BEGIN { exit(); }"], timeout=60)
    dt = time.time() - t0
    target.kill()
    target.wait()
    m = re.search(r"^Attaching (\d+) probes\.\.\.$", out, re.M)
    bad = [l for l in err.split("\n") if l and not re.match(
        r"WARNING: uprobe:\S+libc\S*:\S+ skipped: (the kernel refuses a uprobe on its first "
        r"instruction \(.+\)|its first instruction is an AVX instruction that the kernel would "
        r"take for a \S+( \S+)? and would never run, so the traced program would compute wrong "
        r"results)$", l)]
    ok(rc == 0 and m and int(m.group(1)) > 1000 and not bad,
       "uprobe:libc:* attaches %s functions through the multi-link, every refusal one warning"
       " (%.2f s)" % (m.group(1) if m else "no", dt), "status %r\n%s%s" % (rc, out[:300], err))


def ringbuf_sizes(env):
    s = Sonde(["-e", 'BEGIN { printf("begin\\n"); } tracepoint:syscalls:sys_enter_getppid '
               '{ printf("x\\n"); }'], env=env)
    sizes = []
    if s.wait_output("begin"):
        s.sample_ids()
        for i in s.ids["map"]:
            r = subprocess.run(["bpftool", "map", "show", "id", str(i)], stdout=subprocess.PIPE)
            m = re.search(r"ringbuf .*max_entries (\d+)", r.stdout.decode().replace("\n", " "))
            if m:
                sizes.append(int(m.group(1)))
    s.p.send_signal(signal.SIGINT)
    if s.wait(5) is None:
        s.kill()
    s.finish()
    return sizes


def test_output_batches():
    name = "output"
    env = dict(os.environ)
    env.pop("BPFTRACE_PERF_RB_PAGES", None)
    env.pop("SONDE_PERF_RB_PAGES", None)
    sizes = ringbuf_sizes(env)
    cpus = os.sysconf("SC_NPROCESSORS_CONF")
    want = 256
    while want < 4096 and want < 256 * cpus:
        want <<= 1
    ok(sizes == [want * 4096], "%s: a script that prints gets 1 MiB of ring buffer per CPU (%d pages)"
       % (name, want), repr(sizes))
    sizes = ringbuf_sizes(dict(env, BPFTRACE_PERF_RB_PAGES="8"))
    ok(sizes == [8 * 4096], "%s: BPFTRACE_PERF_RB_PAGES=8 is honoured" % name, repr(sizes))
    if not shutil.which("strace"):
        skip("%s: one write(2) per batch" % name, "strace not installed")
        return
    log = os.path.join(BUILD, "write.strace")
    os.makedirs(BUILD, exist_ok=True)
    out = os.path.join(BUILD, "lines.txt")
    exe, why = build_spinner()
    if not exe:
        ok(False, "%s: the load generator builds" % name, why)
        return
    spin = subprocess.Popen([exe, "20"])
    r = subprocess.run(["strace", "-qq", "-e", "trace=write", "-o", log, SONDE, "-o", out, "-e",
                        'interval:ms:500 { exit(); } tracepoint:syscalls:sys_enter_getpid '
                        '/pid == %d/ { printf("line %%d\\n", tid); }' % spin.pid],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                       env=dict(os.environ, ASAN_OPTIONS=(os.environ.get("ASAN_OPTIONS", "") +
                                                          ":detect_leaks=0").lstrip(":")))
    spin.kill()
    spin.wait()
    writes = [l for l in open(log).read().split("\n") if l.startswith("write(")]
    lines = open(out).read().count("line ")
    # batches follow the ring buffer's drains: tens to thousands of lines each, never one
    ok(r.returncode == 0 and lines > 10000 and len(writes) * 20 < lines,
       "%s: %d lines written in %d write(2) calls, not one per line" % (name, lines, len(writes)),
       "status %d\n%s" % (r.returncode, r.stderr.decode()))


def test_output_no_stranded_line():
    # The reader is woken at most once a millisecond per CPU: a line printed right after
    # another, with no event after it, must still reach the pipe (within the 2 ms poll).
    name = "output"
    p = subprocess.Popen([SONDE, "-e", 'tracepoint:syscalls:sys_enter_getppid /pid == %d/ '
                          '{ printf("e%%d\\n", nsecs); }' % os.getpid()],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    attached = p.stdout.readline().startswith(b"Attaching")
    got, worst = 0, 0.0
    for i in range(40):
        # gaps of 0.1 ms to 20 ms: some lines follow a wake-up within the millisecond
        time.sleep((0.0001, 0.0005, 0.003, 0.02)[i % 4])
        t0 = time.time()
        os.getppid()
        r, _, _ = select.select([p.stdout], [], [], 2.0)
        if not r or not p.stdout.readline().startswith(b"e"):
            break
        got += 1
        worst = max(worst, time.time() - t0)
    p.send_signal(signal.SIGINT)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    ok(attached and got == 40,
       "%s: every line reaches the pipe with no later event to push it (40 of 40, the slowest "
       "in %.1f ms)" % (name, worst * 1000), "%d of 40 lines, attached %r" % (got, attached))


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
    tests = [
        test_exit_call,
        lambda: test_signal(signal.SIGINT, "SIGINT"),
        lambda: test_signal(signal.SIGTERM, "SIGTERM"),
        test_sigkill,
        lambda: test_child("sleep 0.5", "-c child that exits"),
        # it lives a moment, so that bpftool can be asked about what sonde holds while it runs
        lambda: test_child("bash -c 'sleep 0.5; kill -SEGV $$'", "-c child killed by SIGSEGV"),
        test_pid_exits,
        test_no_caps,
        test_load,
        lambda: test_storm_stop(signal.SIGTERM, "SIGTERM"),
        lambda: test_storm_stop(signal.SIGINT, "SIGINT"),
        test_child_dispositions,
        test_perf_fds_closed_once,
        test_online_cpus_fault,
        test_missing_map_fault,
        test_output_faults,
        lambda: test_pid_gone_during_attach(signal.SIGKILL, "exits"),
        lambda: test_pid_gone_during_attach(signal.SIGUSR1, "execs"),
        test_map_print_linear,
        test_uprobe_wildcard_linear,
        test_uprobe_refused_functions,
        test_output_batches,
        test_output_no_stranded_line,
    ]
    # reliability.py N...: only the tests at those positions (1-based), for a quick rerun
    only = [int(a) for a in sys.argv[1:] if a.isdigit()]
    for i, t in enumerate(tests):
        if not only or i + 1 in only:
            t()
    print("1..%d" % n_tests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
