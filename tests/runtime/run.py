#!/usr/bin/env python3
# tests/runtime/run.py: runtime tier (root).  Runs the cases of tests/runtime/*.test against the
# tracer named by $SONDE (sonde, or /usr/bin/bpftrace to validate the expectations) and speaks TAP.
#
# Case format (bpftrace's runtime-test format, one directive per line, blank line between cases,
# '#' starts a comment line):
#   NAME name                 case name (required, starts a case)
#   PROG program              run as: $SONDE -e 'program'
#   RUN command               shell command; {{SONDE}} (or {{BPFTRACE}}) is replaced by $SONDE
#   EXPECT line               this exact line must appear in stdout
#   EXPECT_NONE line          this exact line must not appear in stdout
#   EXPECT_NONE_REGEX re      no stdout line may match this python regex
#   EXPECT_STDOUT re          python regex searched in the whole stdout (MULTILINE): line order
#   EXPECT_REGEX re           python regex that must match (re.search) some stdout line
#   EXPECT_EXACT line         the whole stdout (several lines accumulate; trailing newlines ignored)
#   EXPECT_EXIT n             exit status (not checked unless given)
#   EXPECT_STDERR re          python regex searched in the whole stderr (MULTILINE)
#   TIMEOUT seconds           default 5; on timeout the process group is killed and the case fails
#   BEFORE command            started in the background first; its pid is {{BEFORE_PID}}
#   AFTER command             run once stdout shows "Attaching" (or attached_probes in JSON),
#                             or after 1s when it never does (-q); {{PID}} is the tracer's pid
#   REQUIRES command          the case is skipped (with the command as reason) unless it exits 0
#   SONDE_ONLY                bpftrace 0.17 cannot run this case here: skipped with --compat
#   ENV K=V                   extra environment variable for the tracer
# Every command may use {{FIXTURES}} (the directory of fixture binaries compiled from
# tests/runtime/fixtures/*.c at start-up), {{SONDE}} and {{BEFORE_PID}}.
# Every case runs in its own process group (and so does each BEFORE command); all are killed when
# the case ends, whatever happened.
import argparse
import glob
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DIRECTIVES = {"NAME", "PROG", "RUN", "EXPECT", "EXPECT_NONE", "EXPECT_REGEX", "EXPECT_EXACT",
              "EXPECT_EXIT", "EXPECT_STDERR", "TIMEOUT", "BEFORE", "AFTER", "REQUIRES",
              "SONDE_ONLY", "ENV", "REQUIRES_ROOT", "EXPECT_NONE_REGEX", "EXPECT_STDOUT"}


class Case:
    def __init__(self, name, where):
        self.name = name
        self.where = where
        self.prog = None
        self.run = None
        self.expect = []
        self.expect_none = []
        self.expect_regex = []
        self.expect_none_regex = []
        self.expect_stdout = []
        self.expect_exact = None
        self.expect_exit = None
        self.expect_stderr = []
        self.timeout = 5.0
        self.before = []
        self.after = []
        self.requires = []
        self.sonde_only = False
        self.env = {}


def parse_file(path):
    cases = []
    cur = None
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            where = "%s:%d" % (os.path.basename(path), lineno)
            if line.strip() == "":
                cur = None
                continue
            if line.lstrip().startswith("#"):
                continue
            key, _, value = line.partition(" ")
            if key not in DIRECTIVES:
                raise SystemExit("%s: unknown directive %r" % (where, key))
            if key == "NAME":
                cur = Case(value.strip(), where)
                cases.append(cur)
                continue
            if cur is None:
                raise SystemExit("%s: %s outside a case (missing NAME)" % (where, key))
            if key == "PROG":
                cur.prog = value
            elif key == "RUN":
                cur.run = value
            elif key == "EXPECT":
                cur.expect.append(value)
            elif key == "EXPECT_NONE":
                cur.expect_none.append(value)
            elif key == "EXPECT_REGEX":
                cur.expect_regex.append(value)
            elif key == "EXPECT_NONE_REGEX":
                cur.expect_none_regex.append(value)
            elif key == "EXPECT_STDOUT":
                cur.expect_stdout.append(value)
            elif key == "EXPECT_EXACT":
                cur.expect_exact = value if cur.expect_exact is None else cur.expect_exact + "\n" + value
            elif key == "EXPECT_EXIT":
                cur.expect_exit = int(value)
            elif key == "EXPECT_STDERR":
                cur.expect_stderr.append(value)
            elif key == "TIMEOUT":
                cur.timeout = float(value)
            elif key == "BEFORE":
                cur.before.append(value)
            elif key == "AFTER":
                cur.after.append(value)
            elif key == "REQUIRES":
                cur.requires.append(value)
            elif key == "SONDE_ONLY":
                cur.sonde_only = True
            elif key == "ENV":
                k, _, v = value.partition("=")
                cur.env[k] = v
    for c in cases:
        if (c.prog is None) == (c.run is None):
            raise SystemExit("%s: case %r needs exactly one of PROG and RUN" % (c.where, c.name))
    return cases


def kill_group(proc):
    """SIGKILL the process group led by proc and reap proc."""
    if proc is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


class Reader(threading.Thread):
    """Collects a pipe's text and signals when the tracer announced it is attached."""

    def __init__(self, stream, watch):
        super().__init__(daemon=True)
        self.stream = stream
        self.chunks = []
        self.watch = watch
        self.attached = threading.Event()

    def run(self):
        while True:
            line = self.stream.readline()
            if not line:
                break
            self.chunks.append(line)
            if self.watch and (b"Attaching" in line or b"attached_probes" in line):
                self.attached.set()
        self.attached.set()

    def text(self):
        return b"".join(self.chunks).decode("utf-8", "replace")


def wait_exec(pid, shell_exe, limit=1.0):
    """Give a BEFORE command time to exec its real program."""
    end = time.time() + limit
    while time.time() < end:
        try:
            exe = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            return
        if exe != shell_exe:
            time.sleep(0.05)
            return
        time.sleep(0.02)


def wchans(pid):
    """Where each thread of pid sleeps (for the diagnostics of a timed-out case)."""
    out = []
    try:
        for tid in sorted(os.listdir("/proc/%d/task" % pid)):
            try:
                with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                    comm = f.read().strip()
                with open("/proc/%d/task/%s/wchan" % (pid, tid)) as f:
                    out.append("%s/%s:%s" % (tid, comm, f.read().strip() or "-"))
            except OSError:
                pass
    except OSError:
        return "(gone)"
    return " ".join(out)


def before_pid(pid, shell_exe):
    """The pid of the program a BEFORE command runs: the shell itself when it exec'd the
    program, else the shell's only child."""
    wait_exec(pid, shell_exe, 0.3)
    try:
        if os.readlink("/proc/%d/exe" % pid) != shell_exe:
            return pid
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kids = f.read().split()
    except OSError:
        return pid
    if len(kids) == 1:
        time.sleep(0.05)
        return int(kids[0])
    return pid


class Context:
    def __init__(self, sonde, fixtures):
        self.sonde = sonde
        self.fixtures = fixtures
        self.shell_exe = os.path.realpath("/bin/sh")

    def subst(self, text, extra=None):
        text = text.replace("{{SONDE}}", self.sonde).replace("{{BPFTRACE}}", self.sonde)
        text = text.replace("{{FIXTURES}}", self.fixtures)
        for k, v in (extra or {}).items():
            text = text.replace("{{%s}}" % k, str(v))
        return text


def run_case(ctx, case):
    """Returns (status, diagnostics) where status is 'ok', 'fail' or ('skip', reason)."""
    diags = []
    if os.geteuid() != 0:
        return ("skip", "not root"), diags
    for req in case.requires:
        r = subprocess.run(ctx.subst(req), shell=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            return ("skip", req), diags

    befores = []
    proc = None
    vars_ = {}
    try:
        for cmd in case.before:
            b = subprocess.Popen(ctx.subst(cmd, vars_), shell=True, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
            befores.append(b)
            vars_.setdefault("BEFORE_PID", before_pid(b.pid, ctx.shell_exe))
        if case.before:
            time.sleep(0.1)
        env = dict(os.environ)
        env.update(case.env)
        if case.prog is not None:
            prog = ctx.subst(case.prog, vars_)
            argv = [ctx.sonde, "-e", prog]
            shown = "%s -e %s" % (ctx.sonde, shlex.quote(prog))
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True, env=env)
        else:
            shown = ctx.subst(case.run, vars_)
            proc = subprocess.Popen(shown, shell=True, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True, env=env)
        diags.append("command: " + shown)
        vars_["PID"] = proc.pid
        out = Reader(proc.stdout, True)
        err = Reader(proc.stderr, False)
        out.start()
        err.start()
        start = time.time()
        timed_out = False
        if case.after:
            # bpftrace announces "Attaching" just before it attaches: leave it a moment.
            if out.attached.wait(timeout=1.0):
                time.sleep(0.3)
            for cmd in case.after:
                subprocess.run(ctx.subst(cmd, vars_), shell=True, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=max(0.5, case.timeout - (time.time() - start)))
        try:
            proc.wait(timeout=max(0.1, case.timeout - (time.time() - start)))
        except subprocess.TimeoutExpired:
            timed_out = True
            diags.append("at timeout, threads of pid %d wait in: %s" % (proc.pid, wchans(proc.pid)))
            kill_group(proc)
        out.join(timeout=2)
        err.join(timeout=2)
        stdout, stderr = out.text(), err.text()
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        stdout, stderr, rc, timed_out = "", "", None, True
    finally:
        kill_group(proc)
        for b in befores:
            kill_group(b)

    sub = lambda items: [ctx.subst(x, vars_) for x in items]
    case_expect, case_none = sub(case.expect), sub(case.expect_none)
    case_regex = sub(case.expect_regex)
    exact = None if case.expect_exact is None else ctx.subst(case.expect_exact, vars_)
    failures = []
    if timed_out:
        failures.append("timed out after %gs (process group killed)" % case.timeout)
    lines = stdout.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for e in case_expect:
        if e not in lines:
            failures.append("missing line: %r" % e)
    for e in case_none:
        if e in lines:
            failures.append("unexpected line: %r" % e)
    for e in case_regex:
        if not any(re.search(e, l) for l in lines):
            failures.append("no line matches regex: %r" % e)
    for e in sub(case.expect_none_regex):
        if any(re.search(e, l) for l in lines):
            failures.append("a line matches the forbidden regex: %r" % e)
    for e in sub(case.expect_stdout):
        if not re.search(e, stdout, re.MULTILINE):
            failures.append("stdout does not match regex: %r" % e)
    if exact is not None and stdout.rstrip("\n") != exact.rstrip("\n"):
        failures.append("stdout differs from EXPECT_EXACT:")
        failures.extend("  expected| " + l for l in exact.rstrip("\n").split("\n"))
    if case.expect_exit is not None and rc != case.expect_exit:
        failures.append("exit status %s, expected %d" % (rc, case.expect_exit))
    for e in case.expect_stderr:
        if not re.search(e, stderr, re.MULTILINE):
            failures.append("stderr does not match regex: %r" % e)
    if failures:
        diags.extend(failures)
        diags.append("exit status: %s" % rc)
        diags.extend("  stdout| " + l for l in stdout.rstrip("\n").split("\n"))
        diags.extend("  stderr| " + l for l in stderr.rstrip("\n").split("\n"))
        return "fail", diags
    return "ok", diags


def fixture_flags(src):
    """A fixture's first line may say how to build it: "// build: -O2 -fomit-frame-pointer"."""
    with open(src) as f:
        first = f.readline()
    m = re.match(r"\s*//\s*build:(.*)$", first)
    if m:
        return shlex.split(m.group(1))
    return ["-g", "-O0", "-fno-omit-frame-pointer", "-fno-inline"]


def build_fixtures(outdir):
    """Compile tests/runtime/fixtures/*.c (and *.cc) with frame pointers and symbols (uprobe
    targets), or as the fixture's "// build:" line says."""
    srcs = sorted(glob.glob(os.path.join(HERE, "fixtures", "*.c")) +
                  glob.glob(os.path.join(HERE, "fixtures", "*.cc")))
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or "cc"
    cxx = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++") or "c++"
    errors = {}
    for src in srcs:
        name = os.path.splitext(os.path.basename(src))[0]
        out = os.path.join(outdir, name)
        r = subprocess.run([cxx if src.endswith(".cc") else cc] + fixture_flags(src) +
                           ["-o", out, src], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            errors[name] = "cannot compile %s: %s" % (src, r.stdout.decode(errors="replace"))
    return errors


def broken_fixture(case, fixture_errors):
    """The first fixture the case uses that did not build: the case FAILS (a SKIP, or a REQUIRES
    on the binary, would hide a broken fixture)."""
    text = "\n".join(str(v) for v in vars(case).values())
    for name in fixture_errors:
        if re.search(r"\{\{FIXTURES\}\}/%s\b" % re.escape(name), text):
            return name
    return None


def main():
    ap = argparse.ArgumentParser(description="sonde runtime tests (TAP)")
    ap.add_argument("--filter", help="run only cases whose name matches this regex")
    ap.add_argument("--compat", action="store_true",
                    help="skip SONDE_ONLY cases (validating against bpftrace 0.17)")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()

    sonde = os.environ.get("SONDE")
    if not sonde:
        builddir = os.environ.get("top_builddir", os.path.join(HERE, "..", ".."))
        sonde = os.path.join(builddir, "sonde")
    sonde = os.path.abspath(sonde) if os.path.sep in sonde else (shutil.which(sonde) or sonde)
    files = args.files or sorted(glob.glob(os.path.join(HERE, "*.test")))
    cases = []
    for f in files:
        cases.extend(parse_file(f))
    if args.filter:
        cases = [c for c in cases if re.search(args.filter, c.name)]

    print("1..%d" % len(cases), flush=True)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="sonde-runtime-") as fixtures:
        fixture_errors = build_fixtures(fixtures)
        for e in fixture_errors.values():
            print("# " + e.replace("\n", "\n# "), flush=True)
        ctx = Context(sonde, fixtures)
        for i, case in enumerate(cases, 1):
            if case.sonde_only and args.compat:
                print("ok %d - %s # SKIP sonde-only case (--compat)" % (i, case.name), flush=True)
                continue
            if not os.path.exists(sonde):
                print("ok %d - %s # SKIP tracer %s not built" % (i, case.name, sonde), flush=True)
                continue
            broken = broken_fixture(case, fixture_errors)
            if broken:
                status, diags = "fail", ["fixture %s did not build (see above)" % broken]
            else:
                status, diags = run_case(ctx, case)
            if status == "ok":
                print("ok %d - %s" % (i, case.name), flush=True)
            elif isinstance(status, tuple):
                print("ok %d - %s # SKIP %s" % (i, case.name, status[1]), flush=True)
            else:
                failed += 1
                print("not ok %d - %s" % (i, case.name))
                print("# case at " + case.where)
                for d in diags:
                    print("# " + d)
                sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
