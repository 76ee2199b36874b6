#!/usr/bin/env python3
# tests/parser/run.py: diagnostic-text tier.  Runs each case of tests/parser/*.test through
# `$SONDE -e PROG` and compares stderr, byte for byte, with the located diagnostic bpftrace 0.17
# prints for the same program (`stdin:L:C-C: ERROR: ...`, the source line, the `~` marker).
# These programs are all rejected before anything is loaded, so no root is needed.  TAP output.
#
# Case format (blank line between cases, '#' comment lines):
#   NAME name
#   PROG program text (one line)
#   ARGS extra arguments after the program (shell words), optional
#   EXPECT_STDERR_EXACT line     repeated: the whole stderr (trailing newlines ignored)
#   EXPECT_EXIT n                default 1
# Lines of stderr that are bpftrace's harmless RLIMIT_MEMLOCK warning are dropped before comparing.
import argparse
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NOISE = re.compile(r"couldn't set RLIMIT_MEMLOCK")


class Case:
    def __init__(self, name, where):
        self.name = name
        self.where = where
        self.prog = None
        self.args = []
        self.stderr = None
        self.exit = 1


def parse_file(path):
    cases, cur = [], None
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            where = "%s:%d" % (os.path.basename(path), lineno)
            if line.strip() == "":
                cur = None
                continue
            if line.startswith("#"):
                continue
            key, _, value = line.partition(" ")
            if key == "NAME":
                cur = Case(value.strip(), where)
                cases.append(cur)
                continue
            if cur is None:
                raise SystemExit("%s: %s outside a case" % (where, key))
            if key == "PROG":
                cur.prog = value
            elif key == "ARGS":
                cur.args = shlex.split(value)
            elif key == "EXPECT_STDERR_EXACT":
                cur.stderr = value if cur.stderr is None else cur.stderr + "\n" + value
            elif key == "EXPECT_EXIT":
                cur.exit = int(value)
            else:
                raise SystemExit("%s: unknown directive %r" % (where, key))
    for c in cases:
        if c.prog is None or c.stderr is None:
            raise SystemExit("%s: case %r needs PROG and EXPECT_STDERR_EXACT" % (c.where, c.name))
    return cases


def main():
    ap = argparse.ArgumentParser(description="sonde diagnostic tests (TAP)")
    ap.add_argument("--filter")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    sonde = os.environ.get("SONDE") or os.path.join(
        os.environ.get("top_builddir", os.path.join(HERE, "..", "..")), "sonde")
    if os.path.sep not in sonde:
        sonde = shutil.which(sonde) or sonde
    cases = []
    for f in args.files or sorted(glob.glob(os.path.join(HERE, "*.test"))):
        cases.extend(parse_file(f))
    if args.filter:
        cases = [c for c in cases if re.search(args.filter, c.name)]
    print("1..%d" % len(cases), flush=True)
    failed = 0
    for i, c in enumerate(cases, 1):
        if not os.path.exists(sonde):
            print("ok %d - %s # SKIP tracer %s not built" % (i, c.name, sonde), flush=True)
            continue
        argv = [sonde, "-e", c.prog] + c.args
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=10, start_new_session=True)
            rc, out = p.returncode, p.stdout.decode("utf-8", "replace")
            err = p.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            rc, out, err = None, "", "(timed out after 10s)"
        err = "\n".join(l for l in err.split("\n") if not NOISE.search(l)).rstrip("\n")
        problems = []
        if err != c.stderr.rstrip("\n"):
            problems.append("stderr differs")
        if rc != c.exit:
            problems.append("exit status %s, expected %d" % (rc, c.exit))
        if not problems:
            print("ok %d - %s" % (i, c.name), flush=True)
            continue
        failed += 1
        print("not ok %d - %s" % (i, c.name))
        print("# case at " + c.where)
        print("# command: " + " ".join(shlex.quote(a) for a in argv))
        for pr in problems:
            print("# " + pr)
        for l in c.stderr.split("\n"):
            print("#   expected| " + l)
        for l in err.split("\n"):
            print("#     actual| " + l)
        for l in out.rstrip("\n").split("\n") if out else []:
            print("#     stdout| " + l)
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
