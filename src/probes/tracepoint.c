/*
 * tracepoint.c - tracepoint:category:name, wildcards in both parts.  Each matched tracepoint
 * gets its own program because the args layout differs between tracepoints.
 */
#include "probe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "diag.h"
#include "runtime/tracefs.h"
#include "util.h"

static int tp_parse(struct attach_point *ap)
{
	char *parts[4] = { 0 };
	int n = probe_split(ap->text, parts, 4), i, err = 0;

	if (n != 3 || !*parts[1] || !*parts[2]) {
		diag_error(&ap->loc, "tracepoint probe type requires 2 arguments");
		err = -EINVAL;
	} else {
		ap->target = parts[1];
		ap->func = parts[2];
		parts[1] = parts[2] = NULL;
	}
	for (i = 0; i < n; i++)
		free(parts[i]);
	return err;
}

struct expand_ctx {
	struct probe_targets *ts;
};

static int add_tp(const char *cat, const char *name, void *arg)
{
	struct expand_ctx *c = arg;
	char *full = xasprintf("tracepoint:%s:%s", cat, name);

	probe_targets_add(c->ts, full, cat, name, 0);
	free(full);
	return 0;
}

static int tp_expand(struct attach_point *ap, struct probe_targets *ts)
{
	struct expand_ctx c = { ts };
	const char *root;
	int err;

	if (tracefs_root(&root))
		return -ENOENT;
	err = tracefs_foreach_tracepoint(ap->target, ap->func, add_tp, &c);
	if (err < 0 && err != -ENOENT) {
		diag_error(&ap->loc, "failed to list tracepoints: %s", strerror(-err));
		return err;
	}
	if (!ts->n) {
		if (has_wildcard(ap->target) || has_wildcard(ap->func))
			diag_error(&ap->loc, "tracepoints not found: %s:%s", ap->target, ap->func);
		else
			diag_error(&ap->loc, "tracepoint not found: %s:%s", ap->target, ap->func);
		return -ENOENT;
	}
	return 0;
}

static struct record *tp_args(struct attach_point *ap, const struct probe_target *t)
{
	struct record *rec = NULL;

	if (tracefs_tp_args(t->path, t->func, &rec))
		return NULL;
	return rec;
}

static int tp_attach(struct attach_point *ap, const struct probe_targets *ts,
		     const struct probe_target *t, struct bpf_program *prog, struct attach_set *set)
{
	struct bpf_link *link = bpf_program__attach_tracepoint(prog, t->path, t->func);

	if (!link) {
		int err = -errno;

		diag_error(NULL, "failed to attach tracepoint %s:%s: %s", t->path, t->func,
			   strerror(-err));
		return err;
	}
	attach_set_add_link(set, link);
	return 0;
}

struct list_ctx {
	FILE *out;
	bool verbose;
	const char *bare;	/* a pattern without a probe type: matched against cat:name */
};

static int list_one(const char *cat, const char *name, void *arg)
{
	struct list_ctx *c = arg;
	char **lines;
	size_t n, i;

	if (c->bare) {
		char *full = xasprintf("%s:%s", cat, name);
		bool match = glob_match(c->bare, name) || glob_match(c->bare, full);

		free(full);
		if (!match)
			return 0;
	}

	fprintf(c->out, "tracepoint:%s:%s\n", cat, name);
	if (c->verbose && tracefs_tp_fields_text(cat, name, &lines, &n) == 0) {
		for (i = 0; i < n; i++)
			fprintf(c->out, "%s\n", lines[i]);
		tracefs_lines_free(lines, n);
	}
	return 0;
}

static int tp_list(const char *pattern, bool verbose, FILE *out)
{
	struct list_ctx c = { out, verbose, NULL };
	char *parts[4] = { 0 };
	int n = 0, i, err;
	const char *root;

	if (tracefs_root(&root))
		return -ENOENT;
	if (pattern && *pattern && !strchr(pattern, ':')) {
		c.bare = pattern;
		err = tracefs_foreach_tracepoint("*", "*", list_one, &c);
		return err == -ENOENT ? 0 : err;
	}
	if (pattern && *pattern)
		n = probe_split(pattern, parts, 4);
	if (n == 2 && *parts[1]) {
		/* tracepoint:*nanosleep*: the pattern spans category and name */
		c.bare = parts[1];
		err = tracefs_foreach_tracepoint("*", "*", list_one, &c);
	} else {
		err = tracefs_foreach_tracepoint(n > 1 && *parts[1] ? parts[1] : "*",
						 n > 2 && *parts[2] ? parts[2] : "*", list_one, &c);
	}
	for (i = 0; i < n; i++)
		free(parts[i]);
	return err == -ENOENT ? 0 : err;
}

const struct probe_ops probe_tracepoint = {
	.name = "tracepoint",
	.alias = "t",
	.ctx = CTX_TRACEPOINT,
	.as = AS_NONE,	/* unknown: compat reads pick user or kernel by address */
	.prog_type = BPF_PROG_TYPE_TRACEPOINT,
	.section = "tracepoint",
	.parse = tp_parse,
	.expand = tp_expand,
	.args = tp_args,
	.attach = tp_attach,
	.list = tp_list,
};
