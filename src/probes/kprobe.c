/*
 * kprobe.c - kprobe/kretprobe on kernel functions.  Attach goes through libbpf; on kernels
 * built without CONFIG_KPROBES (this project's CI machine among them) the attach fails with a
 * message that names the missing feature instead of a raw errno.
 */
#include "probe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "diag.h"
#include "runtime/ksyms.h"
#include "runtime/tracefs.h"
#include "util.h"

/* What kprobe_parse keeps besides the function (ap->func). */
struct kprobe_ap {
	uint64_t offset;	/* func+N */
	bool has_offset;
};

static struct kprobe_ap *kap(const struct attach_point *ap)
{
	return ap->data;
}

/* Kernel functions a kretprobe deadlocks on (kprobes do not exclude them), as bpftrace bans. */
static const char *const banned_kretprobes[] = {
	"_raw_spin_lock", "_raw_spin_lock_irqsave", "_raw_spin_unlock_irqrestore",
	"queued_spin_lock_slowpath",
};

static bool kretprobe_banned(const char *func)
{
	for (size_t i = 0; i < ARRAY_SIZE(banned_kretprobes); i++)
		if (strcmp(func, banned_kretprobes[i]) == 0)
			return true;
	return false;
}

static int kprobe_parse(struct attach_point *ap)
{
	char *parts[4] = { 0 }, *plus;
	int n = probe_split(ap->text, parts, 4), i, err = 0;

	if (n != 2 || !*parts[1]) {
		diag_error(&ap->loc, "%s probe type requires 1 argument: %s:function[+offset]",
			   ap->ops->name, ap->ops->name);
		err = -EINVAL;
		goto out;
	}
	ap->func = parts[1];
	parts[1] = NULL;
	if ((plus = strrchr(ap->func, '+'))) {
		char *end;

		kap(ap)->offset = strtoull(plus + 1, &end, 0);
		if (*end || ap->ops->is_return) {
			diag_error(&ap->loc, "invalid offset in '%s'", ap->text);
			err = -EINVAL;
			goto out;
		}
		*plus = '\0';
		kap(ap)->has_offset = true;
	}
	if (ap->ops->is_return && kretprobe_banned(ap->func)) {
		diag_error(&ap->loc, "kretprobe:%s can't be used as it might lock up your system",
			   ap->func);
		err = -EINVAL;
	}
out:
	for (i = 0; i < n; i++)
		free(parts[i]);
	return err;
}

struct kctx {
	struct attach_point *ap;
	struct probe_targets *ts;
};

static int add_ksym(const char *name, void *arg)
{
	struct kctx *c = arg;
	char *full = xasprintf("%s:%s", c->ap->ops->name, name);

	probe_targets_add(c->ts, full, NULL, name, kap(c->ap)->offset);
	free(full);
	return 0;
}

static bool kernel_has_kprobes(void)
{
	return tracefs_has_kprobe_events() ||
	       access("/sys/bus/event_source/devices/kprobe/type", F_OK) == 0;
}

static int kprobe_expand(struct attach_point *ap, struct probe_targets *ts)
{
	struct kctx c = { ap, ts };
	uint64_t addr;

	/* say so before anything runs; -d still compiles the program */
	if (!probe_dry_run && !kernel_has_kprobes()) {
		diag_error(&ap->loc, "%s probes are not available: this kernel was built without "
			   "CONFIG_KPROBES; use tracepoints or uprobes instead", ap->ops->name);
		return -ENOTSUP;
	}

	if (has_wildcard(ap->func)) {
		int err = ksyms_foreach_function(ap->func, add_ksym, &c);

		return err == -ENOENT ? 0 : err;
	}
	if (ksyms_addr(ap->func, &addr)) {
		diag_error(&ap->loc, "kernel function not found: %s", ap->func);
		return -ENOENT;
	}
	add_ksym(ap->func, &c);
	return 0;
}

static int kprobe_attach(struct attach_point *ap, const struct probe_targets *ts,
			 const struct probe_target *t, struct bpf_program *prog, struct attach_set *set)
{
	LIBBPF_OPTS(bpf_kprobe_opts, opts);
	struct bpf_link *link;

	if (!kernel_has_kprobes()) {
		diag_error(NULL, "cannot attach %s:%s: this kernel has no kprobes (built without "
			   "CONFIG_KPROBES); use tracepoints or uprobes instead", ap->ops->name, t->func);
		return -ENOTSUP;
	}
	opts.retprobe = ap->ops->is_return;
	opts.offset = t->offset;
	link = bpf_program__attach_kprobe_opts(prog, t->func, &opts);
	if (!link) {
		int err = -errno;

		diag_error(NULL, "failed to attach %s:%s: %s", ap->ops->name, t->func, strerror(-err));
		return err;
	}
	attach_set_add_link(set, link);
	return 0;
}

const struct probe_ops probe_kprobe = {
	.name = "kprobe",
	.alias = "k",
	.ctx = CTX_PT_REGS,
	.as = AS_KERNEL,
	.prog_type = BPF_PROG_TYPE_KPROBE,
	.section = "kprobe",
	.has_args = true,
	.has_stack_args = true,
	.data_size = sizeof(struct kprobe_ap),
	.parse = kprobe_parse,
	.expand = kprobe_expand,
	.attach = kprobe_attach,
};

const struct probe_ops probe_kretprobe = {
	.name = "kretprobe",
	.alias = "kr",
	.ctx = CTX_PT_REGS,
	.as = AS_KERNEL,
	.prog_type = BPF_PROG_TYPE_KPROBE,
	.section = "kretprobe",
	.is_return = true,
	.data_size = sizeof(struct kprobe_ap),
	.parse = kprobe_parse,
	.expand = kprobe_expand,
	.attach = kprobe_attach,
};
