/*
 * test_features.c - every probed kernel feature agrees with an independent check of the same
 * fact (raw bpf(2) syscalls, kallsyms symbols that exist only with the feature, sysfs files),
 * so the test holds on any kernel rather than on this machine's configuration.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "runtime/btf.h"
#include "runtime/features.h"
#include "runtime/tracefs.h"
#include "common/types.h"
#include "common/util.h"
#include "tests/unit/tap.h"

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static bool raw_ringbuf(void)
{
	union bpf_attr attr;
	long fd;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_RINGBUF;
	attr.max_entries = sysconf(_SC_PAGESIZE);
	fd = sys_bpf(BPF_MAP_CREATE, &attr);
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

static bool raw_tp_run(void)
{
	/* r0 = 7; exit: the test run must report 7 back. */
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 7 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	long fd, err;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = 2;
	attr.license = (uintptr_t)"GPL";
	fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0)
		return false;
	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = fd;
	err = sys_bpf(BPF_PROG_TEST_RUN, &attr);
	close(fd);
	return err == 0 && attr.test.retval == 7;
}

/* Whether /proc/kallsyms lists the symbol (grep: a different reader than features.c). */
static bool kallsyms_lists(const char *sym)
{
	char *cmd = xasprintf("grep -qE ' %s($|\\s)' /proc/kallsyms", sym);
	int rc = system(cmd);

	free(cmd);
	return rc == 0;
}

static bool dir_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_detect(struct kernel_features *kf)
{
	bool root = geteuid() == 0;

	features_detect(kf);
	is_int(kf->btf, access("/sys/kernel/btf/vmlinux", R_OK) == 0, "btf_matches_vmlinux_file");
	is_int(kf->tracefs, dir_exists("/sys/kernel/tracing/events") ||
			    dir_exists("/sys/kernel/debug/tracing/events"),
	       "tracefs_matches_events_directory");
	if (root)
		ok(kf->tracefs, "root_always_gets_tracefs");
	else
		skip("not root", "root_always_gets_tracefs");
	/* register_kprobe exists exactly when CONFIG_KPROBES is built in. */
	is_int(kf->kprobes, kallsyms_lists("register_kprobe"), "kprobes_match_register_kprobe_symbol");
	is_int(kf->uprobe_multi, kallsyms_lists("bpf_uprobe_multi_link_attach"),
	       "uprobe_multi_matches_kallsyms");
	is_int(kf->perf_uprobe, access("/sys/bus/event_source/devices/uprobe/type", F_OK) == 0,
	       "perf_uprobe_matches_uprobe_pmu");
	if (root) {
		is_int(kf->ringbuf, raw_ringbuf(), "ringbuf_matches_raw_map_create");
		is_int(kf->raw_tp_test_run, raw_tp_run(), "raw_tp_test_run_matches_raw_syscalls");
		ok(kf->map_hash && kf->map_array && kf->probe_read_kernel,
		   "basic_maps_and_helpers_detected");
		is_int(kf->probe_read_user, kf->probe_read_kernel,
		       "probe_read_user_arrived_with_probe_read_kernel");
		ok(!kf->override_return || kf->kprobes, "override_return_needs_kprobes");
	} else {
		skip("not root", "ringbuf_matches_raw_map_create");
		skip("not root", "raw_tp_test_run_matches_raw_syscalls");
	}
}

static void test_print(const struct kernel_features *kf)
{
	char *out = NULL, *line;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct utsname u;

	features_print(f);
	fclose(f);
	uname(&u);
	line = xasprintf("  OS: Linux %s ", u.release);
	ok(strstr(out, line) != NULL, "info_names_kernel_release");
	free(line);
	line = xasprintf("\nProbe types\n  kprobe: %s\n", kf->kprobes ? "yes" : "no");
	ok(strstr(out, line) != NULL, "info_reports_kprobes_honestly");
	free(line);
	line = xasprintf("\n  ringbuf: %s\n", kf->ringbuf ? "yes" : "no");
	ok(strstr(out, line) != NULL, "info_reports_ringbuf");
	free(line);
	ok(strstr(out, "Build\n  version: sonde ") != NULL, "info_is_sonde_branded");
	ok(strstr(out, "Kernel helpers\n") && strstr(out, "Map types\n"), "info_has_every_section");
	free(out);
}

int main(void)
{
	struct kernel_features kf;

	test_detect(&kf);
	test_print(&kf);
	tracefs_cleanup();
	btf_cleanup();
	types_free_all();
	return done_testing();
}
