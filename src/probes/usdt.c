/*
 * usdt.c - USDT probes (SystemTap SDT notes): usdt:PATH:[provider:]name, wildcards.
 * Each probe site becomes a uprobe at its file offset; semaphores are raised by the kernel
 * through the uprobe's reference counter.  Arguments are decoded from the note's spec.
 */
#include "probe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "codegen/cg.h"
#include "diag.h"
#include "runtime/elf.h"
#include "runtime/libpath.h"
#include "runtime/usdt_notes.h"
#include "util.h"

struct usdt_site {
	struct usdt_arg args[USDT_MAX_ARGS];
	int nargs;
};

/* What usdt_parse keeps besides the binary (ap->target) and the probe name (ap->func). */
struct usdt_ap {
	char *provider;		/* NULL: any */
};

static struct usdt_ap *dap(const struct attach_point *ap)
{
	return ap->data;
}

static void usdt_free_data(void *data)
{
	free(((struct usdt_ap *)data)->provider);
}

static int usdt_parse(struct attach_point *ap)
{
	char *parts[5] = { 0 };
	int n = probe_split(ap->text, parts, 5), i, err = 0;

	if (n == 4) {
		ap->target = parts[1];
		dap(ap)->provider = parts[2];
		ap->func = parts[3];
		parts[1] = parts[2] = parts[3] = NULL;
	} else if (n == 3) {
		ap->target = parts[1];
		ap->func = parts[2];
		parts[1] = parts[2] = NULL;
	} else if (n == 2 && probe_pid) {
		ap->target = xasprintf("/proc/%d/exe", probe_pid);
		ap->func = parts[1];
		parts[1] = NULL;
	} else {
		diag_error(&ap->loc, "usdt probe must have 2 or 3 arguments: usdt:binary:[provider:]name");
		err = -EINVAL;
	}
	for (i = 0; i < n; i++)
		free(parts[i]);
	return err;
}

struct usdt_ctx {
	struct attach_point *ap;
	const char *path;
	struct probe_targets *ts;
	int err;
};

static int add_note(const struct usdt_note *note, void *arg)
{
	struct usdt_ctx *c = arg;
	struct usdt_site *site;
	char *name;

	if (!glob_match(c->ap->func, note->name))
		return 0;
	if (dap(c->ap)->provider && !glob_match(dap(c->ap)->provider, note->provider))
		return 0;
	site = xcalloc(1, sizeof(*site));
	site->nargs = USDT_MAX_ARGS;
	if (usdt_parse_args(note->args, site->args, &site->nargs)) {
		diag_error(&c->ap->loc, "usdt %s:%s in %s: unsupported argument spec '%s'",
			   note->provider, note->name, c->path, note->args);
		free(site);
		c->err = -EINVAL;
		return 0;
	}
	name = xasprintf("usdt:%s:%s:%s", c->path, note->provider, note->name);
	probe_targets_add(c->ts, name, c->path, note->name, note->pc_offset);
	free(name);
	c->ts->v[c->ts->n - 1].semaphore = note->sema_offset;
	c->ts->v[c->ts->n - 1].priv = site;
	return 0;
}

static int usdt_expand(struct attach_point *ap, struct probe_targets *ts)
{
	struct usdt_ctx c = { .ap = ap, .ts = ts };
	struct elf_file *ef;
	char *path;
	int err;

	err = libpath_resolve(ap->target, probe_pid, &path);
	if (err) {
		diag_error(&ap->loc, "could not find binary or library '%s'", ap->target);
		return err;
	}
	err = elf_open(path, &ef);
	if (err) {
		diag_error(&ap->loc, "failed to open %s: %s", path, strerror(-err));
		free(path);
		return err;
	}
	c.path = path;
	err = usdt_notes_foreach(ef, add_note, &c);
	if (!ts->n && !c.err && !has_wildcard(ap->func) && !(dap(ap)->provider && has_wildcard(dap(ap)->provider))) {
		diag_error(&ap->loc, "no USDT probe '%s%s%s' in %s", dap(ap)->provider ? dap(ap)->provider : "",
			   dap(ap)->provider ? ":" : "", ap->func, path);
		c.err = -ENOENT;
	}
	elf_close(ef);
	free(path);
	return c.err;
}

/* argN of a USDT site: a register, a constant, or memory at base register + displacement */
static void *usdt_emit_arg(struct cg *cg, const struct probe_target *t, int n)
{
	const struct usdt_site *site = t->priv;
	const struct usdt_arg *a;
	LLVMValueRef v, slot;

	if (!site || n >= site->nargs)
		return irb_const(cg, 0);
	a = &site->args[n];
	switch (a->kind) {
	case USDT_ARG_CONST:
		return irb_const(cg, a->val);
	case USDT_ARG_REG:
		v = cg_regs_load(cg, (uint32_t)a->reg_off);
		return irb_extend(cg, v, (uint32_t)a->size, a->is_signed);
	default:
		v = a->reg_off >= 0 ? cg_regs_load(cg, (uint32_t)a->reg_off) : irb_const(cg, 0);
		v = LLVMBuildAdd(cg->b, v, irb_const(cg, a->val), "");
		if (a->idx_off >= 0)
			v = LLVMBuildAdd(cg->b, v, LLVMBuildMul(cg->b, cg_regs_load(cg, (uint32_t)a->idx_off),
								irb_const(cg, a->scale), ""), "");
		slot = cg_slot(cg, 8);
		irb_store(cg, slot, irb_const(cg, 0), 8);
		irb_probe_read(cg, slot, (uint32_t)a->size, v, AS_USER);
		return irb_load(cg, slot, (uint32_t)a->size, a->is_signed);
	}
}

static int usdt_attach(struct attach_point *ap, const struct probe_targets *ts,
		       const struct probe_target *t, struct bpf_program *prog, struct attach_set *set)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts);
	struct bpf_link *link;

	opts.ref_ctr_offset = t->semaphore;
	link = bpf_program__attach_uprobe_opts(prog, probe_pid ? probe_pid : -1, t->path, t->offset,
					       &opts);
	if (!link) {
		int err = -errno;

		diag_error(NULL, "failed to attach usdt %s:%s: %s", t->path, t->func, strerror(-err));
		return err;
	}
	attach_set_add_link(set, link);
	return 0;
}

struct list_ctx {
	const char *path;
	const char *pattern;
	FILE *out;
};

static int list_note(const struct usdt_note *note, void *arg)
{
	struct list_ctx *c = arg;

	if (c->pattern && !glob_match(c->pattern, note->name))
		return 0;
	fprintf(c->out, "usdt:%s:%s:%s\n", c->path, note->provider, note->name);
	return 0;
}

static int usdt_list(const char *pattern, bool verbose, FILE *out)
{
	struct list_ctx c = { .out = out };
	struct elf_file *ef;
	char *path, *glob;
	int err = probe_list_binary(pattern, &ef, &path, &glob);

	if (err)
		return err > 0 ? 0 : err;
	c.path = path;
	c.pattern = glob;
	usdt_notes_foreach(ef, list_note, &c);
	elf_close(ef);
	free(path);
	free(glob);
	return 0;
}

const struct probe_ops probe_usdt = {
	.name = "usdt",
	.alias = "U",
	.ctx = CTX_PT_REGS,
	.as = AS_USER,
	.prog_type = BPF_PROG_TYPE_KPROBE,
	.section = "uprobe",	/* a USDT probe is a uprobe at the note's address */
	.has_args = true,
	.data_size = sizeof(struct usdt_ap),
	.free_data = usdt_free_data,
	.parse = usdt_parse,
	.expand = usdt_expand,
	.emit_arg = usdt_emit_arg,
	.attach = usdt_attach,
	.list = usdt_list,
};
