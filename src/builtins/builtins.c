/* builtins.c - lookup in the builtin variable and function tables. */
#include "builtins.h"

#include <string.h>

static const struct builtin *const var_tables[] = { builtins_proc, builtins_stack,
							     builtins_sys };
static const struct func *const func_tables[] = { funcs_print, funcs_agg, funcs_str, funcs_stack,
						   funcs_proc, funcs_newer,
						   funcs_knames, funcs_pidns, funcs_sys };

const struct builtin *builtin_find(const char *name)
{
	size_t t;
	const struct builtin *b;

	for (t = 0; t < sizeof(var_tables) / sizeof(var_tables[0]); t++)
		for (b = var_tables[t]; b->name; b++)
			if (strcmp(b->name, name) == 0)
				return b;
	return NULL;
}

const struct func *func_find(const char *name)
{
	size_t t;
	const struct func *f;

	for (t = 0; t < sizeof(func_tables) / sizeof(func_tables[0]); t++)
		for (f = func_tables[t]; f->name; f++)
			if (strcmp(f->name, name) == 0)
				return f;
	return NULL;
}
