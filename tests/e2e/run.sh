#!/bin/sh
# tests/e2e/run.sh: end-to-end tier (TAP).  Runs the bundled scripts/trace-envoy-socket.bt with
# $SONDE against real programs over loopback and asserts on the events it prints:
#   1. the bundled server (tests/e2e/server.c), paused until the tracer has attached, so that
#      setsockopt(SO_REUSEADDR) and bind() on 127.0.0.1 and [::1] are seen, then driven by the
#      bundled client over IPv4 and IPv6 from known local ports (accept4 peers, TCP_NODELAY);
#   2. Debian's haproxy, listening on 127.0.0.1 and [::1] only, forwarding to the bundled server.
# Needs root (skips otherwise); the haproxy part skips when haproxy is not installed.
# Environment: SONDE, top_srcdir, top_builddir (set by make check); E2E_SCRIPT overrides the
# traced script (used to validate this test against bpftrace with an include-free copy).
# Every process started here is killed on every exit path (trap).

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-$top_srcdir}
SONDE=${SONDE:-$top_builddir/sonde}
script=${E2E_SCRIPT:-$top_srcdir/scripts/trace-envoy-socket.bt}
NPLAN=19
n=0
failed=0
pids=""
tmp=$(mktemp -d /tmp/sonde-e2e.XXXXXX)

cleanup() {
	for p in $pids; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in $pids; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	shift
	for d in "$@"; do printf '%s\n' "$d" | sed 's/^/# /'; done
}
skip() { n=$((n + 1)); echo "ok $n - $2 # SKIP $1"; }
skip_rest() { while [ "$n" -lt "$NPLAN" ]; do skip "$1" "${2:-not run}"; done; }
# check_after DESCRIPTION FILE ERE1 ERE2: a line matching ERE2 within 8 lines after one matching ERE1
check_after() {
	if grep -E -A8 -- "$3" "$2" | grep -Eq -- "$4"; then
		ok "$1"
	else
		notok "$1" "no line matching $4 follows one matching $3" "trace output:"
		sed 's/^/#   | /' "$2"
	fi
}
# check DESCRIPTION FILE ERE: a line of FILE matches ERE
check() {
	if grep -Eq -- "$3" "$2"; then
		ok "$1"
	else
		notok "$1" "no line of the trace matches: $3" "trace output:"
		sed 's/^/#   | /' "$2"
	fi
}
# wait_for FILE ERE SECONDS
wait_for() {
	i=0
	while [ "$i" -lt $(($3 * 10)) ]; do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
free_port() {
	python3 - <<'PY'
import socket
for _ in range(100):
    s4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s4.bind(("127.0.0.1", 0))
    port = s4.getsockname()[1]
    try:
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s6.bind(("::1", port))
        s6.close()
    except OSError:
        s4.close()
        continue
    s4.close()
    print(port)
    break
PY
}
# stack_has FILE ERE-of-event-line FRAME: some event line matching ERE is followed (before the
# next blank line) by a stack frame line containing FRAME+
stack_has() {
	awk -v ev="$2" -v fr="$3+" '
		$0 ~ ev { inev = 1; next }
		/^$/ { inev = 0 }
		inev && index($0, fr) { found = 1 }
		END { exit found ? 0 : 1 }' "$1"
}
# start_tracer TARGET_PID OUTFILE: runs the script in the background, waits for "Attaching"
start_tracer() {
	"$SONDE" "$script" "$1" >"$2" 2>"$2.err" &
	tracer=$!
	pids="$pids $tracer"
	i=0
	until grep -q '^Attaching' "$2" 2>/dev/null; do
		# give up when the tracer died or after 30s
		if ! kill -0 "$tracer" 2>/dev/null || [ "$i" -ge 300 ]; then
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	sleep 1	# the announcement may precede the attachment itself
	return 0
}
stop_tracer() {
	kill -INT "$tracer" 2>/dev/null
	i=0
	# repeated after 2s and 5s: bpftrace 0.17 can miss a signal that arrives outside epoll_wait
	while kill -0 "$tracer" 2>/dev/null && [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
		if [ "$i" = 20 ] || [ "$i" = 50 ]; then
			kill -INT "$tracer" 2>/dev/null
		fi
	done
	wait "$tracer" 2>/dev/null
}

echo "1..$NPLAN"
if [ "$(id -u)" != 0 ]; then
	skip_rest "not root"
	exit 0
fi
if [ ! -x "$SONDE" ]; then
	skip_rest "tracer $SONDE not built"
	exit 0
fi
if ! command -v python3 >/dev/null; then
	skip_rest "python3 missing (needed to pick free ports)"
	exit 0
fi

# The bundled programs: from the build tree, else compiled here.
server=$top_builddir/tests/e2e/sonde-test-server
client=$top_builddir/tests/e2e/sonde-test-client
if [ ! -x "$server" ] || [ ! -x "$client" ]; then
	server=$tmp/sonde-test-server
	client=$tmp/sonde-test-client
	if ! ${CC:-cc} -g -O0 -fno-omit-frame-pointer -o "$server" "$here/server.c" ||
	   ! ${CC:-cc} -g -O2 -o "$client" "$here/client.c"; then
		# a fixture that does not build is a failure, not a reason to skip
		while [ "$n" -lt "$NPLAN" ]; do notok "not run" "cannot build the bundled server/client"; done
		exit 1
	fi
fi

# ---- 1. bundled server ----------------------------------------------------------------------
port=$(free_port)
lp4=$(free_port)
lp6=$(free_port)
"$server" -w "$port" 4 30 >"$tmp/server.out" 2>&1 &
spid=$!
pids="$pids $spid"
wait_for "$tmp/server.out" '^pid ' 5
out=$tmp/trace-server.out
if ! start_tracer "$spid" "$out"; then
	notok "tracer attaches to the bundled server" "tracer output:" "$(cat "$out" "$out.err")"
	skip_rest "tracer did not attach"
	exit 1
fi
ok "tracer attaches to the bundled server"
kill -USR1 "$spid"
if wait_for "$tmp/server.out" '^ready ' 10 &&
   "$client" 127.0.0.1 "$port" 1 "$lp4" >"$tmp/client4.out" 2>&1 &&
   "$client" 127.0.0.1 "$port" 1 >>"$tmp/client4.out" 2>&1 &&
   "$client" ::1 "$port" 1 "$lp6" >"$tmp/client6.out" 2>&1 &&
   "$client" ::1 "$port" 1 >>"$tmp/client6.out" 2>&1; then
	ok "client connects to the server over IPv4 and IPv6"
else
	notok "client connects to the server over IPv4 and IPv6" "$(cat "$tmp/server.out" "$tmp"/client*.out 2>/dev/null)"
fi
wait "$spid" 2>/dev/null
sleep 0.5
stop_tracer

srv_re='comm:sonde-test-serv *: '
check "setsockopt SO_REUSEADDR (optname=2) traced" "$out" \
	"^${srv_re}setsockopt: fd=[0-9]+, optname=2, optval=1, optlen=4\. stack: $"
if stack_has "$out" 'optname=2, optval=1' setup_listener; then
	ok "setsockopt stack shows setup_listener from the server binary"
else
	notok "setsockopt stack shows setup_listener from the server binary" "trace output:"
	sed 's/^/#   | /' "$out"
fi
check "bind AF_INET 127.0.0.1 with the port" "$out" \
	"^${srv_re}bind AF_INET: ip:127\.0\.0\.1 +port:$port +fd=[0-9]+ $"
check "bind AF_INET6 ::1 with the port" "$out" \
	"^${srv_re}bind AF_INET6:::1 +$port +$"
check "accept4 IPv4 peer 127.0.0.1 and client port" "$out" \
	"^accept4: pid:$spid +comm:sonde-test-serv +family:2 +peerIP:127\.0\.0\.1 +peerPort:$lp4 +fd:[0-9]+$"
check "accept4 IPv6 peer ::1 and client port" "$out" \
	"^accept4: pid:$spid +comm:sonde-test-serv +family:10 +::1 +$lp6 +[0-9]+$"
if awk '/^accept4: /{ a = 1 } a && /setsockopt: fd=[0-9]+, optname=1, optval=1, optlen=4/ { f = 1 }
	END { exit f ? 0 : 1 }' "$out"; then
	ok "setsockopt TCP_NODELAY (optname=1) after accept4"
else
	notok "setsockopt TCP_NODELAY (optname=1) after accept4" "trace output:"
	sed 's/^/#   | /' "$out"
fi
if stack_has "$out" 'optname=1, optval=1' serve_one; then
	ok "TCP_NODELAY stack shows serve_one"
else
	notok "TCP_NODELAY stack shows serve_one" "trace output:"
	sed 's/^/#   | /' "$out"
fi

# ---- 2. haproxy ------------------------------------------------------------------------------
haproxy=$(command -v haproxy || ls /usr/sbin/haproxy 2>/dev/null)
if [ -z "$haproxy" ]; then
	skip_rest "haproxy not installed" "haproxy"
	exit $((failed > 0))
fi
hport=$(free_port)
bport=$(free_port)
hlp4=$(free_port)
hlp6=$(free_port)
cat >"$tmp/haproxy.cfg" <<CFG
global
	maxconn 64
	nbthread 2
defaults
	mode tcp
	timeout connect 2s
	timeout client 5s
	timeout server 5s
frontend fe
	bind 127.0.0.1:$hport
	bind [::1]:$hport v6only
	default_backend be
backend be
	server s1 127.0.0.1:$bport
CFG
"$server" "$bport" 4 30 >"$tmp/backend.out" 2>&1 &
pids="$pids $!"
# haproxy starts only when the fifo is written: the shell execs it, so its pid is known now.
mkfifo "$tmp/go"
sh -c 'read x < "$1"; exec "$2" -db -f "$3"' sh "$tmp/go" "$haproxy" "$tmp/haproxy.cfg" \
	>"$tmp/haproxy.out" 2>&1 &
hpid=$!
pids="$pids $hpid"
out=$tmp/trace-haproxy.out
# haproxy is built without frame pointers: whole stacks come from its .eh_frame
export SONDE_USTACK=dwarf
if ! start_tracer "$hpid" "$out"; then
	notok "tracer attaches to haproxy" "tracer output:" "$(cat "$out" "$out.err")"
	skip_rest "tracer did not attach" "haproxy"
	exit 1
fi
ok "tracer attaches to haproxy"
echo go >"$tmp/go"
i=0
until "$client" 127.0.0.1 "$hport" 1 >/dev/null 2>&1 || [ "$i" -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
if "$client" 127.0.0.1 "$hport" 1 "$hlp4" >"$tmp/hclient4.out" 2>&1 &&
   "$client" ::1 "$hport" 1 "$hlp6" >"$tmp/hclient6.out" 2>&1; then
	ok "client reaches the backend through haproxy over IPv4 and IPv6"
else
	notok "client reaches the backend through haproxy over IPv4 and IPv6" \
		"$(cat "$tmp/haproxy.out" "$tmp"/hclient*.out 2>/dev/null)"
fi
sleep 0.5
stop_tracer
kill -TERM "$hpid" 2>/dev/null

unset SONDE_USTACK
hap_re='comm:haproxy *: '
check "haproxy setsockopt SO_REUSEADDR (optname=2)" "$out" \
	"^${hap_re}setsockopt: fd=[0-9]+, optname=2, optval=1, optlen=4\. stack: $"
check "haproxy bind AF_INET 127.0.0.1 with the port" "$out" \
	"^${hap_re}bind AF_INET: ip:127\.0\.0\.1 +port:$hport +fd=[0-9]+ $"
check "haproxy bind AF_INET6 ::1 with the port" "$out" \
	"^${hap_re}bind AF_INET6:::1 +$hport +$"
check "haproxy accept4 IPv4 peer with the client port" "$out" \
	"^accept4: pid:$hpid +comm:haproxy +family:2 +peerIP:127\.0\.0\.1 +peerPort:$hlp4 +fd:[0-9]+$"
check "haproxy accept4 IPv6 peer ::1 with the client port" "$out" \
	"^accept4: pid:$hpid +comm:haproxy +family:10 +::1 +$hlp6 +[0-9]+$"
# with SONDE_USTACK=dwarf the stacks reach past libc into haproxy's own listener code
case $(basename "$SONDE") in
bpftrace*)
	skip "bpftrace has no DWARF stacks" "haproxy SO_REUSEADDR stack reaches haproxy's bind code"
	skip "bpftrace has no DWARF stacks" "haproxy accept4 stack reaches haproxy's listener code"
	;;
*)
	check_after "haproxy SO_REUSEADDR stack reaches haproxy's bind code (DWARF)" "$out" \
		"optname=2, optval=1, optlen=4\. stack: $" "^        (sock_inet_bind_receiver|protocol_bind_all)\+[0-9]+$"
	check_after "haproxy accept4 stack reaches haproxy's listener code (DWARF)" "$out" \
		"^accept4: pid:$hpid .*family:2 " "^        (listener_accept|sock_accept_conn)\+[0-9]+$"
	;;
esac
exit $((failed > 0))
