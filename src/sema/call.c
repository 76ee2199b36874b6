/*
 * call.c - a function call: the name found in the builtin tables, its arity checked in
 * bpftrace's words, unsafe functions refused in safe mode, map-value functions (count(),
 * hist(), ...) only as a map's value and statement functions (printf(), ...) only as
 * statements; then the function's own check hook types it.
 */
#include "sema_impl.h"

#include <string.h>

#include "builtins/builtins.h"
#include "util.h"

struct type *sema_call(struct sema *se, struct node *n, bool is_stmt, struct node *target)
{
	const struct func *f = func_find(n->str);
	int nargs = (int)ast_list_len(n->args);

	if (!sema_fold_str_positional(se, n))
		return NULL;
	if (n->kind == N_STR)
		return sema_expr(se, n);

	if (!f && nargs == 0 && builtin_find(n->str)) {
		/* pid(), comm(), nsecs(): builtins callable with parentheses (bpftrace 0.20+) */
		n->kind = N_IDENT;
		return sema_expr(se, n);
	}
	if (!f && builtin_find(n->str)) {
		sema_error(se, &n->loc, "%s is a builtin: it takes no arguments (%d provided)", n->str,
			   nargs);
		return NULL;
	}
	if (!f) {
		sema_error(se, &n->op_loc, "Unknown function: %s", n->str);
		return NULL;
	}
	n->func = f;
	if (f->unsafe && !se->s->opts.unsafe)
		sema_error(se, &n->loc, "%s() is an unsafe function being used in safe mode", f->name);
	if (nargs < f->min_args || (f->max_args >= 0 && nargs > f->max_args)) {
		/* bpftrace's wording */
		struct strbuf m;

		sb_init(&m);
		if (f->min_args == f->max_args) {
			if (f->min_args == 0)
				sb_printf(&m, "%s() requires no arguments", f->name);
			else if (f->min_args == 1)
				sb_printf(&m, "%s() requires one argument", f->name);
			else
				sb_printf(&m, "%s() requires %d arguments", f->name, f->min_args);
		} else if (nargs < f->min_args) {
			if (f->min_args == 1)
				sb_printf(&m, "%s() requires at least one argument", f->name);
			else
				sb_printf(&m, "%s() requires at least %d arguments", f->name, f->min_args);
		} else {
			if (f->max_args == 1)
				sb_printf(&m, "%s() takes up to one argument", f->name);
			else
				sb_printf(&m, "%s() takes up to %d arguments", f->name, f->max_args);
		}
		sema_error(se, &n->loc, "%s (%d provided)", m.buf, nargs);
		sb_free(&m);
		return NULL;
	}
	if (f->use == F_MAP_VALUE && !target) {
		sema_error(se, &n->loc, "%s() should be directly assigned to a map", f->name);
		return NULL;
	}
	if (f->use == F_STMT && !is_stmt) {
		sema_error(se, &n->loc, "%s() should not be used in an expression", f->name);
		return NULL;
	}
	if (f->unsafe && (se->ops->is_special || se->ops->no_signal) &&
	    strcmp(f->name, "signal") == 0) {
		sema_error(se, &n->loc, "%s can not be used with \"%s\" probes", f->name, se->ops->name);
		return NULL;
	}
	if (f->unsafe && !se->s->opts.unsafe)
		return NULL;
	return f->check(se, n);
}
