/*
 * loader.c - open the in-memory object with libbpf, give each program its type, load (mapping
 * a verifier rejection back to the probe in the script), attach every probe, run BEGIN/END.
 * Each step is checked; every exit path goes through session_close, which detaches all.
 * Everything it knows of the script is the compiler's struct compiled_script: which probe type
 * a program belongs to is its attach hook's business.
 */
#include "runtime/session.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/diag.h"
#include "common/util.h"
#include "runtime/btf.h"
#include "runtime/unwind.h"
#include "runtime/usyms.h"

/* libbpf's messages (and the verifier log) are kept for the error report and -v. */
static struct strbuf libbpf_log;

static pthread_mutex_t libbpf_log_lock = PTHREAD_MUTEX_INITIALIZER;	/* load_parts' threads */

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	va_list ap2;

	if (level == LIBBPF_DEBUG && diag_verbose_level() < 2)
		return 0;
	pthread_mutex_lock(&libbpf_log_lock);
	va_copy(ap2, ap);
	sb_vprintf(&libbpf_log, fmt, ap2);
	va_end(ap2);
	if (diag_verbose_level())
		vfprintf(stderr, fmt, ap);
	pthread_mutex_unlock(&libbpf_log_lock);
	return 0;
}

/* Lines of the verifier log that trace its walk rather than state what it rejected. */
static bool log_noise(const char *p)
{
	static const char *const prefixes[] = {
		"libbpf:", "--", "processed ", "verification time", "stack depth", "func#",
		"mark_precise", "last_idx", "parent ", "regs=", "from ", "cur state", "old state",
		"; ", "Validating ", "Func#", "arg#", "R1 type=", "reg type unsupported",
	};
	size_t i;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\n' || *p == '\0')
		return true;
	if (*p >= '0' && *p <= '9') {
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p == ':')
			return true;	/* an instruction: "12: (85) call ..." */
	}
	for (i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (strncmp(p, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* What the verifier rejected: the last message of the program's load log. */
static char *verifier_reason(const char *log)
{
	const char *begin = strstr(log, "-- BEGIN PROG LOAD LOG --");
	const char *end = begin ? strstr(begin, "-- END PROG LOAD LOG --") : NULL;
	const char *p, *best = NULL, *eol;

	if (!begin || !end)
		return xstrdup("unknown reason (run with -v for the verifier log)");
	for (p = strchr(begin, '\n'); p && p < end; p = strchr(p, '\n')) {
		p++;
		if (p < end && !log_noise(p))
			best = p;
	}
	if (!best)
		return xstrdup("unknown reason (run with -v for the verifier log)");
	eol = strchr(best, '\n');
	return eol ? xstrndup(best, (size_t)(eol - best)) : xstrdup(best);
}

static void report_load_error(struct session *ss, int err)
{
	const struct compiled_script *cs = ss->cs;
	size_t i;

	for (i = 0; i < cs->nprogs; i++) {
		char needle[64];

		snprintf(needle, sizeof(needle), "prog '%s'", cs->progs[i].name);
		if (libbpf_log.buf && strstr(libbpf_log.buf, needle)) {
			char *why = verifier_reason(strstr(libbpf_log.buf, needle));

			diag_error(&cs->progs[i].loc, "the kernel's BPF verifier rejected this probe: %s",
				   why);
			diag_note("HINT: run with -v to see the full verifier log");
			free(why);
			return;
		}
	}
	diag_error(NULL, "failed to load BPF programs: %s", strerror(-err));
}

/* The probed binaries (uprobe, usdt): paths[] borrowed from the description. */
static size_t probed_binaries(const struct compiled_script *cs, const char **paths)
{
	size_t i, n = 0;

	for (i = 0; i < cs->nprogs; i++)
		if (cs->progs[i].binary)
			paths[n++] = cs->progs[i].binary;
	return n;
}

/* Size the stack walker's maps and compile the unwind tables known before load. */
static int unwind_setup(struct session *ss)
{
	const struct compiled_script *cs = ss->cs;
	const char **paths = xcalloc(cs->nprogs + 1, sizeof(*paths));
	struct unwind_opts o = {
		.dwarf = cs->dwarf_ustack,
		.pid = cs->pid,
		.paths = paths,
		.npaths = probed_binaries(cs, paths),
		.usyms = ss->usyms,
		.max_stacks = cs->map_keys_max,
	};
	int err = unwind_open(&ss->unwind, ss->obj, &o);

	free(paths);
	return err;
}

/* A map the object must have, but libbpf has no fd for: never used as fd -1. */
static int missing_map(const char *name, int err)
{
	diag_error(NULL, "internal error: map %s has no file descriptor after loading: %s", name,
		   strerror(err < 0 ? -err : ENOENT));
	return err < 0 ? err : -ENOENT;
}

#define PART_ALL (-1)		/* set_programs: obj loads every program */
#define PART_NONE INT_MAX	/* set_programs: obj loads none (it creates the maps) */

/*
 * Give each program of obj its type; load only those of part (or all, or none), with parts[i]
 * saying which part program i belongs to.  cp->bpf is set for the programs obj loads.
 */
static int set_programs(struct bpf_object *obj, struct compiled_script *cs, int part,
			const int *parts)
{
	size_t i;

	for (i = 0; i < cs->nprogs; i++) {
		struct compiled_prog *cp = &cs->progs[i];
		struct bpf_program *prog = bpf_object__find_program_by_name(obj, cp->name);
		bool mine = part == PART_ALL || parts[i] == part;

		if (!prog || strcmp(bpf_program__section_name(prog), cp->section) != 0) {
			diag_error(NULL, "internal error: program %s (section %s) missing from the object",
				   cp->name, cp->section);
			return -ENOENT;
		}
		bpf_program__set_type(prog, (enum bpf_prog_type)cp->prog_type);
		if (cp->attach_type >= 0)
			bpf_program__set_expected_attach_type(prog, (enum bpf_attach_type)cp->attach_type);
		bpf_program__set_autoload(prog, mine);
		if (mine)
			cp->bpf = prog;
	}
	return 0;
}

/*
 * The verifier checks the user-stack walker (a global function) once in every program that
 * calls it, about 6 ms each.  With two or more such programs and more than one CPU, they are
 * verified in parallel: the session's object creates the maps and loads no program, and each
 * part, a second open of the same ELF that reuses every map, loads its share of the programs on
 * a thread of its own.  The number of parts, 0 for one object loading everything; parts[i]
 * says which part loads program i, balanced by the walker's cost.
 */
static int plan_parts(const struct compiled_script *cs, int *parts)
{
	int ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN), nparts, k, best;
	long cost[SESSION_MAX_PARTS] = { 0 };
	size_t i, nwalk = 0;
	const char *e = getenv("SONDE_PARALLEL_LOAD");

	for (i = 0; i < cs->nprogs; i++)
		nwalk += cs->progs[i].ustack;
	if (nwalk < 2 || ncpus < 2 || (e && strcmp(e, "0") == 0))
		return 0;
	nparts = ncpus < (int)nwalk ? ncpus : (int)nwalk;
	if (nparts > SESSION_MAX_PARTS)
		nparts = SESSION_MAX_PARTS;
	/* the walkers first, then the rest, each to the part with the least so far */
	for (int pass = 1; pass >= 0; pass--)
		for (i = 0; i < cs->nprogs; i++) {
			if (cs->progs[i].ustack != pass)
				continue;
			for (best = 0, k = 1; k < nparts; k++)
				if (cost[k] < cost[best])
					best = k;
			parts[i] = best;
			cost[best] += pass ? 20 : 1;
		}
	return nparts;
}

static void *load_part(void *arg)
{
	struct bpf_object *obj = arg;

	return (void *)(intptr_t)bpf_object__load(obj);
}

/* Every map of part reuses the session object's map of the same name. */
static int reuse_maps(struct bpf_object *part, struct bpf_object *obj)
{
	struct bpf_map *m;
	int err;

	bpf_object__for_each_map(m, part) {
		int fd = bpf_object__find_map_fd_by_name(obj, bpf_map__name(m));

		if (fd < 0 || (err = bpf_map__reuse_fd(m, fd))) {
			diag_error(NULL, "internal error: map %s cannot be shared between loads: %s",
				   bpf_map__name(m), strerror(fd < 0 ? ENOENT : -err));
			return fd < 0 ? -ENOENT : err;
		}
	}
	return 0;
}

/* Load the parts (maps created by the session's object already), in parallel. */
static int load_parts(struct session *ss)
{
	pthread_t th[SESSION_MAX_PARTS];
	bool started[SESSION_MAX_PARTS] = { false };
	int err = 0, k;

	for (k = 0; k < ss->nparts && !err; k++)
		err = reuse_maps(ss->parts[k], ss->obj);
	if (err)
		return err;
	for (k = 1; k < ss->nparts; k++)
		started[k] = pthread_create(&th[k], NULL, load_part, ss->parts[k]) == 0;
	err = (int)(intptr_t)load_part(ss->parts[0]);
	for (k = 1; k < ss->nparts; k++) {
		void *ret;
		int e;

		if (started[k])
			pthread_join(th[k], &ret);
		e = started[k] ? (int)(intptr_t)ret : (int)(intptr_t)load_part(ss->parts[k]);
		if (!err)
			err = e;
	}
	return err;
}

int session_load(struct session *ss, const void *obj, size_t size)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "sonde");
	struct compiled_script *cs = ss->cs;
	int *parts = xcalloc(cs->nprogs ? cs->nprogs : 1, sizeof(*parts));
	void *patched;
	size_t i;
	int err, k;

	libbpf_set_print(libbpf_print);
	/* CO-RE relocations against the kernel types they use (btf_core.c), not all of them */
	opts.btf_custom_path = btf_core_path();
	/* the stack walker's kernel functions, resolved here rather than by libbpf */
	patched = btf_kfuncs_resolve(obj, size);
	ss->obj = bpf_object__open_mem(patched ? patched : obj, size, &opts);
	ss->nparts = ss->obj ? plan_parts(cs, parts) : 0;
	for (k = 0; k < ss->nparts && ss->obj; k++) {
		ss->parts[k] = bpf_object__open_mem(patched ? patched : obj, size, &opts);
		if (!ss->parts[k])
			ss->nparts = k;	/* fewer parts; the session's object loads the rest */
	}
	free(patched);
	if (!ss->obj) {
		err = -errno;
		diag_error(NULL, "failed to open the BPF object: %s", strerror(-err));
		free(parts);
		return err;
	}
	if (ss->nparts == 1) {
		bpf_object__close(ss->parts[0]);
		ss->nparts = 0;
	}
	for (i = 0; i < cs->nprogs && ss->nparts; i++)
		if (parts[i] >= ss->nparts)
			parts[i] = 0;
	/* with parts, the session's object loads no program: it creates the maps */
	err = set_programs(ss->obj, cs, ss->nparts ? PART_NONE : PART_ALL, parts);
	for (k = 0; k < ss->nparts && !err; k++)
		err = set_programs(ss->parts[k], cs, k, parts);
	free(parts);
	if (err)
		return err;
	if (!ss->usyms)
		ss->usyms = usyms_new();
	err = unwind_setup(ss);
	if (err)
		return err;
	err = btf_core_fill(bpf_object__btf(ss->obj), obj, size);
	if (err) {
		diag_error(NULL, "failed to prepare the kernel types for CO-RE relocation: %s",
			   strerror(-err));
		return err;
	}
	if (ss->nparts)
		diag_verbose("loading %zu programs in %d parts in parallel (each program that takes "
			     "user stacks verifies the stack walker)\n", cs->nprogs, ss->nparts);
	err = bpf_object__load(ss->obj);
	if (!err && ss->nparts)
		err = load_parts(ss);
	if (err) {
		if (err == -EPERM)
			diag_error(NULL, "failed to load BPF programs: %s (sonde needs root, or "
				   "CAP_BPF and CAP_PERFMON)", strerror(-err));
		else
			report_load_error(ss, err);
		return err;
	}
	sb_free(&libbpf_log);
	ss->map_fds = xcalloc(cs->nmaps ? cs->nmaps : 1, sizeof(*ss->map_fds));
	for (i = 0; i < cs->nmaps; i++) {
		ss->map_fds[i] = bpf_object__find_map_fd_by_name(ss->obj, cs->maps[i].name);
		if (ss->map_fds[i] < 0)
			return missing_map(cs->maps[i].info->name, ss->map_fds[i]);
	}
	ss->stacks_fd = bpf_object__find_map_fd_by_name(ss->obj, MAP_STACKS);
	err = unwind_loaded(ss->unwind, ss->obj);
	if (err)
		return err;
	ss->globals_fd = bpf_object__find_map_fd_by_name(ss->obj, MAP_GLOBALS);
	if (ss->globals_fd < 0)
		return missing_map(MAP_GLOBALS, ss->globals_fd);
	ss->lost_fd = bpf_object__find_map_fd_by_name(ss->obj, MAP_LOST);
	if (ss->lost_fd < 0)
		return missing_map(MAP_LOST, ss->lost_fd);
	ss->ncpus = libbpf_num_possible_cpus();
	{
		struct timespec rt, mono;
		uint32_t key = GLOBAL_START_NS;
		uint64_t start;

		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_MONOTONIC, &mono);
		start = (uint64_t)mono.tv_sec * 1000000000ULL + (uint64_t)mono.tv_nsec;
		ss->boot_to_real_ns = ((int64_t)rt.tv_sec - (int64_t)mono.tv_sec) * 1000000000LL +
				      ((int64_t)rt.tv_nsec - (int64_t)mono.tv_nsec);
		bpf_map_update_elem(ss->globals_fd, &key, &start, 0);
	}
	/* the probed binaries are known up front, for stacks printed after they exit */
	{
		const char **paths = xcalloc(cs->nprogs + 1, sizeof(*paths));
		size_t n = probed_binaries(cs, paths);

		for (i = 0; i < n; i++)
			usyms_add_file(ss->usyms, paths[i]);
		free(paths);
	}
	if (cs->pid)
		usyms_prepare(ss->usyms, cs->pid);
	return 0;
}

static int attach_one(struct session *ss, const struct compiled_prog *cp)
{
	if (cp->run != COMPILED_ATTACH || !cp->attach)
		return 0;
	return cp->attach(cp, &ss->links);
}

int session_attach(struct session *ss)
{
	const struct compiled_script *cs = ss->cs;
	size_t i;
	int err;

	/*
	 * Programs on one event run in script order, as in bpftrace.  A tracepoint's programs
	 * run in the order they were attached (one array per tracepoint); a uprobe's consumers and
	 * a software event's perf events run newest first, so those attach last program first.
	 */
	/* BEGIN has run: a Ctrl-C meanwhile stops attaching, and END and the maps report */
	for (i = 0; i < cs->nprogs && !session_stop; i++) {
		if (cs->progs[i].prog_type == BPF_PROG_TYPE_TRACEPOINT &&
		    (err = attach_one(ss, &cs->progs[i])))
			return err;
	}
	for (i = cs->nprogs; i-- > 0 && !session_stop;) {
		if (cs->progs[i].prog_type != BPF_PROG_TYPE_TRACEPOINT &&
		    (err = attach_one(ss, &cs->progs[i])))
			return err;
	}
	return 0;
}

int session_run_special(struct session *ss, enum compiled_run which)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	const struct compiled_script *cs = ss->cs;
	size_t i;
	int err;

	for (i = 0; i < cs->nprogs; i++) {
		if (cs->progs[i].run != which)
			continue;
		err = bpf_prog_test_run_opts(bpf_program__fd(cs->progs[i].bpf), &opts);
		if (err) {
			err = -errno;
			diag_error(NULL, "failed to run the %s probe: %s",
				   which == COMPILED_BEGIN ? "BEGIN" : "END", strerror(-err));
			return err;
		}
	}
	return 0;
}

void session_close(struct session *ss)
{
	attach_set_release(&ss->links);
	session_watch_release(ss);
	if (ss->rb)
		ring_buffer__free(ss->rb);
	ss->rb = NULL;
	while (ss->nparts > 0)
		bpf_object__close(ss->parts[--ss->nparts]);
	if (ss->obj)
		bpf_object__close(ss->obj);
	ss->obj = NULL;
	unwind_close(ss->unwind);
	ss->unwind = NULL;
	btf_core_cleanup();
	if (ss->usyms)
		usyms_free(ss->usyms);
	ss->usyms = NULL;
	free(ss->map_fds);
	ss->map_fds = NULL;
	sb_free(&libbpf_log);
}
