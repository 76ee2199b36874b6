/* special.c - BEGIN and END: raw tracepoint programs that sonde runs itself (BPF_PROG_TEST_RUN). */
#include "probe.h"

#include <errno.h>
#include <string.h>

#include "diag.h"

static int special_parse(struct attach_point *ap)
{
	if (strchr(ap->text, ':')) {
		diag_error(&ap->loc, "%s probe type requires 0 arguments", ap->ops->name);
		return -EINVAL;
	}
	return 0;
}

static int special_expand(struct attach_point *ap, struct probe_targets *ts)
{
	probe_targets_add(ts, ap->ops->name, NULL, NULL, 0);
	return 0;
}

const struct probe_ops probe_begin = {
	.name = "BEGIN",
	.alias = "begin",	/* bpftrace 0.21+ spelling */
	.ctx = CTX_NONE,
	.as = AS_NONE,	/* unknown: compat reads pick user or kernel by address */
	.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT,	/* run with BPF_PROG_TEST_RUN */
	.section = "raw_tp",
	.run = COMPILED_BEGIN,
	.is_special = true,
	.any_process = true,
	.parse = special_parse,
	.expand = special_expand,
};

const struct probe_ops probe_end = {
	.name = "END",
	.alias = "end",
	.ctx = CTX_NONE,
	.as = AS_NONE,	/* unknown: compat reads pick user or kernel by address */
	.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT,
	.section = "raw_tp",
	.run = COMPILED_END,
	.is_special = true,
	.any_process = true,
	.parse = special_parse,
	.expand = special_expand,
};
