#!/bin/sh
# bench/stacks-vs-perf.sh - sonde's DWARF user stacks beside `perf record --call-graph dwarf`, on
# the same events of Debian's squid and haproxy (issue #11's first figure).
#
#   bench/stacks-vs-perf.sh [SONDE] [squid|haproxy ...]     (root; linux-perf, squid, haproxy)
#
# Each server is started twice, the same way, once under each tool (not both at once: a BPF
# program on a syscall tracepoint that returns 0, as sonde's and bpftrace's do, drops perf's
# samples of that tracepoint).  For sonde it starts paused (a shell that waits on a fifo, then
# execs the server), so sonde attaches to its pid before the start-up; perf runs it itself.  sonde
# takes tracepoint:syscalls:sys_enter_{setsockopt,bind,accept,accept4} with SONDE_USTACK=dwarf
# (ustack(perf): address, symbol, module); perf records the same tracepoints with
# --call-graph dwarf,32768 and prints them with `perf script --inline`.  A few connections make
# the server accept, then it is stopped.
#
# The events pair up by (thread: the main one or another, tracepoint, order), and each stack is normalised to its
# function sequence on both sides: one entry per frame, the inlined calls first as each tool
# prints them, parameter lists dropped (perf prints none), symbols that are aliases of one
# address in the file's symbol tables (__GI___setsockopt and __setsockopt,
# __libc_start_main_impl and __libc_start_main_alias_2) taken as the same function, and a frame
# no symbol covers as "?" in its file.  Per stack MATCH or DIFF (both sequences shown), then a
# summary line per server.
set -u
SONDE=${1:-$(dirname "$0")/../sonde}
[ $# -gt 0 ] && shift
TARGETS=${*:-squid haproxy}
[ "$(id -u)" = 0 ] || { echo "bench/stacks-vs-perf.sh: needs root (BPF, perf)" >&2; exit 1; }
command -v perf >/dev/null || { echo "bench/stacks-vs-perf.sh: perf missing (apt-get install linux-perf)" >&2; exit 1; }
case $SONDE in /*) ;; *) SONDE=$PWD/$SONDE ;; esac
tmp=$(mktemp -d /tmp/sonde-stacks.XXXXXX)
chmod 755 "$tmp"
pids=""
cleanup() {
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	[ -n "${KEEP:-}" ] && echo "kept $tmp" >&2 || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

EVENTS=syscalls:sys_enter_setsockopt,syscalls:sys_enter_bind,syscalls:sys_enter_accept,syscalls:sys_enter_accept4

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_for FILE ERE TENTHS
wait_for() {
	i=0
	until grep -Eq -- "$2" "$1" 2>/dev/null; do
		[ "$i" -ge "$3" ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}
# connect PORT N: N connections, each sends a request line and closes
connect() {
	python3 - "$1" "$2" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        break
    except OSError:
        time.sleep(0.1)
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(b"GET http://127.0.0.1:1/ HTTP/1.0\r\n\r\n")
    s.settimeout(1)
    try:
        s.recv(4096)
    except OSError:
        pass
    s.close()
PY
}

# trace NAME TOOL: one start of server NAME (conf_NAME PORT writes its config, cmd_NAME prints
# its command line), traced by TOOL (sonde or perf), with a few connections; -> $tmp/NAME.TOOL
trace() {
	name=$1; tool=$2
	port=$(free_port)
	conf_$name "$port"
	if [ "$tool" = perf ]; then
		# perf runs the server itself (through a shell that execs it, perf 6.1 loses the
		# server's mappings now and then and unwinds nothing)
		perf record -q -e "$EVENTS" --call-graph dwarf,32768 -o "$tmp/$name.data" -- \
			$(cmd_$name) >"$tmp/$name.$tool.log" 2>&1 &
		wpid=$!
		pids="$pids $wpid"
		i=0
		until tpid=$(cat /proc/$wpid/task/$wpid/children 2>/dev/null) && [ -n "$tpid" ]; do
			[ "$i" -ge 100 ] && return 1
			sleep 0.1
			i=$((i + 1))
		done
		tpid=${tpid%% *}
	else
		# a shell that writes its pid, waits for the go, and execs the server: sonde attaches
		# to that pid before the server starts
		rm -f "$tmp/go" "$tmp/pid"; mkfifo "$tmp/go"
		sh -c 'echo $$ >"$1.tmp"; mv "$1.tmp" "$1"; read x <"$2"; shift 2; exec "$@"' \
			sh "$tmp/pid" "$tmp/go" $(cmd_$name) >"$tmp/$name.$tool.log" 2>&1 &
		wpid=$!
		pids="$pids $wpid"
		wait_for "$tmp/pid" . 100 || return 1
		tpid=$(cat "$tmp/pid")
	fi
	pids="$pids $tpid"
	if [ "$tool" = sonde ]; then
		SONDE_USTACK=dwarf "$SONDE" -e "tracepoint:syscalls:sys_enter_setsockopt,
			tracepoint:syscalls:sys_enter_bind, tracepoint:syscalls:sys_enter_accept,
			tracepoint:syscalls:sys_enter_accept4 /pid == $tpid/
			{ printf(\"@@ %d %d %s\n%s\n\", pid, tid, probe, ustack(perf)); }" \
			>"$tmp/$name.sonde" 2>&1 &
		spid=$!
		pids="$pids $spid"
		wait_for "$tmp/$name.sonde" '^Attaching' 300 || { cat "$tmp/$name.sonde"; return 1; }
		sleep 1	# the announcement may precede the attachment itself
	fi
	[ "$tool" = sonde ] && echo go >"$tmp/go"
	connect "$port" 3
	sleep 1
	kill -TERM "$tpid"
	i=0
	while kill -0 "$tpid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	wait "$wpid" 2>/dev/null
	if [ "$tool" = sonde ]; then
		kill -INT "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
	else
		perf script -i "$tmp/$name.data" -F pid,tid,event,ip,sym,dso --inline \
			>"$tmp/$name.perf" 2>/dev/null
	fi
}

compare() {
	python3 - "$1" "$tmp/$1.sonde" "$tmp/$1.perf" <<'PY'
import os, re, subprocess, sys
from collections import defaultdict

name, sonde_path, perf_path = sys.argv[1:]
FRAME = re.compile(r'^\t\s*([0-9a-f]+) (.*) \((.*)\)$')

def parse(path, head):
    """[(key, [(addr, name, dso)])] in order; key = (tid, tracepoint)"""
    events, cur = [], None
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        m = head(line)
        if m:
            cur = []
            events.append((m, cur))
            continue
        f = FRAME.match(line)
        if f and cur is not None:
            cur.append(f.groups())
    return events

def sonde_head(line):
    m = re.match(r'^@@ (\d+) (\d+) tracepoint:syscalls:(\w+)$', line)
    return (m.group(1) == m.group(2), m.group(3)) if m else None

def perf_head(line):
    m = re.match(r'^\s*(\d+)/(\d+)\s+syscalls:(\w+):', line)
    return (m.group(1) == m.group(2), m.group(3)) if m else None

def strip_params(n):
    n = re.sub(r'\+\d+$', '', n)
    n = re.sub(r'( const| volatile| &| &&)+$', '', n)
    if n.endswith(')') and not n.endswith('operator()'):
        depth = 0
        for i in range(len(n) - 1, -1, -1):
            depth += {')': 1, '(': -1}.get(n[i], 0)
            if depth == 0:
                return n[:i]
    return n

aliases = {}	# dso -> {name: frozenset(addresses)}
def symtab(dso):
    if dso in aliases:
        return aliases[dso]
    table = defaultdict(set)
    files = [dso]
    bid = subprocess.run(["readelf", "-n", dso], capture_output=True, text=True).stdout
    m = re.search(r'Build ID: ([0-9a-f]+)', bid)
    if m:
        dbg = "/usr/lib/debug/.build-id/%s/%s.debug" % (m.group(1)[:2], m.group(1)[2:])
        if os.path.exists(dbg):
            files.append(dbg)
    for f in files:
        out = subprocess.run(["readelf", "-sW", "-C", f], capture_output=True, text=True).stdout
        for line in out.splitlines():
            p = line.split(None, 7)
            if len(p) == 8 and p[3] in ("FUNC", "IFUNC") and p[1] != "0000000000000000":
                table[strip_params(p[7].split("@")[0])].add(p[1])
    aliases[dso] = {k: frozenset(v) for k, v in table.items()}
    return aliases[dso]

def function(n, dsos):
    """a function's identity: the addresses its name has in its file, else its name"""
    for d in dsos:
        if d.startswith("/") and os.path.exists(d):
            a = symtab(d).get(n)
            if a:
                return "%s@%s" % (os.path.basename(d), ",".join(sorted(a)))
    return n

def sequence(frames, alldsos):
    """one entry per frame (lines of one address): its inlined calls, then the function"""
    groups = []
    for addr, n, dso in frames:
        if groups and groups[-1][0] == addr:
            groups[-1][1].append((n, dso))
        else:
            groups.append((addr, [(n, dso)]))
    seq, shown = [], []
    for addr, lines in groups:
        entry, text = [], []
        for i, (n, dso) in enumerate(lines):
            last = i == len(lines) - 1
            unknown = n in ("[unknown]",) or re.match(r'^0x[0-9a-f]+$', n)
            fn = "?" if unknown else strip_params(n)
            text.append(fn if dso == "inlined" or unknown else "%s" % fn)
            if last:
                where = [dso] if dso != "inlined" else alldsos
                entry.append("?@" + os.path.basename(dso) if unknown else function(fn, where))
            else:
                entry.append(fn + " (inlined)")
        seq.append(tuple(entry))
        shown.append(" / ".join(text))
    return seq, shown

sonde = parse(sonde_path, sonde_head)
perf = parse(perf_path, perf_head)
alldsos = sorted({d for _, fr in sonde + perf for _, _, d in fr if d.startswith("/")})
# per (thread role, tracepoint): a sonde stack MATCHes a perf stack of the same kind with the
# same sequence (each perf stack used once: the threads of two starts need not take the same
# events in the same order); the rest pair up in order and are shown side by side as DIFF
perf_by, sonde_by, order = defaultdict(list), defaultdict(list), []
for k, fr in perf:
    perf_by[k].append(sequence(fr, alldsos))
for k, fr in sonde:
    if k not in sonde_by:
        order.append(k)
    sonde_by[k].append(sequence(fr, alldsos))
def role(k):
    return "main " if k[0] else "other"
match = diff = only_sonde = only_perf = 0
for k in order:
    left = list(perf_by[k])
    unmatched = []
    for i, (seq, text) in enumerate(sonde_by[k]):
        j = next((j for j, (pseq, _) in enumerate(left) if pseq == seq), None)
        if j is None:
            unmatched.append((i, seq, text))
            continue
        left.pop(j)
        match += 1
        print("%s %-20s %s #%d: MATCH (%d frames) %s" % (name, k[1], role(k), i, len(seq),
              " <- ".join(text)))
    for n, (i, seq, text) in enumerate(unmatched):
        if n >= len(left):
            only_sonde += 1
            print("%s %-20s %s #%d: ONLY-SONDE %s" % (name, k[1], role(k), i, " <- ".join(text)))
            continue
        diff += 1
        pseq, ptext = left[n]
        print("%s %-20s %s #%d: DIFF" % (name, k[1], role(k), i))
        for j in range(max(len(seq), len(pseq))):
            a = text[j] if j < len(seq) else "-"
            b = ptext[j] if j < len(pseq) else "-"
            mark = "  " if j < len(seq) and j < len(pseq) and seq[j] == pseq[j] else "!="
            print("    %s sonde: %-50s perf: %s" % (mark, a, b))
    only_perf += max(0, len(left) - len(unmatched))
only_perf += sum(len(v) for k, v in perf_by.items() if k not in sonde_by)
print("%s: %d stacks compared, %d MATCH, %d DIFF; %d events only in perf, %d only in sonde" %
      (name, match + diff, match, diff, only_perf, only_sonde))
PY
}

conf_squid() {
	cat >"$tmp/squid.conf" <<EOF
http_port 127.0.0.1:$1
http_access allow all
cache deny all
cache_mem 8 MB
access_log none
cache_store_log none
cache_log /dev/null
pid_filename none
coredump_dir $tmp
shutdown_lifetime 0 seconds
dns_nameservers 127.0.0.1
EOF
	chmod 644 "$tmp/squid.conf"
}
cmd_squid() { echo "$bin -N -f $tmp/squid.conf"; }
conf_haproxy() {
	cat >"$tmp/haproxy.cfg" <<EOF
global
	maxconn 64
	nbthread 2
defaults
	mode tcp
	timeout connect 1s
	timeout client 2s
	timeout server 2s
frontend fe
	bind 127.0.0.1:$1
	bind [::1]:$1 v6only
	default_backend be
backend be
	server s1 127.0.0.1:1
EOF
}
cmd_haproxy() { echo "$bin -db -f $tmp/haproxy.cfg"; }

for t in $TARGETS; do
	case $t in
	squid|haproxy) ;;
	*) echo "unknown target $t (squid, haproxy)" >&2; continue ;;
	esac
	bin=$(command -v "$t" || echo "/usr/sbin/$t")
	[ -x "$bin" ] || { echo "$t: not installed (apt-get install $t), skipped"; continue; }
	trace "$t" sonde && trace "$t" perf && compare "$t"
done
