/*
 * compiled.c - the compiler's side of common/compiled.h: once the object is generated, describe
 * its programs and maps for the runtime.  Everything that needs the syntax tree or the probe
 * types is decided here (program type, section, BEGIN/END, the binary a uprobe reads), and
 * attaching goes back through the probe type's attach hook.
 */
#include "script.h"

#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "util.h"

/* The runtime's attach hook: the probe type attaches the program to its target(s). */
static int attach_prog(const struct compiled_prog *cp, struct attach_set *set)
{
	const struct prog_info *pi = cp->attach_data;
	const struct probe_target *t = pi->target == SIZE_MAX ? NULL : &pi->targets->v[pi->target];

	const struct probe_ops *ops = pi->setup ? pi->setup : pi->ap->ops;

	return ops->attach(pi->ap, pi->targets, t, cp->bpf, set);
}

/* EV_WATCH: the probe type attaches the program where its setup program said. */
static int attach_prog_at(const struct compiled_prog *cp, uint64_t addr, int pid,
			  struct bpf_link **link)
{
	const struct prog_info *pi = cp->attach_data;

	return pi->ap->ops->attach_at(pi->ap, &pi->targets->v[pi->target], cp->bpf, addr, pid,
				      link);
}

void compiled_fill(struct compiled_script *cs, struct script *s)
{
	size_t i;

	memset(cs, 0, sizeof(*cs));
	cs->progs = xcalloc(s->nprogs ? s->nprogs : 1, sizeof(*cs->progs));
	cs->nprogs = s->nprogs;
	for (i = 0; i < s->nprogs; i++) {
		const struct prog_info *pi = &s->progs[i];
		const struct probe_ops *ops = pi->setup ? pi->setup : pi->ap->ops;
		const struct probe_targets *ts = pi->targets;
		struct compiled_prog *cp = &cs->progs[i];
		/* the program of a probe with setup programs: those attach it, at run time */
		bool deferred = !pi->setup && ops->setup && ops->setup(pi->ap);

		cp->name = xstrdup(pi->name);
		cp->section = xstrdup(ops->section);
		cp->prog_type = ops->prog_type;
		cp->attach_type = pi->target == SIZE_MAX ? ops->shared_attach_type : -1;
		cp->run = ops->run;
		cp->loc = pi->probe->loc;
		cp->ustack = pi->probe->uses_ustack;
		if (ts && ts->n && ts->v[0].path && ops->ctx == CTX_PT_REGS && ops->as == AS_USER)
			cp->binary = xstrdup(ts->v[0].path);
		if (ops->run == COMPILED_ATTACH) {
			cp->attach = deferred ? NULL : attach_prog;
			cp->attach_at = deferred ? attach_prog_at : NULL;
			cp->attach_data = pi;
		}
		if (pi->setup)
			cs->stops_target = true;
	}
	cs->maps = xcalloc(s->nmaps ? s->nmaps : 1, sizeof(*cs->maps));
	cs->nmaps = s->nmaps;
	for (i = 0; i < s->nmaps; i++) {
		struct compiled_map *cm = &cs->maps[i];
		char name[32];

		codegen_map_name(s->maps[i], name, sizeof(name));
		cm->info = s->maps[i];
		cm->name = xstrdup(name);
		cm->key_size = script_map_key_size(s->maps[i]);
		cm->value_size = script_map_value_size(s->maps[i]);
	}
	cs->fmts = s->fmts;
	cs->nfmts = s->nfmts;
	cs->probe_names = s->probe_names;
	cs->nprobe_names = s->nprobe_names;
	cs->strlen = s->opts.strlen;
	cs->map_keys_max = s->opts.map_keys_max;
	cs->stack_max = s->opts.stack_max;
	cs->cat_bytes_max = s->opts.cat_bytes_max;
	cs->pid = s->opts.pid;
	cs->dwarf_ustack = s->uses_dwarf_ustack;
}

void compiled_free(struct compiled_script *cs)
{
	size_t i;

	for (i = 0; i < cs->nprogs; i++) {
		free(cs->progs[i].name);
		free(cs->progs[i].section);
		free(cs->progs[i].binary);
	}
	free(cs->progs);
	for (i = 0; i < cs->nmaps; i++)
		free(cs->maps[i].name);
	free(cs->maps);
	memset(cs, 0, sizeof(*cs));
}
