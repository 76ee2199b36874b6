/*
 * test_usyms.c - symbolizing addresses of a live fixture process (clang+lld layout, plus a shared
 * library), after it exited and its binary was deleted, and frame layouts compared with what
 * bpftrace itself prints for ustack(perf).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "runtime/disasm.h"
#include "runtime/elf.h"
#include "runtime/libpath.h"
#include "runtime/usyms.h"
#include "common/util.h"
#include "tests/fixtures/fixtures.h"
#include "tests/unit/tap.h"

struct live {
	pid_t pid;
	FILE *out;
	uint64_t work, movabs, libfix;
};

/* Start "FILE run" (or a shell command that execs it) and read the addresses it prints. */
static int live_start_cmd(const char *file, const char *shell_cmd, struct live *l)
{
	int fds[2];
	char line[256];

	if (pipe(fds))
		return -1;
	l->pid = fork();
	if (l->pid < 0)
		return -1;
	if (l->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		if (shell_cmd)
			execl("/bin/sh", "sh", "-c", shell_cmd, (char *)NULL);
		else
			execl(file, file, "run", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	l->out = fdopen(fds[0], "r");
	if (!l->out || !fgets(line, sizeof(line), l->out) ||
	    sscanf(line, "%" SCNx64 " %" SCNx64 " %" SCNx64, &l->work, &l->movabs, &l->libfix) != 3)
		return -1;
	return 0;
}

static int live_start(const char *file, struct live *l)
{
	return live_start_cmd(file, NULL, l);
}

static void live_stop(struct live *l)
{
	if (l->pid > 0) {
		kill(l->pid, SIGKILL);
		waitpid(l->pid, NULL, 0);
		l->pid = 0;
	}
	if (l->out)
		fclose(l->out);
	l->out = NULL;
}

/* The runtime address of file offset off of path in pid, from /proc/PID/maps (test's own parse). */
static uint64_t maps_addr(pid_t pid, const char *path, uint64_t off)
{
	char mp[64], line[1024];
	FILE *f;
	uint64_t r = 0;

	snprintf(mp, sizeof(mp), "/proc/%d/maps", (int)pid);
	f = fopen(mp, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, pg;
		char perms[8], file[512] = "";

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %511s", &s, &e, perms, &pg, file) < 4)
			continue;
		/* lld maps file page 0 twice (R and R-X): code lives in the executable one */
		if (perms[2] == 'x' && strcmp(file, path) == 0 && off >= pg && off < pg + (e - s)) {
			r = s + off - pg;
			break;
		}
	}
	fclose(f);
	return r;
}

static void test_live(struct usyms *us)
{
	struct live l = { 0 };
	struct usym_info info;
	struct elf_file *ef = NULL;
	struct elf_sym s;
	struct strbuf sb;
	char *bin = fx_path("target_lld_live"), want[700], mem[64];
	unsigned char a[16], b[16];
	uint64_t off = 0;
	pid_t pid;
	int fd;

	/* a private copy, so it can be deleted while we still need its symbols */
	snprintf(want, sizeof(want), "cp '%s' '%s'", fx_path("target_lld"), bin);
	if (system(want) != 0 || live_start(bin, &l) != 0) {
		ok(0, "live_fixture_starts");
		live_stop(&l);
		return;
	}
	ok(usyms_prepare(us, l.pid) == 0, "usyms_prepare_reads_maps_of_live_process");

	/* independent check: the address the process reports is where the maps put sonde's offset */
	if (elf_open(bin, &ef) == 0 && elf_sym_offset(ef, "fixture_work", 0, &off) == 0)
		ok(maps_addr(l.pid, bin, off) == l.work, "maps_place_lld_uprobe_offset_at_the_function_runtime_address");
	snprintf(mem, sizeof(mem), "/proc/%d/mem", (int)l.pid);
	fd = open(mem, O_RDONLY);
	ok(fd >= 0 && pread(fd, a, sizeof(a), (off_t)l.work) == (ssize_t)sizeof(a) &&
		   fx_read(bin, off, b, sizeof(b)) == 0 && memcmp(a, b, sizeof(a)) == 0,
	   "running_code_equals_file_bytes_at_lld_uprobe_offset");
	if (fd >= 0)
		close(fd);

	ok(usyms_resolve(us, l.pid, l.work, &info) == 0 && strcmp(info.sym, "fixture_work") == 0 &&
		   info.off == 0 && strcmp(info.module, bin) == 0,
	   "usyms_resolves_function_entry_in_lld_executable");
	ok(usyms_resolve(us, l.pid, l.work + 5, &info) == 0 && strcmp(info.sym, "fixture_work") == 0 &&
		   info.off == 5,
	   "usyms_resolves_address_inside_function_with_offset");
	ok(usyms_resolve(us, l.pid, l.libfix + 2, &info) == 0 && strcmp(info.sym, "libfix_add") == 0 &&
		   info.off == 2 && strcmp(info.module, fx_path("libfix.so")) == 0,
	   "usyms_resolves_address_in_shared_library");
	is_int(usyms_resolve(us, l.pid, 0x10, &info), -ENOENT, "usyms_unmapped_address_is_enoent");

	sb_init(&sb);
	usyms_format_frame(us, l.pid, l.work + 5, USYMS_BPFTRACE, &sb);
	is_str(sb.buf, "fixture_work+5", "bpftrace_frame_layout_is_sym_plus_decimal_offset");
	sb.len = 0;
	usyms_format_frame(us, l.pid, l.work + 5, USYMS_PERF, &sb);
	snprintf(want, sizeof(want), "\t%" PRIx64 " fixture_work+5 (%s)", l.work + 5, bin);
	is_str(sb.buf, want, "perf_frame_layout_is_tab_hex_sym_off_module");
	sb.len = 0;
	usyms_format_frame(us, l.pid, l.work, USYMS_SOURCE, &sb);
	ok(strncmp(sb.buf, "fixture_work+0 (", 16) == 0 && strstr(sb.buf, "target.c:") &&
		   sb.buf[sb.len - 1] == ')',
	   "source_frame_layout_is_sym_off_file_line");
	sb.len = 0;
	ok(usyms_format_frame(us, l.pid, 0x10, USYMS_BPFTRACE, &sb) == -ENOENT && strcmp(sb.buf, "0x10") == 0,
	   "unknown_frame_prints_as_hex_address");
	sb.len = 0;
	usyms_format_frame(us, l.pid, 0x10, USYMS_PERF, &sb);
	is_str(sb.buf, "\t10 0x10 ([unknown])", "unknown_perf_frame_prints_unknown_module");
	sb_free(&sb);

	/* instruction boundaries on the live binary's function */
	if (ef && elf_sym_find(ef, "fixture_movabs", &s) == 0) {
		ok(disasm_check_boundary(ef, &s, 0) == 0 && disasm_check_boundary(ef, &s, 3) == -EINVAL,
		   "boundary_check_accepts_entry_and_rejects_inside_first_multibyte_instruction");
	}
	elf_close(ef);

	/* the process exits and its binary disappears: the snapshot and open files remain */
	pid = l.pid;
	live_stop(&l);
	unlink(bin);
	ok(usyms_resolve(us, pid, l.work + 7, &info) == 0 && strcmp(info.sym, "fixture_work") == 0 &&
		   info.off == 7,
	   "usyms_resolves_lld_executable_after_exit_and_deletion");
}

static void test_after_exit(struct usyms *us)
{
	struct live l = { 0 };
	struct usym_info info;
	char *bin = fx_path("target_gcc_live"), cmd[700];
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", fx_path("target_gcc_pie"), bin);
	if (system(cmd) != 0 || live_start(bin, &l) != 0) {
		ok(0, "live_fixture_starts");
		live_stop(&l);
		return;
	}
	pid = l.pid;
	/* never prepared: the first lookup prepares on demand */
	ok(usyms_resolve(us, pid, l.work + 1, &info) == 0 && strcmp(info.sym, "fixture_work") == 0 &&
		   info.off == 1,
	   "usyms_prepares_unknown_pid_on_demand");
	live_stop(&l);
	unlink(bin);
	ok(usyms_resolve(us, pid, l.work + 1, &info) == 0 && strcmp(info.sym, "fixture_work") == 0 &&
		   info.off == 1 && strcmp(info.module, bin) == 0,
	   "usyms_resolves_after_process_exited_and_binary_was_deleted");
	ok(usyms_resolve(us, pid, l.libfix, &info) == 0 && strcmp(info.sym, "libfix_add") == 0,
	   "usyms_resolves_shared_library_after_process_exited");
	usyms_evict(us, pid);
	is_int(usyms_resolve(us, pid, l.work + 1, &info), -ENOENT, "usyms_evicted_dead_pid_resolves_nothing");
}

/* Run bpftrace on a uprobe in the live fixture and format every frame it printed ourselves. */
static void test_against_bpftrace(struct usyms *us)
{
	struct live l = { 0 };
	char cmd[1200], line[1024];
	FILE *f;
	int frames = 0, same = 0;
	struct strbuf sb;

	if (geteuid() != 0 || system("command -v bpftrace >/dev/null 2>&1") != 0) {
		skip("needs root and bpftrace", "perf_frames_match_bpftrace_ustack_perf_output");
		return;
	}
	if (live_start(fx_path("target_lld"), &l) != 0) {
		ok(0, "live_fixture_starts");
		live_stop(&l);
		return;
	}
	snprintf(cmd, sizeof(cmd),
		 "timeout 20 bpftrace -e 'uprobe:%s:libfix_add /pid == %d/ { printf(\"%%s\", ustack(perf)); exit(); }' 2>/dev/null",
		 fx_path("libfix.so"), (int)l.pid);
	f = popen(cmd, "r");
	sb_init(&sb);
	while (f && fgets(line, sizeof(line), f)) {
		uint64_t addr;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] != '\t' || sscanf(line + 1, "%" SCNx64, &addr) != 1)
			continue;
		frames++;
		sb.len = 0;
		usyms_format_frame(us, l.pid, addr, USYMS_PERF, &sb);
		if (strcmp(sb.buf, line) == 0)
			same++;
		else
			printf("# bpftrace: [%s]\n# sonde:    [%s]\n", line, sb.buf);
	}
	if (f)
		pclose(f);
	sb_free(&sb);
	live_stop(&l);
	printf("# %d frames from bpftrace\n", frames);
	if (frames == 0) {
		skip("bpftrace printed no stack (uprobes unavailable?)", "perf_frames_match_bpftrace_ustack_perf_output");
		return;
	}
	ok(frames >= 3 && same == frames, "perf_frames_match_bpftrace_ustack_perf_output");
}

/*
 * A process in its own mount namespace runs a binary from a tmpfs only it can see (a container's
 * view): libpath and usyms must reach the files through /proc/PID/root.
 */
static void test_mount_namespace(struct usyms *us)
{
	struct live l = { 0 };
	struct usym_info info;
	struct elf_file *ef;
	char dir[300], cmd[1500], want[700], *p = NULL;
	uint64_t off;
	int err;

	snprintf(dir, sizeof(dir), "%s/ns", fx_dir);
	mkdir(dir, 0755);
	if (geteuid() != 0 || system("unshare -m --propagation private true 2>/dev/null") != 0) {
		skip("needs root and unshare(1) for a private mount namespace",
		     "libpath_and_usyms_reach_files_only_visible_in_the_process_mount_namespace");
		return;
	}
	snprintf(cmd, sizeof(cmd),
		 "exec unshare -m --propagation private sh -c 'mount -t tmpfs none %s && cp %s %s %s/ && exec %s/target_lld run'",
		 dir, fx_path("target_lld"), fx_path("libfix.so"), dir, dir);
	if (live_start_cmd(NULL, cmd, &l) != 0) {
		ok(0, "namespaced_fixture_starts");
		live_stop(&l);
		return;
	}
	snprintf(want, sizeof(want), "/proc/%d/root%s/target_lld", (int)l.pid, dir);
	snprintf(cmd, sizeof(cmd), "%s/target_lld", dir);
	ok(access(cmd, F_OK) != 0, "namespaced_binary_is_invisible_from_the_host_namespace");
	err = libpath_resolve(cmd, l.pid, &p);
	ok(err == 0 && strcmp(p, want) == 0, "libpath_with_pid_reaches_path_through_proc_pid_root");
	if (err == 0 && elf_open(p, &ef) == 0) {
		ok(elf_sym_offset(ef, "fixture_work", 0, &off) == 0, "uprobe_offset_computed_on_namespaced_binary");
		elf_close(ef);
	}
	free(p);
	p = NULL;
	snprintf(want, sizeof(want), "/proc/%d/root%s/libfix.so", (int)l.pid, dir);
	err = libpath_resolve("libfix", l.pid, &p);
	ok(err == 0 && strcmp(p, want) == 0, "libpath_with_pid_finds_library_the_namespaced_process_mapped");
	free(p);
	ok(usyms_resolve(us, l.pid, l.work + 2, &info) == 0 && strcmp(info.sym, "fixture_work") == 0 &&
		   info.off == 2 && strcmp(info.module, cmd) == 0,
	   "usyms_resolves_binary_only_visible_in_the_process_mount_namespace");
	ok(usyms_resolve(us, l.pid, l.libfix, &info) == 0 && strcmp(info.sym, "libfix_add") == 0,
	   "usyms_resolves_namespaced_shared_library");
	live_stop(&l);
}

int main(void)
{
	struct usyms *us;

	if (!fx_build("c")) {
		ok(0, "fixtures_build");
		fx_cleanup();
		return done_testing();
	}
	us = usyms_new();
	test_live(us);
	test_after_exit(us);
	test_against_bpftrace(us);
	test_mount_namespace(us);
	usyms_free(us);
	fx_cleanup();
	return done_testing();
}
