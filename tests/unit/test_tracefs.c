/*
 * test_tracefs.c - tracepoint discovery and argument layouts, checked against the kernel's own
 * format files (parsed here independently) and, when installed, against `bpftrace -lv`.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/btf.h"
#include "runtime/tracefs.h"
#include "common/types.h"
#include "common/util.h"
#include "tests/unit/tap.h"

static const char *root;

/* offset and size of a field in events/CAT/NAME/format, by a plain text search. */
static int format_field(const char *cat, const char *name, const char *field, unsigned *off,
			unsigned *size)
{
	char *path = xasprintf("%s/events/%s/%s/format", root, cat, name), *text, *line;
	char *pat = xasprintf(" %s;", field);
	int found = -1;

	if (read_file(path, &text, NULL) == 0) {
		for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
			char *p = strstr(line, pat);

			if (p && sscanf(p + strlen(pat), "\toffset:%u;\tsize:%u;", off, size) == 2) {
				found = 0;
				break;
			}
		}
		free(text);
	}
	free(path);
	free(pat);
	return found;
}

static const struct field *field(const struct record *rec, const char *name)
{
	uint32_t off;

	return record_find_field(rec, name, &off);
}

static void test_openat(void)
{
	struct record *rec;
	const struct field *f;
	unsigned off = 0, size = 0;
	int err = tracefs_tp_args("syscalls", "sys_enter_openat", &rec);

	if (!is_int(err, 0, "sys_enter_openat_args_parse"))
		return;
	is_str(rec->name, "_tracepoint_syscalls_sys_enter_openat",
	       "tracepoint_record_is_named_after_category_and_event");
	ok(!field(rec, "common_pid") && !field(rec, "common_type"),
	   "common_fields_are_not_arguments");
	f = field(rec, "filename");
	ok(format_field("syscalls", "sys_enter_openat", "filename", &off, &size) == 0,
	   "format_file_lists_filename");
	ok(f && f->offset == off, "openat_filename_sits_at_its_format_offset");
	ok(f && f->type->kind == TYPE_POINTER && f->type->as == AS_USER,
	   "syscall_pointer_argument_is_a_user_pointer");
	ok(f && f->type->kind == TYPE_POINTER && f->type->elem->kind == TYPE_INT &&
	   f->type->elem->size == 1 && f->type->elem->is_signed,
	   "openat_filename_points_to_int8");
	f = field(rec, "dfd");
	ok(format_field("syscalls", "sys_enter_openat", "dfd", &off, &size) == 0 && f &&
	   f->type->kind == TYPE_INT && f->type->size == size && f->offset == off,
	   "integer_argument_takes_the_format_size");
	ok(f && f->type->is_signed, "int_argument_stored_in_8_bytes_stays_signed");
	f = field(rec, "mode");
	ok(f && f->type->kind == TYPE_INT && !f->type->is_signed, "umode_t_argument_is_unsigned");
	f = field(rec, "mode");
	ok(format_field("syscalls", "sys_enter_openat", "mode", &off, &size) == 0 &&
	   rec->size == off + size, "record_size_ends_at_last_field");
}

static void test_fields_text(void)
{
	char **lines = NULL, *want, *path, *text, *line;
	struct strbuf got, exp;
	size_t n = 0, i;
	FILE *p;

	if (!is_int(tracefs_tp_fields_text("syscalls", "sys_enter_openat", &lines, &n), 0,
		    "fields_text_of_openat"))
		return;
	sb_init(&got);
	for (i = 0; i < n; i++)
		sb_printf(&got, "%s\n", lines[i]);
	tracefs_lines_free(lines, n);

	/* Independently: every non-common declaration of the format, indented by four. */
	sb_init(&exp);
	path = xasprintf("%s/events/syscalls/sys_enter_openat/format", root);
	if (read_file(path, &text, NULL) == 0) {
		for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
			char *decl = strstr(line, "field:"), *semi;

			if (!decl || !(semi = strchr(decl, ';')) || strstr(decl, " common_"))
				continue;
			sb_printf(&exp, "    %.*s\n", (int)(semi - decl - 6), decl + 6);
		}
		free(text);
	}
	free(path);
	is_str(got.buf, exp.buf, "fields_text_repeats_format_declarations");
	ok(strstr(got.buf, "    const char * filename\n") != NULL,
	   "fields_text_spells_pointer_like_bpftrace");

	/* bpftrace itself, when installed: its first line names the probe. */
	p = access("/usr/bin/bpftrace", X_OK) == 0 && geteuid() == 0 ?
		popen("bpftrace -lv tracepoint:syscalls:sys_enter_openat 2>/dev/null", "r") : NULL;
	if (p) {
		struct strbuf bt;
		char buf[256];

		sb_init(&bt);
		while (fgets(buf, sizeof(buf), p))
			if (strncmp(buf, "tracepoint:", 11) != 0)
				sb_puts(&bt, buf);
		pclose(p);
		want = bt.len ? bt.buf : NULL;
		if (want)
			is_str(got.buf, want, "fields_text_matches_bpftrace_lv");
		else
			skip("bpftrace printed nothing", "fields_text_matches_bpftrace_lv");
		sb_free(&bt);
	} else {
		skip("bpftrace not installed or not root", "fields_text_matches_bpftrace_lv");
	}
	sb_free(&got);
	sb_free(&exp);
}

static void test_sched(void)
{
	struct record *rec;
	const struct field *f;
	unsigned off, size;

	if (!is_int(tracefs_tp_args("sched", "sched_switch", &rec), 0, "sched_switch_args_parse"))
		return;
	f = field(rec, "prev_comm");
	ok(f && f->type->kind == TYPE_STRING && f->type->size == 16,
	   "char_array_argument_is_string_16");
	f = field(rec, "next_pid");
	ok(format_field("sched", "sched_switch", "next_pid", &off, &size) == 0 && f &&
	   f->offset == off && f->type->kind == TYPE_INT && f->type->size == 4 &&
	   f->type->is_signed, "pid_t_argument_is_signed_int32_at_format_offset");

	if (!is_int(tracefs_tp_args("sched", "sched_process_exec", &rec), 0,
		    "sched_process_exec_args_parse"))
		return;
	f = field(rec, "filename");
	ok(f && f->data_loc && f->type->kind == TYPE_INT && f->type->size == 4,
	   "data_loc_field_is_flagged_u32");
	f = field(rec, "pid");
	ok(f && !f->data_loc, "ordinary_field_is_not_data_loc");
}

static void test_pointers(void)
{
	struct record *rec;
	const struct field *f;

	if (is_int(tracefs_tp_args("kmem", "kmalloc", &rec), 0, "kmalloc_args_parse")) {
		f = field(rec, "ptr");
		ok(f && f->type->kind == TYPE_POINTER && f->type->as == AS_KERNEL &&
		   f->type->elem->kind == TYPE_VOID, "non_syscall_void_pointer_is_kernel_void_ptr");
	}
	if (!is_int(tracefs_tp_args("syscalls", "sys_enter_connect", &rec), 0,
		    "connect_args_parse"))
		return;
	f = field(rec, "uservaddr");
	if (!btf_available()) {
		skip("no kernel BTF", "struct_pointer_argument_points_to_btf_record");
		return;
	}
	ok(f && f->type->kind == TYPE_POINTER && f->type->elem->kind == TYPE_RECORD &&
	   strcmp(f->type->elem->rec->name, "sockaddr") == 0 && f->type->elem->rec->complete &&
	   field(f->type->elem->rec, "sa_family"), "struct_pointer_argument_points_to_btf_record");
}

struct collect {
	struct strbuf names;
	size_t n;
	int stop_after;
};

static int collect_cb(const char *cat, const char *name, void *ctx)
{
	struct collect *c = ctx;

	sb_printf(&c->names, "%s:%s\n", cat, name);
	c->n++;
	return c->stop_after && (int)c->n == c->stop_after ? 42 : 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_iteration(void)
{
	struct collect c = { .stop_after = 0 };
	struct strbuf exp;
	char *dir = xasprintf("%s/events/syscalls", root), **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;
	int err;

	sb_init(&c.names);
	err = tracefs_foreach_tracepoint("syscalls", "sys_enter_get*", collect_cb, &c);
	is_int(err, 0, "wildcard_iteration_succeeds");
	ok(strstr(c.names.buf, "syscalls:sys_enter_getppid\n") != NULL,
	   "wildcard_iteration_finds_sys_enter_getppid");

	/* The same set, listed and sorted independently. */
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		if (fnmatch("sys_enter_get*", de->d_name, 0) == 0) {
			xgrow((void **)&names, &cap, n + 1, sizeof(*names));
			names[n++] = xstrdup(de->d_name);
		}
	}
	if (d)
		closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	sb_init(&exp);
	for (i = 0; i < n; i++) {
		sb_printf(&exp, "syscalls:%s\n", names[i]);
		free(names[i]);
	}
	free(names);
	free(dir);
	ok(n > 5, "independent_listing_finds_get_syscalls");
	is_str(c.names.buf, exp.buf, "wildcard_iteration_is_sorted_and_complete");
	sb_free(&exp);
	sb_free(&c.names);

	/* Categories come sorted too, and a nonzero callback return stops the walk. */
	memset(&c, 0, sizeof(c));
	sb_init(&c.names);
	c.stop_after = 3;
	err = tracefs_foreach_tracepoint("s*", "*", collect_cb, &c);
	ok(err == 42 && c.n == 3, "callback_return_stops_iteration");
	sb_free(&c.names);

	memset(&c, 0, sizeof(c));
	sb_init(&c.names);
	err = tracefs_foreach_tracepoint("sched", "sched_switch", collect_cb, &c);
	ok(err == 0 && c.n == 1 && strcmp(c.names.buf, "sched:sched_switch\n") == 0,
	   "exact_name_matches_one_tracepoint");
	sb_free(&c.names);

	memset(&c, 0, sizeof(c));
	sb_init(&c.names);
	err = tracefs_foreach_tracepoint("*", "*", collect_cb, &c);
	{
		/* Whole listing: category-major order means "cat:" prefixes never go backwards. */
		char *prev = NULL, *line, *save = NULL;
		bool sorted = true;

		for (line = strtok_r(c.names.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (prev) {
				size_t pc = strcspn(prev, ":"), lc = strcspn(line, ":");
				int cc = strncmp(prev, line, MIN(pc, lc));

				if (cc == 0 && pc != lc)
					cc = pc < lc ? -1 : 1;
				if (cc > 0 || (cc == 0 && strcmp(prev + pc, line + lc) >= 0))
					sorted = false;
			}
			prev = line;
		}
		ok(err == 0 && c.n > 100 && sorted, "all_tracepoints_sorted_by_category_then_name");
	}
	sb_free(&c.names);
}

static void test_ids_and_errors(void)
{
	struct record *rec = NULL;
	uint32_t id = 0;
	char *path = xasprintf("%s/events/sched/sched_switch/id", root), *text = NULL;

	if (read_file(path, &text, NULL) == 0)
		is_int(tracefs_tp_id("sched", "sched_switch", &id) == 0 ? (int64_t)id : -1, atol(text),
		       "tracepoint_id_matches_id_file");
	else
		ok(0, "tracepoint_id_matches_id_file");
	free(text);
	free(path);
	is_int(tracefs_tp_args("sched", "no_such_tracepoint", &rec), -ENOENT,
	       "unknown_tracepoint_is_enoent");
	is_int(tracefs_tp_args("no_such_category", "sched_switch", &rec), -ENOENT,
	       "unknown_category_is_enoent");
	is_int(tracefs_tp_id("sched", "no_such_tracepoint", &id), -ENOENT,
	       "unknown_tracepoint_id_is_enoent");
	is_int(tracefs_tp_args("..", "sched", &rec), -ENOENT, "path_components_are_rejected");
	{
		struct record *a = NULL, *b = NULL;

		tracefs_tp_args("sched", "sched_switch", &a);
		tracefs_tp_args("sched", "sched_switch", &b);
		ok(a && a == b, "tracepoint_args_are_cached");
	}
}

/*
 * In a private mount namespace without tracefs, an unprivileged tracefs_root must fail with
 * the reason; the namespace keeps the rest of the system's tracefs untouched.
 */
static void test_mount_failure_message(void)
{
	const char *want = "tracefs is not mounted at /sys/kernel/tracing and mounting it failed: "
			   "Operation not permitted";
	char buf[512] = "";
	int fds[2], status = 0;
	ssize_t len;
	pid_t pid;

	if (geteuid() != 0) {
		skip("needs root to build a mount namespace", "unmounted_tracefs_error_names_cause");
		return;
	}
	if (pipe(fds))
		return;
	pid = fork();
	if (pid == 0) {
		const char *r = NULL;

		close(fds[0]);
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			_exit(100);
		umount2("/sys/kernel/tracing", MNT_DETACH);
		umount2("/sys/kernel/debug/tracing", MNT_DETACH);
		umount2("/sys/kernel/debug", MNT_DETACH);
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(101);
		dup2(fds[1], 2);
		tracefs_cleanup();	/* forget the root found by the parent */
		_exit(tracefs_root(&r) == -EPERM ? 0 : 102);
	}
	close(fds[1]);
	len = read(fds[0], buf, sizeof(buf) - 1);
	buf[len > 0 ? len : 0] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 100) {
		skip("cannot create a mount namespace", "unmounted_tracefs_error_names_cause");
		return;
	}
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0, "unmounted_tracefs_fails_eperm");
	ok(strstr(buf, want) != NULL, "unmounted_tracefs_error_names_cause");
	if (!strstr(buf, want))
		printf("# stderr: %s\n", buf);
}

int main(void)
{
	bool mounted_before = access("/sys/kernel/tracing/events", F_OK) == 0 ||
			      access("/sys/kernel/debug/tracing/events", F_OK) == 0;

	if (!mounted_before && geteuid() != 0) {
		const char *r = NULL;
		int err = tracefs_root(&r);

		ok(err == -EACCES || err == -EPERM, "unprivileged_tracefs_root_fails_with_a_reason");
		skip("tracefs not accessible and not root", "tracefs_root");
		return done_testing();
	}
	if (!is_int(tracefs_root(&root), 0, "tracefs_root_found_or_mounted"))
		return done_testing();
	{
		char *ev = xasprintf("%s/events/sched", root);

		ok(access(ev, F_OK) == 0, "tracefs_root_has_events");
		free(ev);
	}
	test_openat();
	test_fields_text();
	test_sched();
	test_pointers();
	test_iteration();
	test_ids_and_errors();
	test_mount_failure_message();
	tracefs_cleanup();
	btf_cleanup();
	types_free_all();
	return done_testing();
}
