/*
 * probes.c - attach points expanded through their probe type (wildcards to targets, $N
 * substituted) and, once the script is checked, one program per target (or one shared by all
 * the targets of an attach point that attaches them as one link).
 */
#include "sema_impl.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "diag.h"
#include "util.h"

/* Replace $N in an attach point by the positional parameter's text (bpftrace allows it). */
static char *substitute_params(struct script *s, const char *text)
{
	struct strbuf sb;
	const char *p;

	sb_init(&sb);
	for (p = text; *p; p++) {
		if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
			char *end;
			long n = strtol(p + 1, &end, 10);

			if (n >= 1 && n <= s->opts.nparams)
				sb_puts(&sb, s->opts.params[n - 1]);
			p = end - 1;
			continue;
		}
		sb_putc(&sb, *p);
	}
	return sb_steal(&sb);
}

/*
 * Attach points whose function is not there: skipped with a warning while another probe of
 * the script attaches (a tool naming a function one library version lacks still runs), the
 * error when none would, since the script would then trace nothing.
 */
static int report_missing(struct script *s, size_t targets)
{
	int err = 0;

	for (size_t i = 0; i < s->prog.nprobes; i++)
		for (size_t j = 0; j < s->prog.probes[i]->naps; j++) {
			struct attach_point *ap = s->prog.probes[i]->aps[j];
			struct probe_targets *ts = ap->priv;

			if (!ts || !ts->missing)
				continue;
			if (targets) {
				diag_warn(&ap->loc, "%s: skipped, the other probes attach", ts->missing);
			} else {
				diag_error(&ap->loc, "%s", ts->missing);
				err = -ENOENT;
			}
		}
	return err;
}

int sema_expand_probes(struct script *s)
{
	size_t i, j, targets = 0;
	int err = 0;

	for (i = 0; i < s->prog.nprobes; i++) {
		struct probe *p = s->prog.probes[i];

		for (j = 0; j < p->naps; j++) {
			struct attach_point *ap = p->aps[j];
			struct probe_targets *ts;
			char *text = substitute_params(s, ap->text);

			free(ap->text);
			ap->text = text;
			if (probe_parse_attach_point(ap)) {
				err = -EINVAL;
				continue;
			}
			if (!p->ops)
				p->ops = ap->ops;	/* the first attach point that parsed */
			/* several BEGIN/END blocks run in script order (bpftrace 0.19+) */
			if (ap->ops->run == COMPILED_BEGIN)
				s->has_begin = true;
			else if (ap->ops->run == COMPILED_END)
				s->has_end = true;
			if (j > 0 && ap->ops->ctx != p->ops->ctx) {
				diag_error(&ap->loc, "Attach points of one probe must be of compatible "
					   "types: '%s' and '%s'", p->ops->name, ap->ops->name);
				err = -EINVAL;
				continue;
			}
			ts = xcalloc(1, sizeof(*ts));
			ap->priv = ts;
			if (ap->ops->expand(ap, ts)) {
				err = -EINVAL;
				continue;
			}
			if (ts->n && !p->args && ap->ops->args)
				p->args = ap->ops->args(ap, &ts->v[0]);
			for (size_t k = 0; ap->ops->args && k < ts->n; k++) {
				struct record *r = ap->ops->args(ap, &ts->v[k]);
				size_t m;

				for (m = 0; r && m < p->nall_args && p->all_args[m] != r; m++)
					;
				if (!r || m < p->nall_args)
					continue;
				xgrow((void **)&p->all_args, &p->capall_args, p->nall_args + 1,
				      sizeof(*p->all_args));
				p->all_args[p->nall_args++] = r;
			}
			if (!ap->ops->is_special)
				s->nattach += (unsigned)ts->n;
			else
				s->nattach += 1;
			if (!ap->ops->is_special)
				targets += ts->n;
		}
	}
	return err ? err : report_missing(s, targets);
}

/* The setup program of the program just built (watchpoint:FUNC+argN: the uprobe that reports
 * where it goes), for the same target. */
static void add_setup_prog(struct script *s, size_t probe, const struct probe_ops *setup)
{
	struct prog_info *pi;
	size_t body = s->nprogs - 1;

	xgrow((void **)&s->progs, &s->capprogs, s->nprogs + 1, sizeof(*s->progs));
	pi = &s->progs[s->nprogs];
	*pi = s->progs[body];
	pi->name = xasprintf("p%zu_%zu", probe, s->nprogs);
	pi->probe_name = xstrdup(s->progs[body].probe_name);
	pi->args = NULL;
	pi->setup = setup;
	pi->body = body;
	s->nprogs++;
}

void sema_build_progs(struct script *s)
{
	size_t i, j, k;

	for (i = 0; i < s->prog.nprobes; i++) {
		struct probe *p = s->prog.probes[i];

		for (j = 0; j < p->naps; j++) {
			struct attach_point *ap = p->aps[j];
			struct probe_targets *ts = ap->priv;
			size_t n = ts->shared_program ? (ts->n ? 1 : 0) : ts->n;

			for (k = 0; k < n; k++) {
				struct prog_info *pi;

				xgrow((void **)&s->progs, &s->capprogs, s->nprogs + 1, sizeof(*s->progs));
				pi = &s->progs[s->nprogs];
				pi->probe = p;
				pi->ap = ap;
				pi->targets = ts;
				pi->target = ts->shared_program ? SIZE_MAX : k;
				pi->name = xasprintf("p%zu_%zu", i, s->nprogs);
				pi->probe_name = xstrdup(ts->shared_program && ts->n > 1 ? ap->text :
							 ts->v[k].name);
				pi->args = ap->ops->args && ts->n ? ap->ops->args(ap, &ts->v[k]) : NULL;
				/* a shared program learns from its cookie which target fired: the
				 * function's name id (func) in the low half, the probe's (probe) in
				 * the high half */
				if (ts->shared_program)
					for (size_t t = 0; t < ts->n; t++)
						ts->v[t].cookie = (uint64_t)script_add_probe_name(s,
							ts->v[t].func ? ts->v[t].func : ts->v[t].name) |
							(uint64_t)script_add_probe_name(s, ts->v[t].name) << 32;
				s->nprogs++;
				if (ap->ops->setup && ap->ops->setup(ap))
					add_setup_prog(s, i, ap->ops->setup(ap));
			}
		}
	}
}
