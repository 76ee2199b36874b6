#!/usr/bin/env python3
"""tests/errors/run.py - TAP runner for the bad-script corpus (tests/errors/*.cases).

Every case is a script (or command line) sonde must reject before loading anything: exit status
1, a first stderr line in the located form `stdin:L:C-C: ERROR: ` (or `ERROR: ` for unlocated
environment problems), a message naming the problem (the case's regex), no crash (signal,
AddressSanitizer, UBSan, assertion), within 5 seconds.  When run as root the cases run with
CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN dropped from the bounding set (setpriv), so a script that
wrongly gets as far as loading fails the case instead of touching the kernel.

Case file format (one or more cases per file, blank lines and '#' comments between cases):

    === name                      starts a case; names are unique across the corpus
    prog: BEGIN { x }             the program, one line, passed with -e (the default input)
    prog<<                        or a multi-line program, up to a line holding only '>>'
    ...
    >>
    hex: 42 45 47 ...             or the program as bytes (for NUL and non-UTF-8 input)
    gen: "(" * 9 + "1" + ")" * 9  or a Python expression (literals and operators only) giving
                                  the program, for pathological sizes; implies stdin input
    input: e | stdin | file       how the program reaches sonde: -e PROG, `sonde -` with the
                                  program on stdin, or a file path (default e; hex implies stdin)
    args: -p 999999               extra options before the program (shell words)
    argv: {dir}                   the whole argument list instead (shell words; {dir} is an
                                  empty directory, {missing} a path that does not exist,
                                  {empty} an empty file)
    env: BPFTRACE_STRLEN=5000     environment additions (shell words, K=V)
    expect: regex                 searched (re.M) in stderr's ERROR lines; required
    loc: located | unlocated      form of the first stderr line (default located)
    exit: 1                       expected exit status (default 1)

Usage: SONDE=/path/to/sonde tests/errors/run.py [-v] [--show] [CASEFILE...]
  --show   print each case's stderr (to write or review expectations)
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

TIMEOUT = 5
CRASH_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "Assertion", "Segmentation fault",
               "core dumped", "UndefinedBehaviorSanitizer")
DROP_CAPS = ["setpriv", "--bounding-set=-bpf,-perfmon,-sys_admin", "--inh-caps=-bpf,-perfmon,-sys_admin"]


class Case:
    def __init__(self, name, where):
        self.name = name
        self.where = where
        self.prog = None
        self.data = None
        self.input = None
        self.args = []
        self.argv = None
        self.env = {}
        self.expect = None
        self.loc = "located"
        self.exit = 1


def parse_file(path):
    cases = []
    cur = None
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        where = "%s:%d" % (os.path.basename(path), i + 1)
        i += 1
        if cur is None and (not line.strip() or line.startswith("#")):
            continue
        if line.startswith("=== "):
            cur = Case(line[4:].strip(), where)
            cases.append(cur)
            continue
        if not line.strip() or line.startswith("#"):
            continue
        if cur is None:
            raise SystemExit("%s: text outside a case" % where)
        if line.rstrip() == "prog<<":
            body = []
            while i < len(lines) and lines[i] != ">>":
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                raise SystemExit("%s: prog<< without >>" % where)
            i += 1
            cur.prog = "\n".join(body) + "\n"
            continue
        key, sep, val = line.partition(":")
        if not sep:
            raise SystemExit("%s: expected 'key: value', got %r" % (where, line))
        key = key.strip()
        val = val[1:] if val.startswith(" ") else val
        if key == "prog":
            cur.prog = val
        elif key == "hex":
            cur.data = bytes.fromhex(val)
        elif key == "gen":
            cur.data = str(eval(val, {"__builtins__": {}}, {})).encode()
        elif key == "input":
            cur.input = val.strip()
        elif key == "args":
            cur.args = shlex.split(val)
        elif key == "argv":
            cur.argv = shlex.split(val)
        elif key == "env":
            for kv in shlex.split(val):
                k, _, v = kv.partition("=")
                cur.env[k] = v
        elif key == "expect":
            cur.expect = re.compile(val, re.M)
        elif key == "loc":
            if val.strip() not in ("located", "unlocated"):
                raise SystemExit("%s: loc is located or unlocated" % where)
            cur.loc = val.strip()
        elif key == "exit":
            cur.exit = int(val)
        else:
            raise SystemExit("%s: unknown key %r" % (where, key))
    for c in cases:
        if c.expect is None:
            raise SystemExit("%s: case %s has no expect" % (c.where, c.name))
        if c.prog is None and c.data is None and c.argv is None:
            raise SystemExit("%s: case %s has no program" % (c.where, c.name))
    return cases


def command(case, sonde, tmp):
    """argv, stdin bytes and the display name sonde will use for the script."""
    subst = {"{dir}": os.path.join(tmp, "adir"), "{missing}": os.path.join(tmp, "no-such-script.bt"),
             "{empty}": os.path.join(tmp, "empty.bt")}
    if case.argv is not None:
        argv = [subst.get(a, a) for a in case.argv]
        return [sonde] + argv, None, "stdin"
    data = case.data if case.data is not None else case.prog.encode()
    how = case.input or ("stdin" if case.data is not None else "e")
    if how == "e":
        if b"\0" in data:
            raise SystemExit("case %s: a NUL byte cannot go through -e" % case.name)
        return [sonde] + case.args + ["-e", os.fsdecode(data)], None, "stdin"
    if how == "stdin":
        return [sonde] + case.args + ["-"], data, "stdin"
    if how == "file":
        path = os.path.join(tmp, "script.bt")
        with open(path, "wb") as f:
            f.write(data)
        return [sonde] + case.args + [path], None, path
    raise SystemExit("case %s: unknown input %r" % (case.name, how))


def run_case(case, sonde, tmp, drop, show):
    argv, stdin, name = command(case, sonde, tmp)
    env = dict(os.environ)
    env.update(case.env)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    full = (DROP_CAPS + ["--"] if drop else []) + argv
    try:
        p = subprocess.run(full, input=stdin if stdin is not None else b"", stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=TIMEOUT, cwd=tmp)
    except subprocess.TimeoutExpired as e:
        return ["timed out after %d s (hang)" % TIMEOUT], (e.stderr or b"").decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    out = p.stdout.decode("utf-8", "replace")
    problems = []
    if p.returncode < 0:
        problems.append("killed by signal %d" % -p.returncode)
    elif p.returncode != case.exit:
        problems.append("exit status %d, expected %d" % (p.returncode, case.exit))
    for mark in CRASH_MARKS:
        if mark in err:
            problems.append("stderr contains %r" % mark)
    if "Attaching" in out:
        problems.append("got as far as attaching")
    first = err.split("\n", 1)[0]
    if case.loc == "located":
        form = r"^%s:\d+:\d+-\d+: ERROR: \S" % re.escape(name)
    else:
        form = r"^ERROR: \S"
    if not re.match(form, first):
        problems.append("first stderr line %r is not of the form %s" % (first[:160], form))
    # the message lines only: the echoed source line could otherwise satisfy the regex
    messages = "\n".join(l for l in err.split("\n") if "ERROR:" in l)
    if not case.expect.search(messages):
        problems.append("no ERROR line matches /%s/" % case.expect.pattern)
    if show:
        print("# ---- %s (exit %s)" % (case.name, p.returncode))
        for line in err.rstrip("\n").split("\n")[:6]:
            print("#   " + line)
    return problems, err


def main():
    args = sys.argv[1:]
    verbose = "-v" in args
    show = "--show" in args
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
        for c in cases:
            print("ok - %s # SKIP sonde binary not found (set SONDE)" % c.name)
        return 0
    sonde = os.path.abspath(sonde)
    drop = os.geteuid() == 0 and shutil.which("setpriv") is not None
    if os.geteuid() == 0 and not drop:
        print("# setpriv not found: running with full privileges")
    failed = 0
    with tempfile.TemporaryDirectory(prefix="sonde-errors-") as tmp:
        os.mkdir(os.path.join(tmp, "adir"))
        open(os.path.join(tmp, "empty.bt"), "w").close()
        for n, c in enumerate(cases, 1):
            problems, err = run_case(c, sonde, tmp, drop, show)
            if problems:
                failed += 1
                print("not ok %d - %s" % (n, c.name))
                print("#   %s" % c.where)
                for pr in problems:
                    print("#   " + pr)
                for line in err.rstrip("\n").split("\n")[:8]:
                    print("#   | " + line)
            else:
                print("ok %d - %s" % (n, c.name))
                if verbose:
                    print("#   " + err.split("\n", 1)[0])
    if failed:
        print("# %d of %d cases failed" % (failed, len(cases)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
