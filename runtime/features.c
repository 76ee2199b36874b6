/*
 * features.c - probe what the running kernel offers.
 *
 * Kernel versions lie (distributions backport, configs disable), so every answer comes from
 * trying the thing: a ring buffer map is created and closed, a two-instruction raw tracepoint
 * program is loaded and test-run, helpers are checked with libbpf's probes, and features
 * without a cheap probe are found by the files that exist only when the kernel has them (the
 * kprobe PMU).  sonde itself probes only what a script needs, when it needs it
 * (features_uprobe_multi); features_detect, all of them, is for --info.
 */
#include "runtime/features.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "config.h"
#include "runtime/bpf_compat.h"
#include "runtime/tracefs.h"
#include "common/util.h"

#if __has_include(<llvm/Config/llvm-config.h>)
#include <llvm/Config/llvm-config.h>
#endif

static bool map_ok(enum bpf_map_type type)
{
	return libbpf_probe_bpf_map_type(type, NULL) == 1;
}

static bool helper_ok(enum bpf_func_id id)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, id, NULL) == 1;
}

static bool probe_ringbuf(void)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, page > 0 ? page : 4096, NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static bool probe_raw_tp_test_run(void)
{
	/* r0 = 0; exit */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_test_run_opts, run);
	int fd, err;

	fd = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "sonde_probe", "GPL", insns,
			   ARRAY_SIZE(insns), NULL);
	if (fd < 0)
		return false;
	err = bpf_prog_test_run_opts(fd, &run);
	close(fd);
	return err == 0 && run.retval == 0;
}

/*
 * The uprobe multi-link, as libbpf 1.3 probes it: a program loaded for BPF_TRACE_UPROBE_MULTI
 * and a link on "/" that a kernel with the link refuses with EBADF (a directory), one without
 * it with EINVAL.  Two syscalls instead of reading all of /proc/kallsyms.
 */
bool features_uprobe_multi(void)
{
	static int cached = -1;
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		.expected_attach_type = (enum bpf_attach_type)SONDE_BPF_TRACE_UPROBE_MULTI);
	struct sonde_link_create_uprobe_multi attr;
	uint64_t offset = 0;
	int saved = errno, prog, link, err;

	if (cached >= 0)
		return cached;
	cached = 0;
	prog = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns, ARRAY_SIZE(insns), &opts);
	if (prog < 0)
		goto out;
	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = (uint32_t)prog;
	attr.attach_type = SONDE_BPF_TRACE_UPROBE_MULTI;
	attr.path = (uint64_t)(uintptr_t)"/";
	attr.offsets = (uint64_t)(uintptr_t)&offset;
	attr.cnt = 1;
	link = (int)syscall(__NR_bpf, SONDE_BPF_LINK_CREATE, &attr, sizeof(attr));
	err = errno;
	if (link >= 0)
		close(link);
	else
		cached = err == EBADF;
	close(prog);
out:
	errno = saved;
	return cached;
}

/* A four-instruction program whose back edge the verifier must bound. */
static bool probe_bounded_loops(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_JLT | BPF_K, .dst_reg = BPF_REG_0, .off = -2, .imm = 4 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, NULL, "GPL", insns, 4, NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

void features_detect(struct kernel_features *kf)
{
	int saved = errno;

	memset(kf, 0, sizeof(*kf));
	kf->btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	kf->tracefs = tracefs_available();
	kf->kprobes = tracefs_has_kprobe_events();
	kf->perf_uprobe = access("/sys/bus/event_source/devices/uprobe/type", R_OK) == 0;
	kf->uprobe_multi = features_uprobe_multi();
	kf->ringbuf = probe_ringbuf();
	kf->raw_tp_test_run = probe_raw_tp_test_run();
	kf->bounded_loops = probe_bounded_loops();

	kf->map_hash = map_ok(BPF_MAP_TYPE_HASH);
	kf->map_percpu_hash = map_ok(BPF_MAP_TYPE_PERCPU_HASH);
	kf->map_array = map_ok(BPF_MAP_TYPE_ARRAY);
	kf->map_percpu_array = map_ok(BPF_MAP_TYPE_PERCPU_ARRAY);
	kf->map_stack_trace = map_ok(BPF_MAP_TYPE_STACK_TRACE);
	kf->map_perf_event_array = map_ok(BPF_MAP_TYPE_PERF_EVENT_ARRAY);

	kf->get_stackid = helper_ok(BPF_FUNC_get_stackid);
	kf->probe_read_user = helper_ok(BPF_FUNC_probe_read_user);
	kf->probe_read_user_str = helper_ok(BPF_FUNC_probe_read_user_str);
	kf->probe_read_kernel = helper_ok(BPF_FUNC_probe_read_kernel);
	kf->probe_read_kernel_str = helper_ok(BPF_FUNC_probe_read_kernel_str);
	kf->get_current_cgroup_id = helper_ok(BPF_FUNC_get_current_cgroup_id);
	kf->send_signal = helper_ok(BPF_FUNC_send_signal);
	kf->ktime_get_boot_ns = helper_ok(BPF_FUNC_ktime_get_boot_ns);
	kf->loop = helper_ok(BPF_FUNC_loop);
	/* Only kprobe programs may call it, and only with CONFIG_BPF_KPROBE_OVERRIDE. */
	kf->override_return = kf->kprobes &&
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_override_return, NULL) == 1;
	errno = saved;
}

static void row(FILE *f, const char *name, bool v)
{
	fprintf(f, "  %s: %s\n", name, v ? "yes" : "no");
}

void features_print(FILE *f)
{
	struct kernel_features kf;
	struct utsname u;

	features_detect(&kf);
	fprintf(f, "System\n");
	if (uname(&u) == 0) {
		fprintf(f, "  OS: %s %s %s\n", u.sysname, u.release, u.version);
		fprintf(f, "  Arch: %s\n", u.machine);
	}
	fprintf(f, "\nBuild\n");
	fprintf(f, "  version: %s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
	fprintf(f, "  libbpf: %u.%u\n", libbpf_major_version(), libbpf_minor_version());
#ifdef LLVM_VERSION_STRING
	fprintf(f, "  LLVM: %s\n", LLVM_VERSION_STRING);
#endif
	/* the rows bpftrace's tools and test runner look for, in bpftrace's words */
	row(f, "libdw (DWARF support)", true);

	fprintf(f, "\nKernel helpers\n");
	row(f, "probe_read_user", kf.probe_read_user);
	row(f, "probe_read_user_str", kf.probe_read_user_str);
	row(f, "probe_read_kernel", kf.probe_read_kernel);
	row(f, "probe_read_kernel_str", kf.probe_read_kernel_str);
	row(f, "get_stackid", kf.get_stackid);
	row(f, "get_current_cgroup_id", kf.get_current_cgroup_id);
	row(f, "send_signal", kf.send_signal);
	row(f, "override_return", kf.override_return);
	row(f, "get_boot_ns", kf.ktime_get_boot_ns);
	row(f, "loop", kf.loop);

	fprintf(f, "\nKernel features\n");
	row(f, "btf", kf.btf);
	fprintf(f, "  Instruction limit: %u\n", kf.bounded_loops ? 1000000 : 4096);
	fprintf(f, "  Loop support: %s\n", kf.bounded_loops ? "yes" : "no");
	row(f, "tracefs", kf.tracefs);
	row(f, "ringbuf", kf.ringbuf);
	row(f, "uprobe_multi", kf.uprobe_multi);
	row(f, "raw_tp test_run (BEGIN/END)", kf.raw_tp_test_run);

	fprintf(f, "\nMap types\n");
	row(f, "hash", kf.map_hash);
	row(f, "percpu hash", kf.map_percpu_hash);
	row(f, "array", kf.map_array);
	row(f, "percpu array", kf.map_percpu_array);
	row(f, "stack_trace", kf.map_stack_trace);
	row(f, "perf_event_array", kf.map_perf_event_array);
	row(f, "ringbuf", kf.ringbuf);

	fprintf(f, "\nProbe types\n");
	row(f, "kprobe", kf.kprobes);
	row(f, "tracepoint", kf.tracefs);
	row(f, "uprobe", kf.perf_uprobe);
	row(f, "uprobe_multi", kf.uprobe_multi);
	row(f, "BEGIN/END", kf.raw_tp_test_run);
}
