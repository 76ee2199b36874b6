#!/bin/sh
# tests/scripts/run.sh - run each bundled script (scripts/*.bt) with sonde
# against activity this test generates itself, and check the events it
# really captured. Speaks TAP.
#
#   make check                       (SONDE and top_srcdir come from automake)
#   SONDE=/path/to/sonde tests/scripts/run.sh      by hand, from the source tree
#   SONDE=bpftrace tests/scripts/run.sh            the same checks under bpftrace
#                                  (trace-envoy-socket.bt's fail there: it
#                                  needs sonde's #include handling)
#
# Fixture programs (tests/scripts/fixtures/*.c) are compiled with gcc into a
# temporary directory. All traffic is on the loopback interface. Needs root
# (BPF); skips every case, with the reason, otherwise.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
if [ -z "${SONDE:-}" ]; then
	if [ -n "${top_builddir:-}" ] && [ -x "$top_builddir/sonde" ]; then
		SONDE=$top_builddir/sonde
	else
		SONDE=$(command -v sonde || echo "$top_srcdir/sonde")
	fi
fi
scripts=$top_srcdir/scripts
fixtures=$top_srcdir/tests/scripts/fixtures

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# check NAME COMMAND...: one TAP line for the command's status.
check() {
	name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
# Every case, in order, so a skipped run reports the same plan.
all_cases="conn-lifecycle.bt runs on an IPv4 server
conn-lifecycle.bt: accept4 with the client's real port
conn-lifecycle.bt: connect to the upstream
conn-lifecycle.bt: close of the accepted connection with its exact byte counts
conn-lifecycle.bt: close of the upstream connection with its exact byte counts
conn-lifecycle.bt: the process exit ends tracing
conn-lifecycle.bt: accept over ::1 with the client's real port
conn-lifecycle.bt: close over ::1 with its exact byte counts
conn-lifecycle.bt: VERBOSE lists each read and send
trace-envoy-socket.bt: setsockopt SO_REUSEADDR with its value
trace-envoy-socket.bt: bind of the loopback address
trace-envoy-socket.bt: accept4 with the client's real port
hookpoints.bt runs
hookpoints.bt: hookpoint_a with its four arguments
hookpoints.bt: hookpoint_a return value
hookpoints.bt: hookpoint_b with its four arguments
hookpoints.bt: hookpoint_b return value
hookpoints.bt: user stack names the caller
hookpoints.bt: functions not named hookpoint* are not traced
opensnoop.bt: the opened path with its fd
opensnoop.bt: a missing path with ENOENT
execsnoop.bt: an exec with its arguments
syscount.bt: a syscall issued N times counted at least N times
killsnoop.bt: a kill() with its signal, target and result"

skip_all() {
	echo "$all_cases" | while IFS= read -r c; do
		n=$((n + 1))
		echo "ok $n - $c # SKIP $1"
	done
	echo "1..$(echo "$all_cases" | wc -l)"
	exit 0
}

[ "$(id -u)" = 0 ] || skip_all "needs root to load BPF programs"
command -v gcc >/dev/null 2>&1 || skip_all "gcc not found (fixtures are compiled at test time)"
command -v timeout >/dev/null 2>&1 || skip_all "timeout(1) not found"
case $SONDE in
*/*) [ -x "$SONDE" ] || skip_all "no sonde binary at $SONDE (set SONDE)" ;;
*) command -v "$SONDE" >/dev/null 2>&1 || skip_all "$SONDE not found (set SONDE)" ;;
esac

tmp=$(mktemp -d /tmp/sonde-scripts.XXXXXX) || exit 99
pids=""
# On every exit path: Ctrl-C each tracer (timeout(1) passes it on to the
# tracer), kill each fixture we started, by pid; release fixture children
# still waiting for their go file, so they exit too.
cleanup() {
	for g in "$tmp"/*.go-pending; do
		[ -e "$g" ] && touch "${g%-pending}"
	done
	for p in $pids; do
		kill -INT "$p" 2>/dev/null
	done
	i=0
	while [ "$i" -lt 20 ]; do
		left=""
		for p in $pids; do
			alive "$p" && left="$left $p"
		done
		[ -z "$left" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	for p in $pids; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
# a fixture that does not build fails every case: a SKIP would hide it
fail_all() {
	echo "$all_cases" | while IFS= read -r c; do
		n=$((n + 1))
		echo "not ok $n - $c"
		echo "# $1"
	done
	echo "1..$(echo "$all_cases" | wc -l)"
	exit 1
}
trap cleanup EXIT
trap 'exit 99' INT TERM HUP

for f in conn_fixture hook_fixture sys_fixture; do
	extra=""
	[ "$f" = hook_fixture ] && extra="-O0 -g -fno-omit-frame-pointer"
	if ! gcc -Wall $extra -o "$tmp/$f" "$fixtures/$f.c" 2>"$tmp/$f.gcc"; then
		cat "$tmp/$f.gcc" | sed 's/^/# /'
		fail_all "cannot compile the fixture $f.c"
	fi
done

# alive PID: the process runs (a child that exited is a zombie until waited).
alive() {
	[ -r "/proc/$1/stat" ] && ! grep -Eq '^[0-9]+ \(.*\) [ZX] ' "/proc/$1/stat" 2>/dev/null
}

# wait_for FILE PATTERN SECONDS [PID]: until FILE has a line matching
# PATTERN; gives up early when process PID is gone.
wait_for() {
	i=0
	while [ "$i" -lt $(($3 * 10)) ]; do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		if [ -n "${4:-}" ] && ! alive "$4"; then
			grep -Eq "$2" "$1" 2>/dev/null
			return
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# start_tracer OUT HEADER SCRIPT ARGS...: run the tracer in the background
# (at most 60 s), and wait until its BEGIN header shows it attached.
start_tracer() {
	out=$1
	header=$2
	shift 2
	timeout -k 5 -s INT 60 "$SONDE" "$@" >"$out" 2>"$out.err" &
	tracer=$!
	pids="$pids $tracer"
	if ! wait_for "$out" "$header" 30 "$tracer"; then
		sed 's/^/# stderr: /' "$out.err" | head -20
		return 1
	fi
	# BEGIN runs once every probe is attached; "Attaching" comes before.
	case $header in
	'^Attaching'*) sleep 2 ;;
	*) sleep 0.3 ;;
	esac
	return 0
}

# stop_tracer: Ctrl-C the tracer (timeout(1) forwards the signal), wait.
stop_tracer() {
	kill -INT "$tracer" 2>/dev/null
	wait "$tracer"
}

# value FILE KEY: the value of a "key value" line a fixture printed.
value() { sed -n "s/^$2 //p" "$1" | head -1; }

dump() { sed 's/^/# /' "$1" | head -40; }

# ---- conn-lifecycle.bt: IPv4 ------------------------------------------------
# conn_case 4|6 SCRIPT HEADER [ARG]: run SCRIPT on conn_fixture's server
# process (PID, then ARG). conn-lifecycle.bt ends by itself when the process
# exits; others get Ctrl-C.
conn_case() {
	fam=$1
	script=$2
	header=$3
	extra=${4:-}
	fx=$tmp/conn$fam-$script.out
	out=$tmp/conn$fam-$script.trace
	go=$tmp/conn$fam-$script.go
	: >"$go-pending"
	"$tmp/conn_fixture" "$fam" "$go" >"$fx" 2>"$fx.err" &
	fixture=$!
	pids="$pids $fixture"
	wait_for "$fx" '^upstream_port ' 10
	server=$(value "$fx" pid)
	started=0
	start_tracer "$out" "$header" "$scripts/$script" "$server" $extra && started=1
	touch "$go"
	wait "$fixture"
	status=1
	if [ "$started" = 1 ]; then
		if [ "$script" != conn-lifecycle.bt ]; then
			sleep 0.5
			kill -INT "$tracer" 2>/dev/null
		fi
		wait "$tracer"
		status=$?
	fi
	if ! grep -q '^client_received 77$' "$fx"; then
		echo "# the fixture did not complete:"
		dump "$fx"
		dump "$fx.err"
	fi
	cport=$(value "$fx" client_port)
	afd=$(value "$fx" accepted_fd)
	uport=$(value "$fx" upstream_port)
	ufd=$(value "$fx" upstream_fd)
	bport=$(value "$fx" bound_port)
	if [ "$fam" = 4 ]; then addr='127\.0\.0\.1'; else addr='::1'; fi
	return 0
}

conn_case 4 conn-lifecycle.bt '^TIME\(ms\) +EVENT'
check "conn-lifecycle.bt runs on an IPv4 server" test "$started" = 1
check "conn-lifecycle.bt: accept4 with the client's real port" \
	grep -Eq "^[0-9]+ +ACCEPT +$afd +peer $addr:$cport \(listening fd [0-9]+\)\$" "$out"
check "conn-lifecycle.bt: connect to the upstream" \
	grep -Eq "^[0-9]+ +CONNECT +$ufd +dest $addr:$uport ret 0\$" "$out"
check "conn-lifecycle.bt: close of the accepted connection with its exact byte counts" \
	grep -Eq "^[0-9]+ +CLOSE +$afd +peer $addr:$cport rx 1241 B \([0-9]+ calls\) tx 77 B \(3 calls\) [0-9]+ ms\$" "$out"
check "conn-lifecycle.bt: close of the upstream connection with its exact byte counts" \
	grep -Eq "^[0-9]+ +CLOSE +$ufd +dest $addr:$uport rx 512 B \([0-9]+ calls\) tx 64 B \(1 calls\) [0-9]+ ms\$" "$out"
check "conn-lifecycle.bt: the process exit ends tracing" \
	sh -c "[ $status = 0 ] && grep -Eq '^[0-9]+ +EXIT +- +process $server exited\$' '$out'"
[ "$(grep -c ' CLOSE ' "$out")" = 2 ] || { echo "# trace:"; dump "$out"; dump "$out.err"; }

conn_case 6 conn-lifecycle.bt '^TIME\(ms\) +EVENT' 1
check "conn-lifecycle.bt: accept over ::1 with the client's real port" \
	grep -Eq "^[0-9]+ +ACCEPT +$afd +peer $addr:$cport \(listening fd [0-9]+\)\$" "$out"
check "conn-lifecycle.bt: close over ::1 with its exact byte counts" \
	grep -Eq "^[0-9]+ +CLOSE +$afd +peer $addr:$cport rx 1241 B \([0-9]+ calls\) tx 77 B \(3 calls\) [0-9]+ ms\$" "$out"
# VERBOSE 1: each call; the server's first read(700) and its sendto(30).
check "conn-lifecycle.bt: VERBOSE lists each read and send" \
	sh -c "grep -Eq '^[0-9]+ +RX +$afd +tracepoint:syscalls:sys_exit_read ret 700\$' '$out' &&
	    grep -Eq '^[0-9]+ +TX +$afd +tracepoint:syscalls:sys_exit_sendto ret 30\$' '$out'"
[ "$(grep -c ' CLOSE ' "$out")" = 2 ] || { echo "# trace:"; dump "$out"; dump "$out.err"; }

# ---- trace-envoy-socket.bt (includes <linux/in.h>: bpftrace 0.17 fails) -----
# It prints nothing before tracing: wait for "Attaching", then a margin.
conn_case 4 trace-envoy-socket.bt '^Attaching [0-9]+ probes'
check "trace-envoy-socket.bt: setsockopt SO_REUSEADDR with its value" \
	grep -Eq "^comm:conn_fixture +: setsockopt: fd=[0-9]+, optname=2, optval=1, optlen=4\. stack: \$" "$out"
check "trace-envoy-socket.bt: bind of the loopback address" \
	grep -Eq "^comm:conn_fixture +: bind AF_INET: ip:127\.0\.0\.1 +port:0 +fd=[0-9]+ \$" "$out"
check "trace-envoy-socket.bt: accept4 with the client's real port" \
	grep -Eq "^accept4: pid:$server +comm:conn_fixture +family:2 +peerIP:127\.0\.0\.1 +peerPort:$cport +fd:$afd\$" "$out"
grep -q "peerPort:$cport " "$out" || { echo "# trace:"; dump "$out"; dump "$out.err"; }

# ---- hookpoints.bt ------------------------------------------------------------
out=$tmp/hook.trace
fx=$tmp/hook.out
started=0
start_tracer "$out" '^TIME\(ms\) +PID' "$scripts/hookpoints.bt" "$tmp/hook_fixture" && started=1
"$tmp/hook_fixture" "$tmp/hook.go" "$tmp/hook.quit" >"$fx" 2>&1 &
fixture=$!
pids="$pids $fixture"
touch "$tmp/hook.go"
wait_for "$fx" '^result ' 10
wait_for "$out" '<- hookpoint_b' 5
[ "$started" = 1 ] && stop_tracer
touch "$tmp/hook.quit"
wait "$fixture"
hpid=$(value "$fx" pid)
check "hookpoints.bt runs" test "$started" = 1
check "hookpoints.bt: hookpoint_a with its four arguments" \
	grep -Eq "^[0-9]+ +$hpid +$hpid +-> hookpoint_a\(arg0=11, arg1=22, arg2=33, arg3=44\)\$" "$out"
check "hookpoints.bt: hookpoint_a return value" \
	grep -Eq "^[0-9]+ +$hpid +$hpid +<- hookpoint_a = 110\$" "$out"
check "hookpoints.bt: hookpoint_b with its four arguments" \
	grep -Eq "^[0-9]+ +$hpid +$hpid +-> hookpoint_b\(arg0=-5, arg1=7, arg2=1000000000000, arg3=3\)\$" "$out"
check "hookpoints.bt: hookpoint_b return value" \
	grep -Eq "^[0-9]+ +$hpid +$hpid +<- hookpoint_b = -35\$" "$out"
# The stack follows the call line: the probed function, then its caller.
check "hookpoints.bt: user stack names the caller" \
	sh -c "grep -A3 -- '-> hookpoint_a(' '$out' | grep -Eq '^        fixture_caller\+[0-9]+\$' &&
	    grep -A2 -- '-> hookpoint_a(' '$out' | grep -Eq '^        hookpoint_a(\+0)?\$'"
check "hookpoints.bt: functions not named hookpoint* are not traced" \
	sh -c "grep -q -- '-> hookpoint_a' '$out' && ! grep -Eq -- '(->|<-) (not_a_hook|fixture_caller|main)' '$out'"
grep -q -- '<- hookpoint_b = -35' "$out" || { echo "# trace:"; dump "$out"; dump "$out.err"; }

# ---- opensnoop.bt --------------------------------------------------------------
out=$tmp/open.trace
target=$tmp/opensnoop-target
missing=$tmp/opensnoop-missing
echo data >"$target"
started=0
start_tracer "$out" '^PID +COMM' "$scripts/opensnoop.bt" && started=1
cat "$target" >/dev/null
cat "$missing" 2>/dev/null
wait_for "$out" " $missing\$" 5
[ "$started" = 1 ] && stop_tracer
check "opensnoop.bt: the opened path with its fd" \
	grep -Eq "^[0-9]+ +cat +[0-9]+ +0 $target\$" "$out"
check "opensnoop.bt: a missing path with ENOENT" \
	grep -Eq "^[0-9]+ +cat +-1 +2 $missing\$" "$out"
grep -q " $missing\$" "$out" || { echo "# trace:"; dump "$out.err"; }

# ---- execsnoop.bt --------------------------------------------------------------
out=$tmp/exec.trace
marker=sonde-exec-$$
started=0
start_tracer "$out" '^TIME\(ms\) +PID +PPID' "$scripts/execsnoop.bt" && started=1
/bin/echo "$marker" second-arg >/dev/null &
epid=$!
wait "$epid"
wait_for "$out" "$marker" 5
[ "$started" = 1 ] && stop_tracer
check "execsnoop.bt: an exec with its arguments" \
	grep -Eq "^[0-9]+ +$epid +$$ +/bin/echo $marker second-arg\$" "$out"
grep -q "$marker" "$out" || { echo "# trace:"; dump "$out.err"; }

# ---- syscount.bt ----------------------------------------------------------------
out=$tmp/sys.trace
fx=$tmp/sys.out
count=5000
"$tmp/sys_fixture" "$count" "$tmp/sys.go" >"$fx" 2>&1 &
fixture=$!
pids="$pids $fixture"
wait_for "$fx" '^nr ' 10
spid=$(value "$fx" pid)
nr=$(value "$fx" nr)
started=0
start_tracer "$out" '^Counting syscalls' "$scripts/syscount.bt" "$spid" && started=1
touch "$tmp/sys.go"
wait "$fixture"
[ "$started" = 1 ] && stop_tracer
got=$(sed -n "s/^@syscall\[$nr\]: //p" "$out")
check "syscount.bt: a syscall issued N times counted at least N times" \
	test "${got:-0}" -ge "$count"
[ "${got:-0}" -ge "$count" ] || { echo "# trace:"; dump "$out"; dump "$out.err"; }

# ---- killsnoop.bt ---------------------------------------------------------------
out=$tmp/kill.trace
started=0
start_tracer "$out" '^TIME +PID +COMM' "$scripts/killsnoop.bt" && started=1
sleep 30 &
victim=$!
pids="$pids $victim"
sh -c "kill -USR2 $victim" &
killer=$!
wait "$killer"
{ wait "$victim"; } 2>/dev/null
wait_for "$out" " 12 +$victim " 5
[ "$started" = 1 ] && stop_tracer
check "killsnoop.bt: a kill() with its signal, target and result" \
	grep -Eq "^[0-9:]+ +$killer +sh +12 +$victim +0\$" "$out"
grep -q " $victim " "$out" || { echo "# trace:"; dump "$out"; dump "$out.err"; }

echo "1..$n"
