#!/usr/bin/env python3
"""tests/compile/run.py - TAP runner for valid programs that must compile (tests/compile/*.cases).

The unprivileged tier for programs that compile: each case is a program sonde must accept and
compile to BPF, dumped with `-d asm` (or `-d ir`) and never loaded.  Its dump is checked for
what the program must have become: the program's section (its BPF program type), the helper
calls its builtins make, its maps.  Exit status 0, nothing on stderr but warnings, no crash.

Privileges: the cases run as an unprivileged user (nobody, through setpriv, when this runs as
root), which proves that compiling needs no privilege.  A case marked `needs: root` reads kernel
information only root may read (tracefs formats, kernel symbols); it runs as root with
CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN dropped (nothing could be loaded), and is skipped with
that reason when this does not run as root.

Case file format (blank lines and '#' comments between cases):

    === name            starts a case; names are unique across the corpus
    prog: BEGIN { }     the program, one line, passed with -e
    prog<<              or a multi-line program, up to a line holding only '>>'
    ...
    >>
    args: --unsafe      extra options (shell words)
    stage: asm          the dump: asm (default) or ir
    needs: root         see above
    expect: regex       searched (re.M) in the dump; one or more, all required
    reject: regex       must not occur in the dump

Helper calls appear in the asm as `call N`, N the UAPI helper number (enum bpf_func_id).

Usage: SONDE=/path/to/sonde tests/compile/run.py [-v] [CASEFILE...]
"""
import os
import re
import shlex
import shutil
import subprocess
import sys

TIMEOUT = 60
CRASH_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "Assertion", "Segmentation fault",
               "core dumped", "UndefinedBehaviorSanitizer", "LLVM ERROR")
UNPRIV = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
DROP_CAPS = ["setpriv", "--bounding-set=-bpf,-perfmon,-sys_admin", "--inh-caps=-bpf,-perfmon,-sys_admin"]


class Case:
    def __init__(self, name, where):
        self.name = name
        self.where = where
        self.prog = None
        self.args = []
        self.stage = "asm"
        self.root = False
        self.expect = []
        self.reject = []


def parse_file(path):
    cases = []
    c = None
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        where = "%s:%d" % (os.path.basename(path), i + 1)
        i += 1
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("=== "):
            c = Case(line[4:].strip(), where)
            cases.append(c)
            continue
        if c is None:
            raise SystemExit("%s: a line before the first case" % where)
        if line.strip() == "prog<<":
            body = []
            while i < len(lines) and lines[i] != ">>":
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise SystemExit("%s: prog<< without >>" % where)
            i += 1
            c.prog = "\n".join(body)
            continue
        key, sep, val = line.partition(": ")
        if not sep:
            raise SystemExit("%s: expected 'key: value': %s" % (where, line))
        if key == "prog":
            c.prog = val
        elif key == "args":
            c.args = shlex.split(val)
        elif key == "stage":
            if val not in ("asm", "ir"):
                raise SystemExit("%s: stage is asm or ir" % where)
            c.stage = val
        elif key == "needs":
            if val != "root":
                raise SystemExit("%s: needs: root is the only requirement" % where)
            c.root = True
        elif key == "expect":
            c.expect.append(re.compile(val, re.M))
        elif key == "reject":
            c.reject.append(re.compile(val, re.M))
        else:
            raise SystemExit("%s: unknown key %s" % (where, key))
    for c in cases:
        if c.prog is None or not c.expect:
            raise SystemExit("%s: case %s needs prog and at least one expect" % (c.where, c.name))
    return cases


def run_case(c, sonde, wrap):
    cmd = wrap + [sonde] + c.args + ["-d", c.stage, "-e", c.prog]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return ["no dump within %d s" % TIMEOUT], ""
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    problems = []
    if p.returncode != 0:
        problems.append("exit status %d, expected 0" % p.returncode)
    for mark in CRASH_MARKS:
        if mark in err:
            problems.append("crash: %s" % mark)
    for line in err.split("\n"):
        if line and "WARNING" not in line and not line.startswith(" ") and not line.startswith("~"):
            problems.append("stderr: %s" % line)
            break
    for rx in c.expect:
        if not rx.search(out):
            problems.append("dump lacks /%s/" % rx.pattern)
    for rx in c.reject:
        m = rx.search(out)
        if m:
            problems.append("dump has /%s/: %s" % (rx.pattern, m.group(0)))
    return problems, err


def main():
    args = sys.argv[1:]
    verbose = "-v" in args
    files = [a for a in args if not a.startswith("-")]
    here = os.path.dirname(os.path.abspath(__file__))
    if not files:
        files = sorted(os.path.join(here, f) for f in os.listdir(here) if f.endswith(".cases"))
    sonde = os.environ.get("SONDE")
    if not sonde and os.environ.get("top_builddir"):
        sonde = os.path.join(os.environ["top_builddir"], "sonde")
    cases = []
    for f in files:
        cases += parse_file(f)
    names = set()
    for c in cases:
        if c.name in names:
            raise SystemExit("duplicate case name %s" % c.name)
        names.add(c.name)
    print("1..%d" % len(cases))
    if not sonde or not os.access(sonde, os.X_OK):
        # the binary is what make check builds first: without it every case fails
        for n, c in enumerate(cases, 1):
            print("not ok %d - %s" % (n, c.name))
            print("#   sonde binary not found (set SONDE)")
        return 1
    sonde = os.path.abspath(sonde)
    root = os.geteuid() == 0
    if root and not shutil.which("setpriv"):
        raise SystemExit("setpriv (util-linux) is needed to run the cases unprivileged")
    failed = 0
    for n, c in enumerate(cases, 1):
        if c.root and not root:
            print("ok %d - %s # SKIP needs root: reads tracefs or kernel symbols" % (n, c.name))
            continue
        wrap = DROP_CAPS if c.root else (UNPRIV if root else [])
        problems, err = run_case(c, sonde, wrap)
        if problems:
            failed += 1
            print("not ok %d - %s" % (n, c.name))
            print("#   %s" % c.where)
            for pr in problems:
                print("#   " + pr)
            for line in err.rstrip("\n").split("\n")[:8]:
                if line:
                    print("#   | " + line)
        else:
            print("ok %d - %s" % (n, c.name))
            if verbose and err:
                print("#   " + err.split("\n", 1)[0])
    if failed:
        print("# %d of %d cases failed" % (failed, len(cases)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
