#!/bin/sh
# bench/soak.sh - a long trace of mixed probes against a busy server, with sonde's resident memory
# and open file descriptors sampled every second: both must be flat at the end.
#
#   bench/soak.sh [SECONDS] [SONDE]        (root; default 600 s, ./sonde)
#
# What runs, all at once, for SECONDS:
#   - Debian's haproxy answering HTTP itself (no backend), driven by a client that opens a new
#     connection per request (accept4, setsockopt, recvfrom, sendto on every request);
#   - one sonde script with wildcard uprobes on haproxy (http_*), uprobes and a uretprobe on libc,
#     syscall tracepoints with a latency histogram keyed by thread, DWARF and frame-pointer user
#     stacks as map keys, profile:hz:99, a printf per accepted connection (into -o FILE), and an
#     interval that prints and clears maps every second.
# Writes bench/soak.csv-style samples to $OUT (default /tmp/sonde-soak.csv: second,rss_kib,fds)
# and prints a summary: RSS and fds over the first and the last minute, events printed, lost
# events, and FLAT or GROWING.  "Flat" means the last minute's peak RSS is within 5% (or 2 MiB)
# of the second minute's peak and the fd count ends where it settled.
set -u
secs=${1:-600}
SONDE=${2:-$(cd "$(dirname "$0")/.." && pwd)/sonde}
OUT=${OUT:-/tmp/sonde-soak.csv}
haproxy=$(command -v haproxy || ls /usr/sbin/haproxy 2>/dev/null || true)
[ "$(id -u)" = 0 ] || { echo "soak.sh: needs root" >&2; exit 1; }
[ -n "$haproxy" ] || { echo "soak.sh: haproxy is not installed (apt-get install haproxy)" >&2; exit 1; }
[ -x "$SONDE" ] || { echo "soak.sh: $SONDE is not built" >&2; exit 1; }

tmp=${SOAK_TMP:-$(mktemp -d)}; mkdir -p "$tmp"
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	sleep 1
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$tmp/haproxy.cfg" <<CFG
global
	maxconn 256
	nbthread 2
defaults
	mode http
	timeout connect 2s
	timeout client 5s
	timeout server 5s
frontend fe
	bind 127.0.0.1:$port
	http-request return status 200 content-type text/plain string ok
CFG
"$haproxy" -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.out" 2>&1 &
hpid=$!
pids="$pids $hpid"
sleep 0.5
kill -0 "$hpid" 2>/dev/null || { echo "soak.sh: haproxy did not start:" >&2; cat "$tmp/haproxy.out" >&2; exit 1; }

cat >"$tmp/soak.bt" <<'BT'
uprobe:/usr/sbin/haproxy:http_* { @fn[probe] = count(); }
uprobe:libc:accept4 { @acc[ustack(dwarf)] = count(); }
uretprobe:libc:accept4 /(int64)retval >= 0/ { printf("accept %d fd=%d\n", tid, retval); }
tracepoint:syscalls:sys_enter_setsockopt /comm == "haproxy"/ { @opt[args.level, args.optname] = count(); @st[ustack] = count(); }
tracepoint:syscalls:sys_enter_recvfrom { @start[tid] = nsecs; }
tracepoint:syscalls:sys_exit_recvfrom /@start[tid]/ { @lat = hist(nsecs - @start[tid]); delete(@start[tid]); }
tracepoint:raw_syscalls:sys_enter { @sys[comm] = count(); }
profile:hz:99 { @prof[ustack, comm] = count(); }
interval:s:1 {
	print(@opt); print(@fn, 5); print(@acc, 2); print(@prof, 3); print(@lat);
	clear(@fn); clear(@acc); clear(@prof); clear(@sys); clear(@st);
}
BT

# the client: a new connection per request, as fast as one core allows
cat >"$tmp/client.py" <<'PY'
import socket, sys, time
port, end = int(sys.argv[1]), time.time() + float(sys.argv[2])
req = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
n = 0
while time.time() < end:
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(req)
        while s.recv(4096):
            pass
        s.close()
        n += 1
    except OSError:
        time.sleep(0.01)
print(n)
PY

"$SONDE" -o "$tmp/trace.out" "$tmp/soak.bt" >"$tmp/sonde.stdout" 2>"$tmp/sonde.err" &
spid=$!
pids="$pids $spid"
i=0
while [ $i -lt 100 ] && ! grep -q '^Attaching' "$tmp/trace.out" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
grep -q '^Attaching' "$tmp/trace.out" 2>/dev/null ||
	{ echo "soak.sh: sonde did not attach:" >&2; cat "$tmp/sonde.err" "$tmp/trace.out" >&2; exit 1; }

python3 "$tmp/client.py" "$port" "$secs" >"$tmp/client.out" 2>&1 &
cpid=$!
pids="$pids $cpid"

echo "second,rss_kib,fds" >"$OUT"
t=0
while [ $t -lt "$secs" ] && kill -0 "$spid" 2>/dev/null; do
	sleep 1
	t=$((t + 1))
	rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$spid/status 2>/dev/null)
	fds=$(ls /proc/$spid/fd 2>/dev/null | wc -l)
	echo "$t,${rss:-0},$fds" >>"$OUT"
done
alive=yes
kill -0 "$spid" 2>/dev/null || alive=no
kill -INT "$spid" 2>/dev/null
i=0
while [ $i -lt 50 ] && kill -0 "$spid" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
stopped=yes
kill -0 "$spid" 2>/dev/null && stopped=no
wait "$cpid" 2>/dev/null

requests=$(cat "$tmp/client.out" 2>/dev/null)
accepts=$(grep -c '^accept ' "$tmp/trace.out")
lost=$(grep -ho 'lost [0-9]* events\?' "$tmp/trace.out" "$tmp/sonde.err" | awk '{s+=$2} END {print s+0}')
errors=$(grep -c '^ERROR' "$tmp/sonde.err")
python3 - "$OUT" "$secs" "$requests" "$accepts" "$lost" "$alive" "$stopped" "$errors" <<'PY'
import csv, sys
path, secs, requests, accepts, lost, alive, stopped, errors = sys.argv[1:]
rows = [(int(r["second"]), int(r["rss_kib"]), int(r["fds"])) for r in csv.DictReader(open(path))]
if len(rows) < 120:
    print(f"soak: only {len(rows)} samples (sonde alive: {alive}); need at least 120"); sys.exit(1)
settled = [r for r in rows if 60 < r[0] <= 120]     # the second minute: caches warm
last = rows[-60:]
pk = lambda rs: max(r[1] for r in rs) / 1024
fds = lambda rs: sorted(set(r[2] for r in rs))
grow = pk(last) - pk(settled)
flat_rss = grow <= max(2.0, 0.05 * pk(settled))
flat_fds = max(r[2] for r in last) <= max(r[2] for r in settled)
print(f"soak: {len(rows)} s, {requests} requests, {accepts} accept lines printed, {lost} events lost, "
      f"{errors} ERROR lines, ran to the end: {alive}, stopped on SIGINT within 5 s: {stopped}")
print(f"rss MiB: first {rows[0][1]/1024:.1f}, peak 2nd minute {pk(settled):.1f}, peak last minute {pk(last):.1f} "
      f"(+{grow:.1f}) -> {'FLAT' if flat_rss else 'GROWING'}")
print(f"open fds: 2nd minute {fds(settled)}, last minute {fds(last)} -> {'FLAT' if flat_fds else 'GROWING'}")
ok = flat_rss and flat_fds and alive == "yes" and stopped == "yes" and errors == "0"
sys.exit(0 if ok else 1)
PY
