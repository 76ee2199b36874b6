/*
 * uprobe.c - uprobe/uretprobe on functions of an ELF file.
 *
 * Offsets come from runtime/elf.c (the PT_LOAD rule of DESIGN.md), never from libbpf's
 * name-based attach, which translates through section headers and misses on lld-linked
 * binaries.  A wildcard over many functions of one binary becomes one program attached through
 * the kernel's uprobe multi-link when it has one (one syscall instead of one perf event each).
 */
#include "probe.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "diag.h"
#include "runtime/bpf_compat.h"
#include "runtime/disasm.h"
#include "runtime/dwarf_types.h"
#include "runtime/elf.h"
#include "runtime/libpath.h"
#include "runtime/uprobe_insn.h"
#include "util.h"

/* What uprobe_parse keeps besides the binary (ap->target) and the function (ap->func). */
struct uprobe_ap {
	enum { UPROBE_SYMBOL, UPROBE_CPP, UPROBE_LINE } kind;	/* :cpp:, BIN@FILE:LINE */
	uint64_t offset;	/* func+N, or the absolute address of 0xADDR */
	bool has_offset;
	bool is_addr;
};

static struct uprobe_ap *uap(const struct attach_point *ap)
{
	return ap->data;
}

/*
 * uprobe:BIN@FILE:LINE (bpftrace 0.26): a source line, from the DWARF line table.  The
 * binary stays in target, "FILE:LINE" goes to func and the kind is UPROBE_LINE.
 */
static int uprobe_parse_line(struct attach_point *ap, char *line)
{
	char *at = strrchr(ap->target, '@'), *end;
	long n;

	n = strtol(line, &end, 10);
	if (at == ap->target || !at[1] || *end || n <= 0) {
		diag_error(&ap->loc, "%s probe on a source line is %s:BINARY@FILE:LINE, with a "
			   "line number from 1", ap->ops->name, ap->ops->name);
		free(line);
		return -EINVAL;
	}
	*at = '\0';
	ap->func = xasprintf("%s:%ld", at + 1, n);
	uap(ap)->kind = UPROBE_LINE;
	free(line);
	if (ap->ops->is_return) {
		diag_error(&ap->loc, "uretprobe cannot be placed on a source line: use uprobe");
		return -EINVAL;
	}
	return 0;
}

/* A uprobe on a symbol (not an address, no +N) fires before the function's frame exists. */
static bool uprobe_at_entry(const struct attach_point *ap)
{
	return !uap(ap)->is_addr && (!uap(ap)->has_offset || uap(ap)->offset == 0);
}

static int uprobe_parse(struct attach_point *ap)
{
	char *parts[4] = { 0 };
	int n = probe_split(ap->text, parts, 4), i, err = 0;
	char *func, *plus;

	if (n == 2 && probe_pid) {
		/* uprobe:func with -p: the binary is the process's executable */
		ap->target = xasprintf("/proc/%d/exe", probe_pid);
		func = parts[1];
		parts[1] = NULL;
	} else if (n == 3) {
		ap->target = parts[1];
		func = parts[2];
		parts[1] = parts[2] = NULL;
	} else if (n == 4 && strcmp(parts[2], "cpp") == 0) {
		ap->target = parts[1];
		uap(ap)->kind = UPROBE_CPP;
		func = parts[3];
		parts[1] = parts[3] = NULL;
	} else {
		diag_error(&ap->loc, "%s probe must have 2 arguments: %s:binary:function (or "
			   "%s:function with -p)", ap->ops->name, ap->ops->name, ap->ops->name);
		err = -EINVAL;
		goto out;
	}
	if (!*ap->target || !*func) {
		diag_error(&ap->loc, "%s probe needs a binary and a function", ap->ops->name);
		free(func);
		err = -EINVAL;
		goto out;
	}
	if (uap(ap)->kind == UPROBE_SYMBOL && strchr(ap->target, '@')) {
		err = uprobe_parse_line(ap, func);
		goto out;
	}
	if (strncmp(func, "0x", 2) == 0 || (*func >= '0' && *func <= '9')) {
		char *end;

		/* an address, in hex or, as bpftrace takes uprobe:BIN:10, in decimal */
		uap(ap)->offset = strtoull(func, &end, strncmp(func, "0x", 2) == 0 ? 16 : 10);
		if (*end) {
			diag_error(&ap->loc, "invalid address '%s'", func);
			free(func);
			err = -EINVAL;
			goto out;
		}
		uap(ap)->is_addr = true;
	} else if ((plus = strrchr(func, '+')) && plus[1] >= '0' && plus[1] <= '9') {
		char *end;

		uap(ap)->offset = strtoull(plus + 1, &end, 0);
		if (*end) {
			diag_error(&ap->loc, "invalid offset in '%s'", func);
			free(func);
			err = -EINVAL;
			goto out;
		}
		*plus = '\0';
		uap(ap)->has_offset = true;
	}
	ap->func = func;
out:
	for (i = 0; i < n; i++)
		free(parts[i]);
	return err;
}

/* The offsets already targeted: open addressing, so a wildcard over N functions stays O(N). */
struct offset_set {
	uint64_t *slots;	/* offset + 1; 0 is a free slot */
	size_t cap, n;
};

static uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* Insert off; false if it was there already. */
static bool offset_set_add(struct offset_set *set, uint64_t off)
{
	size_t i;

	if (2 * (set->n + 1) > set->cap) {
		struct offset_set big = { .cap = set->cap ? 2 * set->cap : 64 };

		big.slots = xcalloc(big.cap, sizeof(*big.slots));
		for (i = 0; i < set->cap; i++)
			if (set->slots[i])
				offset_set_add(&big, set->slots[i] - 1);
		free(set->slots);
		*set = big;
	}
	for (i = hash_u64(off) & (set->cap - 1); set->slots[i]; i = (i + 1) & (set->cap - 1))
		if (set->slots[i] == off + 1)
			return false;
	set->slots[i] = off + 1;
	set->n++;
	return true;
}

struct match_ctx {
	struct attach_point *ap;
	struct elf_file *ef;
	const char *path;
	struct probe_targets *ts;
	struct offset_set seen;
	bool demangled;
	int err;
};

static void add_target(struct match_ctx *c, const char *func, uint64_t vaddr)
{
	uint64_t off;
	char *name;

	if (elf_vaddr_to_offset(c->ef, vaddr, &off)) {
		diag_error(&c->ap->loc, "%s: address 0x%llx of %s is in no loadable segment", c->path,
			   (unsigned long long)vaddr, func);
		c->err = -EINVAL;
		return;
	}
	/* one target per address: aliases and C++ constructor variants share one */
	if (!offset_set_add(&c->seen, off))
		return;
	name = xasprintf("%s:%s:%s", c->ap->ops->name, c->path, func);
	probe_targets_add(c->ts, name, c->path, func, off);
	free(name);
}

/* "int Ns::twice<int>(int)" -> "Ns::twice<int>(int)": a template's return type is not part of
 * the name people write. */
static const char *skip_return_type(const char *dm)
{
	const char *p, *name = dm;
	int depth = 0;

	for (p = dm; *p && *p != '('; p++) {
		if (*p == '<')
			depth++;
		else if (*p == '>')
			depth--;
		else if (*p == ' ' && depth == 0)
			name = p + 1;
	}
	return name;
}

static int match_sym(const struct elf_sym *sym, void *arg)
{
	struct match_ctx *c = arg;
	const char *name = c->demangled && sym->demangled ? sym->demangled : sym->name;

	if (glob_match(c->ap->func, name))
		add_target(c, name, sym->vaddr);
	else if (sym->demangled && (glob_match(c->ap->func, sym->demangled) ||
				    glob_match(c->ap->func, skip_return_type(sym->demangled))))
		add_target(c, sym->demangled, sym->vaddr);
	return 0;
}

static int add_line_target(uint64_t vaddr, void *arg)
{
	struct match_ctx *c = arg;

	add_target(c, c->ap->func, vaddr);
	return c->err;
}

/*
 * A uprobe on a function fires in its inlined copies too (DWARF inline information), as
 * bpftrace 0.24 does.  Returns how many copies were added; without DWARF only the symbol is
 * probed, which -v reports.
 */
static int add_inlined(struct match_ctx *c)
{
	size_t before = c->ts->n;
	int n;

	if (c->ap->ops->is_return)
		return 0;	/* an inlined copy has no return to probe */
	n = elf_inline_foreach(c->ef, c->ap->func, add_line_target, c);
	if (n == -ENODATA || n == -ENOTSUP) {
		diag_verbose("%s: no debug info: uprobe on %s probes its symbol only, not copies "
			     "the compiler may have inlined\n", c->path, c->ap->func);
		return 0;
	}
	if (n > 0)
		diag_verbose("%s: %s also probed at %zu inlined copies\n", c->path, c->ap->func,
			     c->ts->n - before);
	return n > 0 ? (int)(c->ts->n - before) : 0;
}

/* Every first instruction of FILE:LINE in the binary (ap->func is "FILE:LINE"). */
static void expand_line(struct match_ctx *c)
{
	char *file = xstrdup(c->ap->func), *colon = strrchr(file, ':');
	int line = atoi(colon + 1), err;

	*colon = '\0';
	err = elf_line_foreach(c->ef, file, line, add_line_target, c);
	if (err == -ENOENT)
		diag_error(&c->ap->loc, "no code for %s:%d in the line table of %s", file, line,
			   c->path);
	else if (err == -ENODATA)
		diag_error(&c->ap->loc, "%s has no DWARF line table (build it with -g, or install "
			   "its debug file)", c->path);
	else if (err && !c->err)
		diag_error(&c->ap->loc, "cannot read the line table of %s: %s", c->path,
			   strerror(-err));
	if (err && !c->err)
		c->err = err;
	free(file);
}

/*
 * The targets of ap in one binary (path is taken).  With quiet, a binary that is not an ELF
 * file or lacks the function adds nothing and is no error (one of several a wildcard matched).
 */
/*
 * A function that a library does not define but one of the libraries it loads does: glibc
 * 2.34 and later keep libpthread.so.0 as an empty stub whose pthread_create is libc.so.6's, so
 * bpftrace's threadsnoop.bt names a function that is not there.  A library's DT_NEEDED
 * libraries are searched (in its own directory first) and the function is traced where it
 * is, with a warning that says so.  Never for an executable: its imports are other processes'
 * functions too.
 */
static bool expand_in_needed(struct match_ctx *c)
{
	const char *func = c->ap->func;
	char **names;
	size_t n, i;
	bool found = false;

	if (!elf_is_library(c->ef) || !(names = elf_needed(c->ef, &n)))
		return false;
	for (i = 0; i < n && !found; i++) {
		const char *slash = strrchr(c->path, '/');
		char *lib = slash ? xasprintf("%.*s/%s", (int)(slash - c->path), c->path, names[i]) :
			    NULL;
		struct match_ctx in = *c;
		struct elf_sym sym;

		memset(&in.seen, 0, sizeof(in.seen));
		if (lib && access(lib, R_OK)) {
			free(lib);
			lib = NULL;
		}
		if (!lib && libpath_resolve(names[i], probe_pid, &lib))
			lib = NULL;
		if (lib && elf_open(lib, &in.ef) == 0) {
			in.path = lib;
			if (elf_sym_find(in.ef, func, &sym) == 0) {
				diag_warn(&c->ap->loc, "%s is not in %s but in %s, which it loads: traced "
					  "there", func, c->path, lib);
				add_target(&in, func, sym.vaddr);
				c->err = in.err;
				found = true;
			}
			elf_close(in.ef);
		}
		free(in.seen.slots);
		free(lib);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return found;
}

static int expand_path(struct attach_point *ap, struct probe_targets *ts, char *path, bool quiet)
{
	struct match_ctx c = { .ap = ap, .ts = ts };
	struct elf_file *ef;
	struct elf_sym sym;
	int err;

	err = elf_open(path, &ef);
	if (err) {
		if (!quiet)
			diag_error(&ap->loc, "failed to open %s: %s", path,
				   err == -ENOEXEC ? "not an ELF file" : strerror(-err));
		free(path);
		return quiet ? 0 : err;
	}
	c.ef = ef;
	c.path = path;
	c.demangled = uap(ap)->kind != UPROBE_SYMBOL;
	if (uap(ap)->kind == UPROBE_LINE) {
		expand_line(&c);
	} else if (uap(ap)->is_addr) {
		/* an address in no function, or inside an instruction, would corrupt the program */
		uint64_t delta;

		if (elf_sym_at(ef, uap(ap)->offset, &sym, &delta)) {
			diag_error(&ap->loc, "Could not resolve address: %s:0x%llx", path,
				   (unsigned long long)uap(ap)->offset);
			c.err = -ENOENT;
		} else if ((err = disasm_check_boundary(ef, &sym, delta))) {
			diag_error(&ap->loc, "%s:0x%llx is %s+%llu, %s", path,
				   (unsigned long long)uap(ap)->offset, sym.name,
				   (unsigned long long)delta,
				   err == -ERANGE ? "past the end of the function" :
				   "not on an instruction boundary: the probe would corrupt the program");
			c.err = err;
		} else {
			add_target(&c, ap->func, uap(ap)->offset);
		}
	} else if (has_wildcard(ap->func)) {
		size_t before = ts->n;

		elf_sym_foreach(ef, match_sym, &c);
		if (ts->n == before && !c.err)
			diag_verbose("no functions in %s match %s\n", path, ap->func);
	} else {
		err = elf_sym_find(ef, ap->func, &sym);
		if (err == -ENOTUNIQ) {
			diag_error(&ap->loc, "'%s' matches several functions in %s: give the full "
				   "signature, e.g. \"%s(int)\", or use a wildcard", ap->func, path,
				   ap->func);
			c.err = err;
		} else if (err == -ENOENT && quiet) {
			/* not in this one of the matched binaries (its inlined copies do not count) */
		} else if (err == -ENOENT && !uap(ap)->has_offset && add_inlined(&c) > 0) {
			/* a function inlined everywhere: its copies are all there is */
		} else if (err == -ENOENT && !uap(ap)->has_offset && expand_in_needed(&c)) {
			/* defined by a library this one loads */
		} else if (err == -ENOENT) {
			if (!ts->missing)
				ts->missing = xasprintf("Could not resolve symbol: %s:%s", path,
							ap->func);
		} else if (err) {
			diag_error(&ap->loc, "Could not resolve symbol: %s:%s", path, ap->func);
			c.err = err;
		} else if (uap(ap)->has_offset) {
			err = disasm_check_boundary(ef, &sym, uap(ap)->offset);
			if (err) {
				if (err == -ERANGE)
					diag_error(&ap->loc, "Offset outside the function bounds ('%s' "
						   "size is %llu)", ap->func,
						   (unsigned long long)sym.size);
				else
					diag_error(&ap->loc, "%s+%llu is %s", ap->func,
					   (unsigned long long)uap(ap)->offset,
					   "not on an instruction boundary: the probe would corrupt the "
					   "program");
				c.err = err;
			} else {
				char *f = xasprintf("%s+%llu", ap->func, (unsigned long long)uap(ap)->offset);

				add_target(&c, f, sym.vaddr + uap(ap)->offset);
				free(f);
			}
		} else {
			add_target(&c, ap->func, sym.vaddr);
			add_inlined(&c);
		}
	}
	free(c.seen.slots);
	elf_close(ef);
	free(path);
	return c.err;
}

/* uprobe:/usr/lib/lib*.so:f, or uprobe:*:f with -p: every matching binary (libpath_glob). */
static int expand_glob(struct attach_point *ap, struct probe_targets *ts)
{
	char **paths;
	size_t n;
	int err = libpath_glob(ap->target, probe_pid, &paths, &n);

	if (err) {
		diag_error(&ap->loc, "no binary or library matches '%s'%s", ap->target,
			   probe_pid ? " in the target process" : "");
		return err;
	}
	for (size_t i = 0; i < n && !err; i++) {
		err = expand_path(ap, ts, paths[i], true);
		paths[i] = NULL;
	}
	libpath_free_list(paths, n);
	if (!err && !ts->n && !has_wildcard(ap->func) && !uap(ap)->is_addr && !ts->missing)
		ts->missing = xasprintf("Could not resolve symbol: %s:%s", ap->target, ap->func);
	return err;
}

static int uprobe_expand(struct attach_point *ap, struct probe_targets *ts)
{
	char *path = NULL;
	int err;

	if (has_wildcard(ap->target)) {
		err = expand_glob(ap, ts);
		goto out;
	}
	err = libpath_resolve(ap->target, probe_pid, &path);
	if (err && probe_pid && kill(probe_pid, 0) && errno == ESRCH) {
		/* the target is gone: said once, not once per attach point */
		static bool told;

		if (!told)
			diag_error(&ap->loc, "the target process %d exited: No such process", probe_pid);
		told = true;
		return -ESRCH;
	}
	if (err) {
		diag_error(&ap->loc, "could not find binary or library '%s'%s", ap->target,
			   probe_pid ? " in the target process" : "");
		return err;
	}
	err = expand_path(ap, ts, path, false);
out:
	/*
	 * Several functions: one program and one multi-link per binary, so attaching and
	 * detaching stay fast even for thousands (a perf-event uprobe costs ~45 ms to detach).
	 * One function: a perf-event uprobe, which runs the same program 30 to 70 ns faster per
	 * hit here than the multi-link does (bench/bench.py's kernel rows, 2 December 2026).
	 */
	ts->shared_program = ts->n > 1 && probe_uprobe_multi;
	return err;
}

/* The kernel's ENOTSUPP (not in userspace errno.h): it cannot probe that instruction. */
#define KERNEL_ENOTSUPP 524

/* One multi-link over the targets idx[0..n): its fd, or -errno. */
static int link_create(const struct probe_targets *ts, const size_t *idx, size_t n,
		       struct bpf_program *prog, bool ret)
{
	struct sonde_link_create_uprobe_multi attr;
	uint64_t *offsets = xcalloc(n, sizeof(*offsets));
	uint64_t *cookies = xcalloc(n, sizeof(*cookies));
	size_t i;
	int fd;

	/* the cookie tells the shared program which function fired (the `func` builtin) */
	for (i = 0; i < n; i++) {
		offsets[i] = ts->v[idx[i]].offset;
		cookies[i] = ts->v[idx[i]].cookie;
	}
	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = (uint32_t)bpf_program__fd(prog);
	attr.attach_type = SONDE_BPF_TRACE_UPROBE_MULTI;
	attr.path = (uint64_t)(uintptr_t)ts->v[0].path;
	attr.offsets = (uint64_t)(uintptr_t)offsets;
	attr.cookies = (uint64_t)(uintptr_t)cookies;
	attr.cnt = (uint32_t)n;
	attr.umflags = ret ? SONDE_BPF_F_UPROBE_MULTI_RETURN : 0;
	attr.pid = (uint32_t)probe_pid;
	fd = (int)syscall(__NR_bpf, SONDE_BPF_LINK_CREATE, &attr, sizeof(attr));
	if (fd < 0)
		fd = -errno;
	free(offsets);
	free(cookies);
	return fd;
}

/*
 * Attach idx[0..n), finding the functions the kernel refuses (ENOTSUPP fails the whole link
 * and does not say which): a refused set is split in halves, each attached on its own.  A half
 * that attaches keeps its link, so the cost is a few failed attempts per refused function
 * (about 2 log2 n), never one attempt per function.  Refused targets are marked in refused[].
 */
static int attach_bisect(const struct probe_targets *ts, const size_t *idx, size_t n,
			 struct bpf_program *prog, bool ret, struct attach_set *set, bool *refused)
{
	int fd = link_create(ts, idx, n, prog, ret);

	if (fd >= 0) {
		attach_set_add_fd(set, fd);
		return 0;
	}
	if (fd != -KERNEL_ENOTSUPP)
		return fd;
	if (n == 1) {
		refused[idx[0]] = true;
		return 0;
	}
	fd = attach_bisect(ts, idx, n / 2, prog, ret, set, refused);
	return fd ? fd : attach_bisect(ts, idx + n / 2, n - n / 2, prog, ret, set, refused);
}

/* The instruction at offset in the file fd: why the kernel would refuse a uprobe on it, and why
 * it would run one wrongly (each NULL when not). */
static void judge_insn(int fd, uint64_t offset, const char **refusal, const char **hazard)
{
	uint8_t code[16];
	ssize_t n = pread(fd, code, sizeof(code), (off_t)offset);

	if (n > 0) {
		*refusal = uprobe_insn_refusal(code, (size_t)n);
		*hazard = uprobe_insn_hazard(code, (size_t)n);
	}
}

/* Why the kernel would refuse each target, from its first bytes in the file (NULL: accept), and
 * which ones it would accept but run wrongly (hazard[i], NULL: safe). */
static const char **predict_refusals(const struct probe_targets *ts, const char ***hazard)
{
	const char **why = xcalloc(ts->n, sizeof(*why));
	int fd = open(ts->v[0].path, O_RDONLY | O_CLOEXEC);
	size_t i;

	*hazard = xcalloc(ts->n, sizeof(**hazard));
	for (i = 0; fd >= 0 && i < ts->n; i++)
		judge_insn(fd, ts->v[i].offset, &why[i], &(*hazard)[i]);
	if (fd >= 0)
		close(fd);
	return why;
}

/*
 * A uprobe the kernel would emulate wrongly (uprobe_insn.c): why, or NULL when it is safe;
 * *refusal: why the kernel would refuse it, or NULL.
 */
static const char *target_hazard(const struct probe_target *t, const char **refusal)
{
	int fd = open(t->path, O_RDONLY | O_CLOEXEC);
	const char *hazard = NULL;

	*refusal = NULL;
	if (fd >= 0) {
		judge_insn(fd, t->offset, refusal, &hazard);
		close(fd);
	}
	return hazard;
}

/* A target at a function's entry (not func+N, not an address): "its first instruction". */
static bool at_entry(const struct probe_target *t)
{
	return t->func && !strchr(t->func, '+') && strncmp(t->func, "0x", 2) != 0;
}

/*
 * One multi-link for the functions predicted to be accepted (bisected if the kernel still
 * refuses one), then each predicted refusal tried on its own: a refusal fails at once, having
 * registered nothing, and a wrong prediction costs one more link, never a skipped function.
 */
static int attach_multi(const struct probe_targets *ts, struct bpf_program *prog,
			struct attach_set *set, bool ret)
{
	const char **hazard;
	const char **why = predict_refusals(ts, &hazard);
	size_t *idx = xcalloc(ts->n, sizeof(*idx));
	bool *refused = xcalloc(ts->n, sizeof(*refused));
	size_t i, n = 0, nrefused = 0, nhazard = 0;
	int err = 0;

	for (i = 0; i < ts->n; i++)
		if (!why[i] && !hazard[i])
			idx[n++] = i;
	if (n)
		err = attach_bisect(ts, idx, n, prog, ret, set, refused);
	for (i = 0; !err && i < ts->n; i++)
		if (why[i] && !hazard[i])
			err = attach_bisect(ts, &i, 1, prog, ret, set, refused);
	if (err == -ESRCH && probe_pid)
		diag_error(NULL, "failed to attach %zu uprobe%s to %s: process %d exited while "
			   "sonde was attaching", ts->n, ts->n == 1 ? "" : "s", ts->v[0].path,
			   probe_pid);
	else if (err)
		diag_error(NULL, "failed to attach %zu uprobe%s to %s: %s", ts->n,
			   ts->n == 1 ? "" : "s", ts->v[0].path, strerror(-err));
	for (i = 0; !err && i < ts->n; i++) {
		if (!refused[i])
			continue;
		nrefused++;
		diag_warn(NULL, "%s skipped: the kernel refuses a uprobe on its first instruction (%s)",
			  ts->v[i].name, why[i] ? why[i] : "not supported");
	}
	for (i = 0; !err && i < ts->n; i++) {
		if (!hazard[i] || why[i])
			continue;
		nhazard++;
		if (ts->n == 1)
			diag_error(NULL, "refusing to attach %s: its first instruction is %s and would "
				   "never run, so the traced program would compute wrong results",
				   ts->v[i].name, hazard[i]);
		else
			diag_warn(NULL, "%s skipped: its first instruction is %s and would never run, "
				  "so the traced program would compute wrong results", ts->v[i].name,
				  hazard[i]);
	}
	nrefused += nhazard;
	if (!err && nrefused == ts->n) {
		if (ts->n > 1 && nhazard)
			diag_error(NULL, "no uprobe on %s can be attached safely (see the warnings)",
				   ts->v[0].path);
		else if (!nhazard)
			diag_error(NULL, "the kernel refused every uprobe on %s", ts->v[0].path);
		err = nhazard ? -EINVAL : -KERNEL_ENOTSUPP;
	}
	set->skipped += nrefused;
	free(hazard);
	free(why);
	free(idx);
	free(refused);
	return err;
}

static int uprobe_attach(struct attach_point *ap, const struct probe_targets *ts,
			 const struct probe_target *t, struct bpf_program *prog,
			 struct attach_set *set)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts);
	struct bpf_link *link;
	const char *why, *refusal;

	if (!t) {
		/* one multi-link per binary: the targets of one binary are contiguous */
		for (size_t start = 0, end; start < ts->n; start = end) {
			struct probe_targets one = *ts;
			int err;

			for (end = start + 1; end < ts->n && !strcmp(ts->v[end].path, ts->v[start].path);
			     end++)
				;
			one.v = ts->v + start;
			one.n = end - start;
			err = attach_multi(&one, prog, set, ap->ops->is_return);
			if (err)
				return err;
		}
		return 0;
	}
	if ((why = target_hazard(t, &refusal))) {
		if (at_entry(t))
			diag_error(NULL, "refusing to attach %s: its first instruction is %s and would "
				   "never run, so the traced program would compute wrong results",
				   t->name, why);
		else
			diag_error(NULL, "refusing to attach %s: its instruction at offset 0x%llx of %s "
				   "is %s and would never run, so the traced program would compute "
				   "wrong results", t->name, (unsigned long long)t->offset, t->path, why);
		return -EINVAL;
	}
	opts.retprobe = ap->ops->is_return;
	opts.ref_ctr_offset = t->semaphore;
	link = bpf_program__attach_uprobe_opts(prog, probe_pid ? probe_pid : -1, t->path,
					       t->offset, &opts);
	if (!link) {
		int err = -errno;

		if (err == -KERNEL_ENOTSUPP)
			diag_error(NULL, "failed to attach %s: the kernel refuses a uprobe on %s (%s)",
				   t->name, at_entry(t) ? "its first instruction" : "that instruction",
				   refusal ? refusal : "not supported");
		else if (err == -ESRCH && probe_pid)
			diag_error(NULL, "failed to attach %s: process %d exited while sonde was "
				   "attaching", t->name, probe_pid);
		else
			diag_error(NULL, "failed to attach %s %s:%s (offset 0x%llx): %s", ap->ops->name,
				   t->path, t->func ? t->func : "?", (unsigned long long)t->offset,
				   strerror(-err));
		return err;
	}
	attach_set_add_link(set, link);
	return 0;
}

/*
 * args: the function's DWARF parameters (runtime/dwarf_types.c), read only when the probe uses
 * them.  bpftrace 0.17 has no args in a uretprobe: the registers hold other values by then.
 */
static struct record *uprobe_args(struct attach_point *ap, const struct probe_target *t)
{
	struct record *rec;

	if (!ap->uses_args || ap->ops->is_return || !t->path)
		return NULL;
	return dwarf_types_args(t->path, t->offset, &rec) ? NULL : rec;
}

struct list_name {
	char *name;
	uint64_t vaddr;
};

struct list_ctx {
	const char *type;
	const char *path;
	const char *pattern;
	struct list_name *names;	/* sorted before printing, as bpftrace lists them */
	size_t n, cap;
};

static int list_sym(const struct elf_sym *sym, void *arg)
{
	struct list_ctx *c = arg;
	const char *name = sym->demangled ? sym->demangled : sym->name;

	if (c->pattern && !glob_match(c->pattern, sym->name) && !glob_match(c->pattern, name))
		return 0;
	xgrow((void **)&c->names, &c->cap, c->n + 1, sizeof(*c->names));
	c->names[c->n].name = xasprintf("%s:%s:%s", c->type, c->path, name);
	c->names[c->n++].vaddr = sym->vaddr;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct list_name *)a)->name, ((const struct list_name *)b)->name);
}

/* The functions of the binary ef at path matching glob (NULL: all), sorted; ef is closed. */
static void list_funcs(const char *type, struct elf_file *ef, const char *path, const char *glob,
		       bool verbose, FILE *out)
{
	struct list_ctx c = { .type = type, .path = path, .pattern = glob };

	elf_sym_foreach(ef, list_sym, &c);
	elf_close(ef);
	if (c.n)	/* no names: a NULL array, which qsort must not get */
		qsort(c.names, c.n, sizeof(*c.names), cmp_name);
	for (size_t k = 0; k < c.n; k++) {
		fprintf(out, "%s\n", c.names[k].name);
		/* -lv: the parameters with their C types, as bpftrace lists them from DWARF */
		if (verbose)
			dwarf_types_print_params(path, c.names[k].vaddr, out);
		free(c.names[k].name);
	}
	free(c.names);
}

/* Every binary a wildcard names (or, for -l -p PID alone, every file the process maps). */
static int list_glob(const char *type, const char *binary, const char *glob, bool verbose,
		     FILE *out)
{
	char **paths;
	size_t n;
	int err = libpath_glob(binary, probe_pid, &paths, &n);

	if (err == -ESRCH) {
		diag_error(NULL, "cannot read the mappings of process %d", probe_pid);
		return err;
	}
	for (size_t i = 0; i < n; i++) {
		struct elf_file *ef;

		if (elf_open(paths[i], &ef) == 0)
			list_funcs(type, ef, paths[i], glob, verbose, out);
	}
	libpath_free_list(paths, n);
	return 0;
}

static int list_type(const char *type, const char *pattern, bool verbose, FILE *out)
{
	char *parts[5] = { 0 }, *path, *glob;
	struct elf_file *ef;
	int n, err;

	if (!pattern || !*pattern)
		return probe_pid ? list_glob(type, "*", NULL, verbose, out) : 0;
	n = probe_split(pattern, parts, 5);
	if (n >= 2 && has_wildcard(parts[1])) {
		err = list_glob(type, parts[1], n > 2 && *parts[n - 1] ? parts[n - 1] : NULL, verbose,
				out);
		for (int i = 0; i < n; i++)
			free(parts[i]);
		return err;
	}
	for (int i = 0; i < n; i++)
		free(parts[i]);
	err = probe_list_binary(pattern, &ef, &path, &glob);
	if (err)
		return err > 0 ? 0 : err;
	list_funcs(type, ef, path, glob, verbose, out);
	free(path);
	free(glob);
	return 0;
}

static int uprobe_list(const char *pattern, bool verbose, FILE *out)
{
	return list_type("uprobe", pattern, verbose, out);
}

static int uretprobe_list(const char *pattern, bool verbose, FILE *out)
{
	/* -l -p PID alone lists the process's functions once, as uprobes */
	if (!pattern || !*pattern)
		return 0;
	return list_type("uretprobe", pattern, verbose, out);
}

const struct probe_ops probe_uprobe = {
	.name = "uprobe",
	.alias = "u",
	.ctx = CTX_PT_REGS,
	.as = AS_USER,
	.prog_type = BPF_PROG_TYPE_KPROBE,
	.section = "uprobe",
	.shared_attach_type = SONDE_BPF_TRACE_UPROBE_MULTI,
	.has_args = true,
	.has_stack_args = true,
	.data_size = sizeof(struct uprobe_ap),
	.at_entry = uprobe_at_entry,
	.parse = uprobe_parse,
	.expand = uprobe_expand,
	.args = uprobe_args,
	.attach = uprobe_attach,
	.list = uprobe_list,
};

const struct probe_ops probe_uretprobe = {
	.name = "uretprobe",
	.alias = "ur",
	.ctx = CTX_PT_REGS,
	.as = AS_USER,
	.prog_type = BPF_PROG_TYPE_KPROBE,
	.section = "uretprobe",
	.shared_attach_type = SONDE_BPF_TRACE_UPROBE_MULTI,
	.is_return = true,
	.has_args = false,
	.data_size = sizeof(struct uprobe_ap),
	.parse = uprobe_parse,
	.expand = uprobe_expand,
	.attach = uprobe_attach,
	.list = uretprobe_list,
};
