#!/bin/sh
# tests/kubernetes/run.sh: deploy/kubernetes/*.yaml validated against the Kubernetes API schema
# by the npm package kubernetes-models (installed with npm into the build tree on first use),
# a broken copy rejected by the same tool, the recipes' essentials (privileged, hostPID, the
# tracing/BTF/proc mounts, -p through the host's /proc), and the scripts they run checked by
# sonde and sh.  TAP.
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${top_builddir:-$srcdir}
SONDE=${SONDE:-$srcdir/sonde}
deploy=$srcdir/deploy/kubernetes
tools=$builddir/tests/kubernetes/npm-tools
n=0
failed=0
tap() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"; failed=$((failed + 1))
		[ -n "$3" ] && printf '%s\n' "$3" | sed 's/^/# /'
	fi
}

command -v node >/dev/null || { echo "1..0 # SKIP node is not installed"; exit 0; }
command -v jq >/dev/null || { echo "1..0 # SKIP jq is not installed (scripts/setup installs it)"; exit 0; }
if [ ! -d "$tools/node_modules/kubernetes-models" ] || [ ! -d "$tools/node_modules/yaml" ]; then
	command -v npm >/dev/null || { echo "1..0 # SKIP npm is not installed"; exit 0; }
	mkdir -p "$tools"
	if ! npm install --prefix "$tools" --no-audit --no-fund --silent \
		kubernetes-models@5.1.0 yaml@2.9.1 >"$tools/install.log" 2>&1; then
		echo "1..0 # SKIP npm could not install kubernetes-models: $(tail -1 "$tools/install.log")"
		exit 0
	fi
fi
cp "$srcdir/tests/kubernetes/validate.mjs" "$tools/validate.mjs"
validate() { (cd "$tools" && node validate.mjs "$@"); }

for f in "$deploy"/*.yaml; do
	out=$(validate "$f" 2>&1)
	tap $? "schema_valid_$(basename "$f" .yaml)" "$out"
	printf '%s\n' "$out" | sed 's/^/# /'
done

tmp=$(mktemp -d /tmp/sonde-k8s.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
sed 's/privileged: true/privileged: "yes"/' "$deploy/daemonset.yaml" > "$tmp/broken.yaml"
out=$(validate "$tmp/broken.yaml" 2>&1)
[ $? -ne 0 ] && printf '%s\n' "$out" | grep -q 'privileged must be boolean'
tap $? validator_rejects_a_broken_manifest "$out"

docs=$(validate --json "$deploy/daemonset.yaml" "$deploy/envoy-job.yaml")
ds='.[] | select(.kind == "DaemonSet") | .spec.template.spec'
q() { printf '%s' "$docs" | jq -r "$1"; }
[ "$(q "$ds | .hostPID")" = true ] && [ "$(q "$ds | .containers[0].securityContext.privileged")" = true ]
tap $? daemonset_is_privileged_with_host_pids
[ "$(q "$ds | [.volumes[].hostPath.path | select(. != null)] | sort | join(\" \")")" = \
	"/proc /sys/kernel/btf /sys/kernel/tracing" ]
tap $? daemonset_mounts_tracing_btf_and_proc "$(q "$ds | .volumes")"
q "$ds | .containers[0].command | join(\" \")" | grep -q -- '-f json'
tap $? daemonset_writes_json_events_to_the_log
job='.[] | select(.kind == "Job") | .spec.template.spec'
[ "$(q "$job | .hostPID")" = true ] && q "$job | .containers[0].command[2]" | grep -q 'sonde -f json -p "$pid"'
tap $? job_traces_one_pid_with_p_and_host_pids

q '.[] | select(.kind == "ConfigMap") | .data["node.bt"]' > "$tmp/node.bt"
if [ "$(id -u)" = 0 ]; then
	out=$("$SONDE" --dry-run "$tmp/node.bt" 2>&1)
	tap $? daemonset_script_passes_the_verifier "$out"
else
	out=$("$SONDE" -d ast "$tmp/node.bt" 2>&1)
	tap $? daemonset_script_compiles "$out"
fi
q "$job | .containers[0].command[2]" > "$tmp/job.sh"
out=$(sh -n "$tmp/job.sh" 2>&1)
tap $? job_shell_script_parses "$out"

# the Job's PID search, run against this machine's /proc for a process of ours
sleep 30 &
spid=$!
cg=$(cut -d: -f3 /proc/$spid/cgroup | head -1 | tr -d /)
sed -e 's/^exec sonde .*/echo "found $pid"; exit 0/' "$tmp/job.sh" > "$tmp/find.sh"
out=$(TARGET_POD_UID=${cg:-/} TARGET_COMM=sleep sh "$tmp/find.sh" 2>/dev/null)
kill $spid 2>/dev/null
printf '%s\n' "$out" | grep -q "^found [0-9]"
tap $? job_finds_the_target_process_through_proc "$out"
echo "1..$n"
[ "$failed" -eq 0 ]
