/*
 * watchpoint.c - watchpoint and asyncwatchpoint: hardware breakpoints (PERF_TYPE_BREAKPOINT perf
 * events) with the probe's program attached, as bpftrace 0.17 has them.
 *
 * watchpoint:ADDR:LEN:MODE watches a fixed address: of the -p/-c process, or of the kernel
 * on every CPU.  watchpoint:FUNC+argN:LEN:MODE watches what argN points to when FUNC is called,
 * an address known only then: each function gets two programs.  A setup uprobe (emit_setup,
 * filtered to the target process) reads argN, stops the process with SIGSTOP (not for
 * asyncwatchpoint) and reports the address (EV_WATCH); user space opens the breakpoint for the
 * process there, attaches the probe's program (attach_at) and sends SIGCONT.  The event is
 * reserved before the signal is sent, so a full ring buffer never leaves the process stopped.
 *
 * The kernel refuses a breakpoint with ENOSPC when the debug registers are taken (x86 has 4);
 * bpftrace then prints "You are out of watchpoint registers" and lets the process go on.  A
 * breakpoint that opens still only fires where the (virtual) CPU has working debug registers.
 */
#include "probe.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <wordexp.h>

#include <bpf/libbpf.h>

#include "arch.h"
#include "builtins/pidns.h"
#include "codegen/cg.h"
#include "diag.h"
#include "runtime/elf.h"
#include "runtime/libpath.h"
#include "script.h"
#include "util.h"

/* linux/hw_breakpoint.h's bp_type bits (the header's TYPE_* enumerators clash with ours) */
enum { WATCH_BP_R = 1, WATCH_BP_W = 2, WATCH_BP_X = 4 };

/* What watch_parse keeps besides the function (ap->func, FUNC+argN only). */
struct watch_ap {
	uint64_t addr;		/* ADDR, or N of argN */
	uint32_t len;		/* 1, 2, 4 or 8 bytes */
	char mode[4];		/* sorted, as bpftrace names the probe: "rw" */
	bool async;		/* asyncwatchpoint: the process is not stopped */
};

static struct watch_ap *wap(const struct attach_point *ap)
{
	return ap->data;
}

/* x86 debug registers (Intel SDM vol. 3, 17.2.4): no read-only, no execute with data. */
static const char *const invalid_modes[] = { "r", "rx", "wx", "rwx" };

/* "argN" -> N; -1 when it is not that. */
static int parse_argn(const char *s)
{
	char *end;
	long n;

	if (strncmp(s, "arg", 3) || s[3] < '0' || s[3] > '9')
		return -1;
	n = strtol(s + 3, &end, 10);
	return *end || n > 1000 ? -1 : (int)n;
}

static int parse_where(struct attach_point *ap, char *where)
{
	char *plus = strchr(where, '+'), *end;
	int n;

	if (!plus) {
		if (*where == '-' || !*where) {
			diag_error(&ap->loc, "invalid watchpoint address '%s'", where);
			return -EINVAL;
		}
		errno = 0;
		wap(ap)->addr = strtoull(where, &end, 0);
		if (*end || errno) {
			diag_error(&ap->loc, "Found trailing non-numeric characters");
			return -EINVAL;
		}
		return 0;
	}
	if (strchr(plus + 1, '+') || plus == where || !plus[1]) {
		diag_error(&ap->loc, "Invalid function/address argument");
		return -EINVAL;
	}
	n = parse_argn(plus + 1);
	if (n < 0) {
		diag_error(&ap->loc, "Invalid function argument");
		return -EINVAL;
	}
	*plus = '\0';
	ap->func = xstrdup(where);
	wap(ap)->addr = (uint64_t)n;
	return 0;
}

/* The checks of bpftrace's semantic pass, in its order and words (all of them reported). */
static int check_watch(struct attach_point *ap, const char *len, const char *mode)
{
	struct watch_ap *w = wap(ap);
	char *end;
	unsigned long n;
	size_t i, j, m = strlen(mode);
	int err = 0;

	if (ap->func) {
		if (!probe_pid && !probe_cmd) {
			diag_error(&ap->loc, "-p PID or -c CMD required for watchpoint");
			err = -EINVAL;
		}
		if (w->addr >= ARCH_ARG_REGS) {
			diag_error(&ap->loc, "x86_64 doesn't support arg%llu", (unsigned long long)w->addr);
			err = -EINVAL;
		}
	} else if (w->async) {
		diag_error(&ap->loc, "%s requires a function name", ap->ops->name);
		err = -EINVAL;
	} else if (!w->addr) {
		diag_error(&ap->loc, "watchpoint must be attached to a non-zero address");
		err = -EINVAL;
	}
	errno = 0;
	n = strtoul(len, &end, 0);
	if (*end || !*len || errno || (n != 1 && n != 2 && n != 4 && n != 8)) {
		diag_error(&ap->loc, "watchpoint length must be one of (1,2,4,8)");
		return -EINVAL;
	}
	w->len = (uint32_t)n;
	for (i = 0; i < m; i++)
		if (mode[i] != 'r' && mode[i] != 'w' && mode[i] != 'x')
			break;
	if (!m || i < m) {
		diag_error(&ap->loc, "watchpoint mode must be combination of (r,w,x)");
		return -EINVAL;
	}
	if (m > 3) {
		diag_error(&ap->loc, "watchpoint modes may not be duplicated");
		return -EINVAL;
	}
	memcpy(w->mode, mode, m + 1);
	/* sorted: bpftrace names watchpoint:...:wr "...:rw" */
	for (i = 1; i < m; i++)
		for (j = i; j > 0 && w->mode[j - 1] > w->mode[j]; j--) {
			char c = w->mode[j];

			w->mode[j] = w->mode[j - 1];
			w->mode[j - 1] = c;
		}
	for (i = 1; i < m; i++)
		if (w->mode[i - 1] == w->mode[i]) {
			diag_error(&ap->loc, "watchpoint modes may not be duplicated");
			return -EINVAL;
		}
	for (i = 0; i < ARRAY_SIZE(invalid_modes); i++)
		if (strcmp(w->mode, invalid_modes[i]) == 0) {
			diag_error(&ap->loc, "invalid watchpoint mode: %s", w->mode);
			return -EINVAL;
		}
	/* the kernel's rules (arch/x86/kernel/hw_breakpoint.c), said before anything runs */
	if (strcmp(w->mode, "x") == 0 && w->len != sizeof(long)) {
		diag_error(&ap->loc, "watchpoint mode x needs length %zu on x86_64 (an execute "
			   "breakpoint watches one instruction address)", sizeof(long));
		return -EINVAL;
	}
	if (!ap->func && w->addr % w->len) {
		diag_error(&ap->loc, "watchpoint address 0x%llx is not aligned to its length %u",
			   (unsigned long long)w->addr, w->len);
		return -EINVAL;
	}
	return err;
}

static int watch_parse(struct attach_point *ap)
{
	char *parts[5] = { 0 };
	int n = probe_split(ap->text, parts, 5), i, err;

	wap(ap)->async = ap->ops == &probe_asyncwatchpoint;
	if (n != 4) {
		diag_error(&ap->loc, "%s probe type requires 3 arguments", ap->ops->name);
		err = -EINVAL;
		goto out;
	}
	err = parse_where(ap, parts[1]);
	if (!err)
		err = check_watch(ap, parts[2], parts[3]);
out:
	for (i = 0; i < n; i++)
		free(parts[i]);
	return err;
}

/*
 * The binary of the target, as bpftrace names it in the probe: /proc/PID/exe with -p, the
 * command's program with -c (the path as written, or found in $PATH).  NULL without either.
 */
static char *target_binary(void)
{
	wordexp_t we;
	char *path = NULL;

	if (probe_pid)
		return xasprintf("/proc/%d/exe", probe_pid);
	if (!probe_cmd || wordexp(probe_cmd, &we, WRDE_NOCMD))
		return NULL;
	if (we.we_wordc > 0) {
		if (strchr(we.we_wordv[0], '/'))
			path = xstrdup(we.we_wordv[0]);
		else if (libpath_resolve(we.we_wordv[0], 0, &path))
			path = NULL;
	}
	wordfree(&we);
	return path;
}

/* bpftrace's probe name: watchpoint[:BINARY]:FUNC[:N]:LEN:MODE or
 * watchpoint[:BINARY]:ADDR:LEN:MODE, numbers in decimal, N only when it is not 0 (bpftrace
 * leaves a zero out). */
static char *watch_name(const struct attach_point *ap, const char *bin, const char *func)
{
	const struct watch_ap *w = wap(ap);
	struct strbuf sb;

	sb_init(&sb);
	sb_puts(&sb, ap->ops->name);
	if (bin)
		sb_printf(&sb, ":%s", bin);
	if (func)
		sb_printf(&sb, ":%s", func);
	if (w->addr)
		sb_printf(&sb, ":%llu", (unsigned long long)w->addr);
	sb_printf(&sb, ":%u:%s", w->len, w->mode);
	return sb_steal(&sb);
}

struct func_ctx {
	struct attach_point *ap;
	struct elf_file *ef;
	const char *bin, *path;
	struct probe_targets *ts;
	int err;
};

static void add_func(struct func_ctx *c, const char *func, uint64_t vaddr)
{
	char *name;
	uint64_t off;
	size_t i;

	if (elf_vaddr_to_offset(c->ef, vaddr, &off)) {
		diag_error(&c->ap->loc, "%s: address 0x%llx of %s is in no loadable segment", c->path,
			   (unsigned long long)vaddr, func);
		c->err = -EINVAL;
		return;
	}
	for (i = 0; i < c->ts->n; i++)
		if (c->ts->v[i].offset == off)
			return;	/* an alias of a function already watched */
	name = watch_name(c->ap, c->bin, func);
	probe_targets_add(c->ts, name, c->path, func, off);
	free(name);
}

static int match_func(const struct elf_sym *sym, void *arg)
{
	struct func_ctx *c = arg;

	if (glob_match(c->ap->func, sym->name))
		add_func(c, sym->name, sym->vaddr);
	return c->err;
}

/* FUNC+argN: one target per function of the binary that FUNC names (a wildcard: every match). */
static int expand_func(struct attach_point *ap, struct probe_targets *ts, const char *bin)
{
	struct func_ctx c = { .ap = ap, .bin = bin, .ts = ts };
	char *path = NULL;
	struct elf_sym sym;
	int err;

	err = libpath_resolve(bin, probe_pid, &path);
	if (err) {
		diag_error(&ap->loc, "could not find binary '%s'", bin);
		return err;
	}
	err = elf_open(path, &c.ef);
	if (err) {
		diag_error(&ap->loc, "failed to open %s: %s", path,
			   err == -ENOEXEC ? "not an ELF file" : strerror(-err));
		free(path);
		return err;
	}
	c.path = path;
	if (has_wildcard(ap->func)) {
		elf_sym_foreach(c.ef, match_func, &c);
		if (!ts->n && !c.err)
			diag_verbose("no functions in %s match %s\n", path, ap->func);
	} else if ((err = elf_sym_find(c.ef, ap->func, &sym)) == -ENOTUNIQ) {
		diag_error(&ap->loc, "'%s' matches several functions in %s: give the full signature, "
			   "e.g. \"%s(int)\", or use a wildcard", ap->func, path, ap->func);
		c.err = err;
	} else if (err) {
		diag_error(&ap->loc, "Could not resolve symbol: %s:%s", bin, ap->func);
		c.err = err;
	} else {
		add_func(&c, ap->func, sym.vaddr);
	}
	elf_close(c.ef);
	free(path);
	return c.err;
}

static int watch_expand(struct attach_point *ap, struct probe_targets *ts)
{
	char *bin = target_binary(), *name;
	int err = 0;

	if (ap->func) {
		if (!bin) {
			diag_error(&ap->loc, "cannot find the program of -c '%s'", probe_cmd);
			return -ENOENT;
		}
		err = expand_func(ap, ts, bin);
	} else {
		name = watch_name(ap, bin, NULL);
		probe_targets_add(ts, name, NULL, NULL, wap(ap)->addr);
		free(name);
	}
	free(bin);
	return err;
}

static const struct probe_ops probe_watch_setup;

static const struct probe_ops *watch_setup(const struct attach_point *ap)
{
	return ap->func ? &probe_watch_setup : NULL;
}

static int open_breakpoint(const struct watch_ap *w, uint64_t addr, int pid, int cpu)
{
	struct perf_event_attr attr = { .size = sizeof(attr), .type = PERF_TYPE_BREAKPOINT };

	attr.bp_type = (strchr(w->mode, 'r') ? WATCH_BP_R : 0) | (strchr(w->mode, 'w') ? WATCH_BP_W : 0) |
		       (strchr(w->mode, 'x') ? WATCH_BP_X : 0);
	attr.bp_addr = addr;
	attr.bp_len = w->len;
	attr.sample_period = 1;	/* every access is an event */
	return (int)syscall(__NR_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/* One breakpoint at addr with prog attached: the link, or -errno (ENOSPC: no debug register). */
static int attach_breakpoint(const struct watch_ap *w, uint64_t addr, int pid, int cpu,
			     struct bpf_program *prog, struct bpf_link **link)
{
	int fd = open_breakpoint(w, addr, pid, cpu), err;

	if (fd < 0)
		return -errno;
	*link = bpf_program__attach_perf_event(prog, fd);
	if (!*link) {
		err = -errno;
		close(fd);
		return err;
	}
	return 0;	/* the link owns fd */
}

static void report_attach(const struct probe_target *t, int err)
{
	if (err == -ENOSPC)
		diag_error(NULL, "failed to attach %s: You are out of watchpoint registers", t->name);
	else
		diag_error(NULL, "failed to attach %s: %s", t->name, strerror(-err));
}

/* ADDR: in the -p/-c process, or in the kernel on every online CPU; FUNC+argN: at run time. */
static int watch_attach(struct attach_point *ap, const struct probe_targets *ts,
			const struct probe_target *t, struct bpf_program *prog, struct attach_set *set)
{
	int pid = probe_pid ? probe_pid : probe_child_pid, ncpus = 1, cpu, err = 0;
	bool *online = NULL;
	struct bpf_link *link;

	if (ap->func)
		return 0;	/* the setup program's EV_WATCH attaches it (attach_at) */
	if (pid <= 0) {
		err = perf_online_cpus(&online, &ncpus);
		if (err) {
			diag_error(NULL, "failed to read the online CPUs for %s: %s", t->name,
				   strerror(-err));
			return err;
		}
	}
	for (cpu = 0; cpu < ncpus && !err; cpu++) {
		if (online && !online[cpu])
			continue;
		err = attach_breakpoint(wap(ap), t->offset, pid > 0 ? pid : -1, pid > 0 ? -1 : cpu,
					prog, &link);
		if (err)
			report_attach(t, err);
		else
			attach_set_add_link(set, link);
	}
	free(online);
	return err;
}

static int watch_attach_at(struct attach_point *ap, const struct probe_target *t,
			   struct bpf_program *prog, uint64_t addr, int pid, struct bpf_link **link)
{
	return attach_breakpoint(wap(ap), addr, pid, -1, prog, link);
}

/* The setup uprobe: the target's argN to user space, the target stopped until it is watched. */
static void watch_emit_setup(struct cg *cg, const struct prog_info *pi)
{
	const struct watch_ap *w = wap(pi->ap);
	int pid = cg->s->opts.pid ? cg->s->opts.pid : cg->s->opts.cpid;
	LLVMBasicBlockRef mine = irb_block(cg, "watch.target"), done;
	LLVMValueRef tgid, addr, rec, sig;

	/* never another process running the same binary: it would be stopped for nothing */
	tgid = LLVMBuildLShr(cg->b, pidns_pid_tgid(cg), irb_const(cg, 32), "");
	LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntEQ, tgid, irb_const(cg, pid), ""), mine,
			cg->ret_bb);
	LLVMPositionBuilderAtEnd(cg->b, mine);
	addr = cg_regs_load(cg, arch_arg_offset((int)w->addr));
	rec = cg_event_begin(cg, EV_WATCH, (int)pi->body, sizeof(struct event_watch), &done);
	if (!w->async) {
		sig = LLVMConstInt(cg->i32, SIGSTOP, false);
		irb_helper_call(cg, BPF_FUNC_send_signal, cg->i64, &sig, 1);
	}
	irb_store(cg, irb_gep(cg, rec, sizeof(struct event_hdr) +
			      offsetof(struct event_watch, addr)), addr, 8);
	irb_store(cg, irb_gep(cg, rec, sizeof(struct event_hdr) +
			      offsetof(struct event_watch, stopped)), irb_const(cg, !w->async), 8);
	if (w->async) {
		cg_event_end(cg, rec, done);	/* nobody waits: the usual wake-ups */
		return;
	}
	/* the process waits for this report: wake the reader now, never at its next timeout */
	cg_event_end_urgent(cg, rec, done);
}

/* The setup program's attach: a uprobe on the function (the target's offset in its binary). */
static int setup_attach(struct attach_point *ap, const struct probe_targets *ts,
			const struct probe_target *t, struct bpf_program *prog, struct attach_set *set)
{
	struct bpf_link *link;
	int err;

	link = bpf_program__attach_uprobe_opts(prog, probe_pid ? probe_pid : -1, t->path,
					       t->offset, NULL);
	if (!link) {
		err = -errno;
		diag_error(NULL, "failed to attach the uprobe of %s (%s offset 0x%llx): %s", t->name,
			   t->path, (unsigned long long)t->offset, strerror(-err));
		return err;
	}
	attach_set_add_link(set, link);
	return 0;
}

static const struct probe_ops probe_watch_setup = {
	.name = "uprobe",
	.ctx = CTX_PT_REGS,
	.as = AS_USER,
	.prog_type = BPF_PROG_TYPE_KPROBE,
	.section = "uprobe",
	.attach = setup_attach,
	.emit_setup = watch_emit_setup,
};

const struct probe_ops probe_watchpoint = {
	.name = "watchpoint",
	.ctx = CTX_PERF,
	.as = AS_NONE,	/* user or kernel memory: bpftrace's none, compat reads pick by address */
	.prog_type = BPF_PROG_TYPE_PERF_EVENT,
	.section = "perf_event",
	.no_signal = true,
	.data_size = sizeof(struct watch_ap),
	.parse = watch_parse,
	.expand = watch_expand,
	.attach = watch_attach,
	.setup = watch_setup,
	.attach_at = watch_attach_at,
};

const struct probe_ops probe_asyncwatchpoint = {
	.name = "asyncwatchpoint",
	.ctx = CTX_PERF,
	.as = AS_NONE,
	.prog_type = BPF_PROG_TYPE_PERF_EVENT,
	.section = "perf_event",
	.no_signal = true,
	.data_size = sizeof(struct watch_ap),
	.parse = watch_parse,
	.expand = watch_expand,
	.attach = watch_attach,
	.setup = watch_setup,
	.attach_at = watch_attach_at,
};
