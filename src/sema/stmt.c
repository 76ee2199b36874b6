/*
 * stmt.c - statements: assignments (a map's or variable's type inferred from its first value,
 * count()/hist()/... only as a map's value), conditions, while/unroll/for loops, break and
 * continue only inside a loop.
 */
#include "sema_impl.h"

#include "builtins/builtins.h"
#include "probes/probe.h"
#include "parser.h"
#include "util.h"

static void check_stmts(struct sema *se, struct node *list);

static void check_assign(struct sema *se, struct node *n)
{
	struct node *target = n->a, *value = n->b;
	struct type *t;

	if (target->kind == N_MAP && value->kind == N_CALL && n->op == 0) {
		const struct func *f = func_find(value->str);

		if (f && f->use == F_MAP_VALUE) {
			target->map = script_map(se->s, target->str);
			if (!sema_map_keys(se, target))
				return;
			t = sema_call(se, value, false, target);
			value->type = t;
			if (t) {
				sema_map_assign(se, target, t, &n->loc);
				if (t->kind == TYPE_LHIST) {
					target->map->lhist_min = value->args->next->ival;
					target->map->lhist_max = value->args->next->next->ival;
					target->map->lhist_step = value->args->next->next->next->ival;
				}
			}
			return;
		}
	}
	t = sema_expr(se, value);
	if (!t)
		return;
	if (t->kind == TYPE_VOID || type_is_aggregation(t)) {
		sema_error(se, &value->loc, "Value of type %s cannot be assigned", type_name(t));
		return;
	}
	if (n->op) {
		struct type *cur;

		if ((n->op == DIV || n->op == MOD) && value->is_const && value->ival == 0) {
			sema_error(se, &n->loc, "Division by zero");
			return;
		}
		if (t->kind != TYPE_INT && t->kind != TYPE_POINTER) {
			sema_error(se, &n->loc, "The %s= operator can not be used with a value of type %s",
				   ast_op_name(n->op), type_name(t));
			return;
		}
		if (target->kind == N_VAR) {
			struct var_info *v = sema_var_find(se, target->str);

			if (!v) {
				sema_error(se, &target->loc, "Undefined or undeclared variable: %s",
					   target->str);
				return;
			}
			target->var = v;
			cur = v->type;
		} else {
			target->map = script_map(se->s, target->str);
			if (!sema_map_keys(se, target))
				return;
			if (!target->map->value)
				target->map->value = type_int(8, true);
			cur = target->map->value;
		}
		if (cur->kind != TYPE_INT && cur->kind != TYPE_POINTER)
			sema_error(se, &n->loc, "The %s= operator can not be used on a value of type %s",
				   ast_op_name(n->op), type_name(cur));
		return;
	}
	if (t->kind == TYPE_RECORD && !sema_resolve_type(t)->rec->complete) {
		sema_error(se, &value->loc, "Values of type '%s' cannot be stored", type_name(t));
		return;
	}
	if (target->kind == N_VAR) {
		struct var_info *v = sema_var_find(se, target->str);
		struct type *st = t->kind == TYPE_RECORD || t->kind == TYPE_ARRAY ?
				  sema_storage_type(se, t) : t;

		if (!v) {
			v = sema_var_define(se, target->str, st);
		} else if (!sema_compatible(v->type, st)) {
			struct strbuf a;

			sb_init(&a);
			type_format(v->type, &a);
			sema_error(se, &n->loc, "Type mismatch for %s: trying to assign value of type '%s' "
				   "when variable already contains a value of type '%s'", target->str,
				   type_name(st), a.buf);
			sb_free(&a);
			return;
		} else {
			v->type = sema_merge_types(v->type, st);
		}
		target->var = v;
		target->type = v->type;
		return;
	}
	target->map = script_map(se->s, target->str);
	if (!sema_map_keys(se, target))
		return;
	sema_map_assign(se, target, sema_storage_type(se, t), &n->loc);
	target->type = target->map->value;
}

static void check_cond(struct sema *se, struct node *c, const char *what)
{
	struct type *t = sema_expr(se, c);

	if (t && t->kind != TYPE_INT && t->kind != TYPE_POINTER)
		sema_error(se, &c->loc, "Invalid condition in %s: %s", what, type_name(t));
}

/*
 * for ($kv : @m) { } over a map's entries, $kv = (key, value); for ($i : a..b) { } over a
 * range, b excluded (bpftrace 0.21+).  codegen runs the body in a BPF callback.
 */
static void check_for(struct sema *se, struct node *n)
{
	struct node *var = n->a;
	struct type *t;

	if (sema_var_find(se, var->str)) {
		sema_error(se, &var->loc, "Loop declaration shadows existing variable: %s", var->str);
		return;
	}
	if (n->c) {
		struct type *a = sema_expr(se, n->b), *b = sema_expr(se, n->c);

		if (!a || !b)
			return;
		if (a->kind != TYPE_INT || b->kind != TYPE_INT) {
			sema_error(se, a->kind != TYPE_INT ? &n->b->loc : &n->c->loc,
				   "Loop range requires integer expressions (%s provided)",
				   type_name(a->kind != TYPE_INT ? a : b));
			return;
		}
		t = type_int(8, true);
	} else {
		struct map_info *mi = script_map(se->s, n->b->str);
		struct type *f[2];

		n->b->map = mi;
		if (n->b->args) {
			sema_error(se, &n->b->loc, "for loops iterate over a whole map: write %s, "
				   "without keys", mi->name);
			return;
		}
		if (!mi->value) {
			sema_error(se, &n->b->loc, "Undefined map: %s", mi->name);
			return;
		}
		if (!mi->key) {
			sema_error(se, &n->b->loc, "for loops need a map with keys: %s is a scalar map",
				   mi->name);
			return;
		}
		if (mi->value->kind == TYPE_COUNT || mi->value->kind == TYPE_SUM) {
			/* codegen adds up every CPU's part (bpf_map_lookup_percpu_elem) */
			f[0] = mi->key;
			f[1] = type_int(8, mi->value->kind == TYPE_SUM);
			t = type_tuple(f, 2);
			goto define;
		}
		if (type_is_aggregation(mi->value)) {
			/* each CPU holds its own part of a min()/avg()/...: a loop in BPF would see
			 * only this CPU's, a wrong answer */
			sema_error(se, &n->b->loc, "for loops over maps of %s values are not supported "
				   "(they are per-CPU): iterate over a map of integers, count() or sum() "
				   "instead",
				   type_name(mi->value));
			return;
		}
		f[0] = mi->key;
		f[1] = mi->value;
		t = type_tuple(f, 2);
	}
define:
	var->var = sema_var_define(se, var->str, t);
	var->type = t;
	se->loop_depth++;
	check_stmts(se, n->body);
	se->loop_depth--;
	/* the loop variable is the loop's own: a later loop may use the name again */
	for (struct var_info **pv = &se->vars; *pv; pv = &(*pv)->next) {
		if (*pv == var->var) {
			*pv = var->var->next;
			break;
		}
	}
}

static void check_stmt(struct sema *se, struct node *n)
{
	int64_t v;

	if (n->kind == N_EXPR_STMT && n->a->kind == N_TERNARY) {
		/* c ? printf("yes") : printf("no"); as a statement is an if/else (bpftrace 0.17) */
		struct node *t = n->a;

		n->kind = N_IF;
		n->a = t->a;
		n->body = ast_stmt(N_EXPR_STMT, t->b, NULL, NULL, &t->b->loc);
		n->c = ast_stmt(N_EXPR_STMT, t->c, NULL, NULL, &t->c->loc);
	}
	switch (n->kind) {
	case N_EXPR_STMT:
		if (n->a->kind == N_CALL)
			n->a->type = sema_call(se, n->a, true, NULL);
		else
			sema_expr(se, n->a);
		break;
	case N_ASSIGN:
		check_assign(se, n);
		break;
	case N_IF:
		check_cond(se, n->a, "if");
		check_stmts(se, n->body);
		check_stmts(se, n->c);
		break;
	case N_WHILE:
		check_cond(se, n->a, "while");
		se->loop_depth++;
		check_stmts(se, n->body);
		se->loop_depth--;
		break;
	case N_UNROLL:
		sema_expr(se, n->a);
		if (!sema_const_int(se, n->a, &v)) {
			sema_error(se, &n->a->loc, "unroll count must be an integer literal");
			break;
		}
		if (v > 100) {
			sema_error(se, &n->loc, "unroll maximum value is 100");
			break;
		}
		if (v < 1) {
			sema_error(se, &n->loc, "unroll minimum value is 1");
			break;
		}
		n->ival = v;
		check_stmts(se, n->body);
		break;
	case N_FOR:
		check_for(se, n);
		break;
	case N_BREAK:
	case N_CONTINUE:
		if (!se->loop_depth)
			sema_error(se, &n->loc, "%s used outside of a loop",
				   n->kind == N_BREAK ? "break" : "continue");
		break;
	case N_RETURN:
		break;
	default:
		sema_error(se, &n->loc, "unexpected expression");
		break;
	}
}

static void check_stmts(struct sema *se, struct node *list)
{
	for (; list; list = list->next)
		check_stmt(se, list);
}

void sema_check_probe(struct sema *se, struct probe *p)
{
	se->probe = p;
	se->ap = p->aps[0];
	se->ops = p->ops;
	se->vars = NULL;
	se->loop_depth = 0;
	se->args = p->args;
	probe_dwarf_scope(p);
	if (p->pred) {
		struct type *t;

		t = sema_expr(se, p->pred);
		if (t && t->kind != TYPE_INT && t->kind != TYPE_POINTER)
			sema_error(se, &p->pred->loc, "Invalid type for predicate: %s", type_name(t));
	}
	check_stmts(se, p->body);
}
