/*
 * decls.c - a script's own settings (bpftrace 0.20+): `config = { max_strlen = 128; ... }`
 * and `let @m = lruhash(100000);` map declarations.  They replace the defaults that 0.17 takes
 * from the environment only; an environment variable that is set still wins, so an operator
 * can resize a bundled script without editing it.
 */
#include "decls.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "util.h"

static bool env_set(const char *name)
{
	char key[64];
	const char *v;

	snprintf(key, sizeof(key), "SONDE_%s", name);
	v = getenv(key);
	if (!v) {
		snprintf(key, sizeof(key), "BPFTRACE_%s", name);
		v = getenv(key);
	}
	return v && *v;
}

struct config_var {
	const char *name;
	const char *env;	/* the environment knob that overrides it */
	const char *env2;
	uint64_t min, max;
	size_t offset;		/* in struct script_options: a uint32_t */
};

static const struct config_var config_vars[] = {
	{ "max_strlen", "STRLEN", "MAX_STRLEN", 1, 1024, offsetof(struct script_options, strlen) },
	{ "max_map_keys", "MAP_KEYS_MAX", "MAX_MAP_KEYS", 1, 1u << 24,
	  offsetof(struct script_options, map_keys_max) },
	{ "max_stack", "MAX_STACK", NULL, 1, 1024, offsetof(struct script_options, stack_max) },
};

static int apply_config(struct script *s)
{
	const struct decl *d;
	size_t i;
	int err = 0;

	for (d = s->prog.config; d; d = d->next) {
		const struct config_var *cv = NULL;

		for (i = 0; i < ARRAY_SIZE(config_vars); i++)
			if (strcmp(config_vars[i].name, d->name) == 0)
				cv = &config_vars[i];
		if (!cv) {
			diag_error(&d->loc, "Unrecognized config variable: %s (sonde knows max_strlen, "
				   "max_map_keys and max_stack)", d->name);
			err = -EINVAL;
			continue;
		}
		if (!d->has_ival || (uint64_t)d->ival < cv->min || (uint64_t)d->ival > cv->max) {
			diag_error(&d->loc, "%s must be an integer between %llu and %llu", d->name,
				   (unsigned long long)cv->min, (unsigned long long)cv->max);
			err = -EINVAL;
			continue;
		}
		if (env_set(cv->env) || (cv->env2 && env_set(cv->env2)))
			continue;
		*(uint32_t *)((char *)&s->opts + cv->offset) = (uint32_t)d->ival;
	}
	return err;
}

static const struct {
	const char *name;
	enum map_decl_kind kind;
} map_kinds[] = {
	{ "hash", MAP_DECL_HASH },
	{ "lruhash", MAP_DECL_LRU_HASH },
	{ "percpuhash", MAP_DECL_PERCPU_HASH },
	{ "percpulruhash", MAP_DECL_PERCPU_LRU_HASH },
};

static int apply_maps(struct script *s)
{
	const struct decl *d;
	size_t i;
	int err = 0;

	for (d = s->prog.maps; d; d = d->next) {
		struct map_info *mi;
		enum map_decl_kind kind = MAP_DECL_NONE;

		for (i = 0; i < ARRAY_SIZE(map_kinds); i++)
			if (strcmp(map_kinds[i].name, d->kind) == 0)
				kind = map_kinds[i].kind;
		if (kind == MAP_DECL_NONE) {
			diag_error(&d->loc, "Invalid map type: %s (sonde knows hash, lruhash, percpuhash "
				   "and percpulruhash)", d->kind);
			err = -EINVAL;
			continue;
		}
		if (!d->has_ival || d->ival < 1 || d->ival > (1 << 24)) {
			diag_error(&d->loc, "%s() needs the number of keys of %s, from 1 to %u: "
				   "let %s = %s(N);", d->kind, d->name, 1u << 24, d->name, d->kind);
			err = -EINVAL;
			continue;
		}
		mi = script_map(s, d->name);
		if (mi->decl_kind) {
			diag_error(&d->loc, "%s is declared twice", d->name);
			err = -EINVAL;
			continue;
		}
		mi->decl_kind = kind;
		mi->max_entries = (uint32_t)d->ival;
		mi->decl_loc = d->loc;
		mi->loc = d->loc;
	}
	return err;
}

int decls_apply(struct script *s)
{
	int err = apply_config(s);

	return apply_maps(s) ? -EINVAL : err;
}

int decls_check(struct script *s)
{
	size_t i;
	int err = 0;

	for (i = 0; i < s->nmaps; i++) {
		struct map_info *mi = s->maps[i];

		if ((mi->decl_kind == MAP_DECL_PERCPU_HASH || mi->decl_kind == MAP_DECL_PERCPU_LRU_HASH) &&
		    !mi->percpu) {
			diag_error(&mi->decl_loc, "%s is declared per-CPU, which holds count(), sum(), "
				   "min(), max(), avg(), stats() and hist() values only", mi->name);
			err = -EINVAL;
		}
	}
	return err;
}
