/* script.c - the compiled script's tables: maps, formats, probe names. */
#include "script.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void script_init(struct script *s)
{
	memset(s, 0, sizeof(*s));
	s->opts.strlen = 64;
	s->opts.map_keys_max = 4096;
	s->opts.stack_max = 127;
}

void script_free(struct script *s)
{
	size_t i, j;

	for (i = 0; i < s->prog.nprobes; i++) {
		struct probe *p = s->prog.probes[i];

		for (j = 0; j < p->naps; j++) {
			struct probe_targets *ts = p->aps[j]->priv;

			if (ts) {
				probe_targets_free(ts);
				free(ts);
				p->aps[j]->priv = NULL;
			}
		}
	}
	ast_free_program(&s->prog);
	for (i = 0; i < s->nmaps; i++) {
		free(s->maps[i]->name);
		free(s->maps[i]);
	}
	free(s->maps);
	for (i = 0; i < s->nfmts; i++)
		free(s->fmts[i].fmt);
	free(s->fmts);
	for (i = 0; i < s->nprobe_names; i++)
		free(s->probe_names[i]);
	free(s->probe_names);
	for (i = 0; i < s->nprogs; i++) {
		free(s->progs[i].name);
		free(s->progs[i].probe_name);
	}
	free(s->progs);
	memset(s, 0, sizeof(*s));
}

struct map_info *script_map(struct script *s, const char *name)
{
	struct map_info *mi;
	size_t i;

	for (i = 0; i < s->nmaps; i++)
		if (strcmp(s->maps[i]->name, name) == 0)
			return s->maps[i];
	mi = xcalloc(1, sizeof(*mi));
	mi->name = xstrdup(name);
	mi->id = (int)s->nmaps;
	xgrow((void **)&s->maps, &s->capmaps, s->nmaps + 1, sizeof(*s->maps));
	s->maps[s->nmaps++] = mi;
	return mi;
}

int script_add_fmt(struct script *s, enum event_kind kind, const char *fmt, struct type *args,
		   struct type **arg_types, uint32_t nargs)
{
	struct fmt_info *f;

	xgrow((void **)&s->fmts, &s->capfmts, s->nfmts + 1, sizeof(*s->fmts));
	f = &s->fmts[s->nfmts];
	f->kind = kind;
	f->fmt = xstrdup(fmt ? fmt : "");
	f->args = args;
	f->nargs = nargs;
	if (nargs) {
		f->arg_types = types_alloc(nargs * sizeof(*arg_types));
		memcpy(f->arg_types, arg_types, nargs * sizeof(*arg_types));
	}
	return (int)s->nfmts++;
}

int script_add_probe_name(struct script *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nprobe_names; i++)
		if (strcmp(s->probe_names[i], name) == 0)
			return (int)i;
	xgrow((void **)&s->probe_names, &s->capprobe_names, s->nprobe_names + 1,
	      sizeof(*s->probe_names));
	s->probe_names[s->nprobe_names] = xstrdup(name);
	return (int)s->nprobe_names++;
}

uint32_t script_map_key_size(const struct map_info *mi)
{
	uint32_t size = mi->key ? mi->key->size : 8;

	if (mi->value->kind == TYPE_HIST || mi->value->kind == TYPE_LHIST)
		size = mi->key ? mi->key->size + 8 : 8;
	return size;
}

uint32_t script_map_value_size(const struct map_info *mi)
{
	switch (mi->value->kind) {
	case TYPE_COUNT:
	case TYPE_SUM:
	case TYPE_HIST:
	case TYPE_LHIST:
		return 8;
	case TYPE_MIN:
	case TYPE_MAX:
	case TYPE_AVG:
	case TYPE_STATS:
		return 16;
	default:
		return ALIGN_UP(mi->value->size ? mi->value->size : 8, 8);
	}
}
