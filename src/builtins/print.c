/* print.c - functions that talk to user space: printf, print, time, cat, system, exit, strftime. */
#include "builtins.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cg.h"
#include "parser.h"
#include "runtime/format.h"
#include "runtime/kinds.h"
#include "sema.h"

/*
 * Type the arguments after the format and check them against its conversions; register the
 * call site in the final pass.  Shared by printf, system and cat.
 */
static struct type *check_format_call(struct sema *se, struct node *n, enum event_kind kind)
{
	const char *name = n->str;
	struct fmt_spec *specs = NULL;
	size_t nspecs = 0, i;
	struct type **types, *packed;
	struct node *a;
	uint32_t nargs = (uint32_t)ast_list_len(n->args) - 1;
	char *err = NULL;
	bool ok = true;

	if (n->args->kind == N_POSITIONAL)
		sema_expr(se, n->args);
	if (n->args->kind != N_STR) {
		struct type *t = sema_expr(se, n->args);

		if (t)
			sema_error(se, &n->loc, "%s() expects a string literal (%s provided)", name,
				   type_kind_word(t));
		return NULL;
	}
	if (fmt_parse(n->args->str, &specs, &nspecs, &err)) {
		sema_error(se, &n->loc, "%s: %s", name, err ? err : "invalid format string");
		free(err);
		return NULL;
	}
	types = xcalloc(nargs ? nargs : 1, sizeof(*types));
	for (i = 0, a = n->args->next; a; a = a->next, i++) {
		types[i] = sema_expr(se, a);
		if (!types[i]) {
			/* an undefined map still gets its conversion checked, as "none" (bpftrace) */
			if (a->kind != N_MAP)
				goto out;
			types[i] = type_new(TYPE_NONE);
			ok = false;
		}
	}
	if (nargs < nspecs && ok) {
		sema_error(se, &n->loc, "%s: Not enough arguments for format string (%u supplied, %zu "
			   "expected)", name, nargs, nspecs);
		ok = false;
		goto out;
	}
	if (nargs > nspecs && ok) {
		sema_error(se, &n->loc, "%s: Too many arguments for format string (%u supplied, %zu "
			   "expected)", name, nargs, nspecs);
		ok = false;
		goto out;
	}
	for (i = 0; i < nspecs && i < nargs; i++) {
		const struct type *t = types[i];
		bool good;

		switch (specs[i].arg) {
		case FMT_ARG_STR:
			good = t->kind == TYPE_STRING || t->vk;	/* a value kind: its text */
			break;
		case FMT_ARG_BUF:
			good = t->kind == TYPE_BUFFER;
			break;
		default:
			good = t->kind == TYPE_INT || t->kind == TYPE_POINTER ||
			       (t->vk && t->vk->printf_int);
			break;
		}
		if (!good) {
			sema_error(se, &n->loc, "%s: %%%s specifier expects a value of type %s (%s supplied)",
				   name, specs[i].conv == 'r' ? "r" : (char[]){ specs[i].conv, 0 },
				   specs[i].arg == FMT_ARG_STR ? "string" :
				   specs[i].arg == FMT_ARG_BUF ? "buffer" : "integer", type_kind_word(t));
			ok = false;
			break;
		}
	}
	for (i = 0; ok && i < nargs; i++) {
		if (types[i]->kind == TYPE_VOID || types[i]->kind == TYPE_RECORD ||
		    types[i]->kind == TYPE_ARRAY) {
			sema_error(se, &n->loc, "%s: cannot print a value of type %s", name,
				   type_name(types[i]));
			ok = false;
		}
	}
	if (ok && se->final) {
		struct type **st = xcalloc(nargs ? nargs : 1, sizeof(*st));

		for (i = 0; i < nargs; i++)
			st[i] = types[i]->kind == TYPE_INT || types[i]->kind == TYPE_POINTER ?
				type_int(8, types[i]->kind == TYPE_INT && types[i]->is_signed) : types[i];
		packed = type_tuple(st, nargs);
		n->id = script_add_fmt(se->s, kind, n->args->str, packed, types, nargs);
		free(st);
	}
out:
	free(types);
	free(specs);
	return ok ? type_void() : NULL;
}

static struct type *c_printf(struct sema *se, struct node *n)
{
	return check_format_call(se, n, EV_PRINTF);
}

static struct type *c_system(struct sema *se, struct node *n)
{
	return check_format_call(se, n, EV_SYSTEM);
}

static struct type *c_cat(struct sema *se, struct node *n)
{
	return check_format_call(se, n, EV_CAT);
}

static LLVMValueRef f_format_call(struct cg *cg, struct node *n, struct node *m)
{
	const struct fmt_info *fi = &cg->s->fmts[n->id];

	cg_send_event(cg, fi->kind, n->id, fi->args, n->args->next, n);
	return irb_const(cg, 0);
}

static struct type *c_exit(struct sema *se, struct node *n)
{
	/* exit(code): sonde's exit status (bpftrace 0.21+) */
	if (n->args && !sema_require_int(se, n, n->args))
		return NULL;
	return type_void();
}

static LLVMValueRef f_exit(struct cg *cg, struct node *n, struct node *m)
{
	struct type *u64 = type_int(8, false);

	if (n->args)
		cg_send_event(cg, EV_EXIT, 0, type_tuple(&u64, 1), n->args, n);
	else
		cg_send_event(cg, EV_EXIT, 0, NULL, NULL, n);
	/* like bpftrace: the rest of this probe does not run */
	LLVMBuildBr(cg->b, cg->ret_bb);
	LLVMPositionBuilderAtEnd(cg->b, irb_block(cg, "after.exit"));
	return irb_const(cg, 0);
}

static struct type *c_time(struct sema *se, struct node *n)
{
	const char *fmt = "%H:%M:%S\n";

	if (n->args) {
		fmt = sema_literal_str(se, n, n->args);
		if (!fmt)
			return NULL;
	}
	if (se->final)
		n->id = script_add_fmt(se->s, EV_TIME, fmt, NULL, NULL, 0);
	return type_void();
}

static LLVMValueRef f_time(struct cg *cg, struct node *n, struct node *m)
{
	cg_send_event(cg, EV_TIME, n->id, NULL, NULL, n);
	return irb_const(cg, 0);
}

/* print(@map [, top [, div]]) prints a map now; print(value) prints one value. */
static struct type *c_print(struct sema *se, struct node *n)
{
	struct node *a = n->args, *b;
	struct type *t;
	int64_t v;

	if (a->kind == N_MAP && !a->args) {
		a->map = script_map(se->s, a->str);
		if (!a->map->value && se->final) {
			sema_error(se, &a->loc, "Undefined map: %s", a->str);
			return NULL;
		}
		for (b = a->next; b; b = b->next) {
			sema_expr(se, b);
			if (!sema_const_int(se, b, &v) || v < 0) {
				sema_error(se, &b->loc, "print() expects a positive integer literal");
				return NULL;
			}
		}
		n->ival = 1;	/* whole map */
		return type_void();
	}
	if (a->next) {
		sema_error(se, &n->loc, "Non-map print() only takes 1 argument, %zu found",
			   ast_list_len(n->args));
		return NULL;
	}
	/* print(args): the probe's arguments as a record, as bpftrace 0.18 and later print
	 * them, not the address of the context that holds them */
	if (a->kind == N_IDENT && strcmp(a->str, "args") == 0) {
		n->args = ast_unop(MUL, a, &a->loc);
		a = n->args;
	}
	t = sema_expr(se, a);
	if (!t)
		return NULL;
	if (type_is_aggregation(t) || t->kind == TYPE_VOID) {
		sema_error(se, &a->loc, "print() cannot print a value of type %s", type_name(t));
		return NULL;
	}
	if (se->final) {
		/* struct and array values are copied out of traced memory into the event */
		struct type *st = t->kind == TYPE_INT || t->kind == TYPE_POINTER ?
				  type_int(8, t->kind == TYPE_INT && t->is_signed) :
				  t->kind == TYPE_RECORD || t->kind == TYPE_ARRAY ?
				  sema_storage_type(se, t) : t;

		n->id = script_add_fmt(se->s, EV_PRINT_VALUE, "", type_tuple(&st, 1), &t, 1);
	}
	n->ival = 0;
	return type_void();
}

static LLVMValueRef f_print(struct cg *cg, struct node *n, struct node *m)
{
	struct node *a = n->args;

	if (n->ival) {
		struct node top = { .kind = N_INT, .ival = a->next ? a->next->ival : 0 };
		struct node div = { .kind = N_INT, .ival = a->next && a->next->next ? a->next->next->ival : 0 };
		struct type *ft[2] = { type_int(8, false), type_int(8, false) };

		top.type = ft[0];
		div.type = ft[1];
		top.next = &div;
		cg_send_event(cg, EV_PRINT_MAP, a->map->id, type_tuple(ft, 2), &top, n);
		return irb_const(cg, 0);
	}
	cg_send_event(cg, EV_PRINT_VALUE, n->id, cg->s->fmts[n->id].args, a, n);
	return irb_const(cg, 0);
}

static struct type *c_strftime(struct sema *se, struct node *n)
{
	const char *fmt = sema_literal_str(se, n, n->args);

	if (!fmt || !sema_require_int(se, n, n->args->next))
		return NULL;
	if (se->final)
		n->id = script_add_fmt(se->s, EV_TIME, fmt, NULL, NULL, 0);
	return kind_type(TYPE_TIMESTAMP);
}

static LLVMValueRef f_strftime(struct cg *cg, struct node *n, struct node *m)
{
	LLVMValueRef ns = cg_expr(cg, n->args->next);
	LLVMValueRef slot = cg_slot(cg, 16);

	irb_store(cg, slot, irb_const(cg, n->id), 8);
	irb_store(cg, irb_gep(cg, slot, 8), ns, 8);
	return slot;
}

/* join(argv [, sep]): up to JOIN_MAX strings of a NULL-terminated char *[] */
#define JOIN_MAX 16

static struct type *c_join(struct sema *se, struct node *n)
{
	struct type *t = sema_expr(se, n->args);
	const char *sep = " ";

	if (!t)
		return NULL;
	if (t->kind != TYPE_POINTER && t->kind != TYPE_INT) {
		sema_error(se, &n->args->loc, "join() expects a pointer to an array of strings (%s "
			   "provided)", type_name(t));
		return NULL;
	}
	if (n->args->next) {
		sep = sema_literal_str(se, n, n->args->next);
		if (!sep)
			return NULL;
	}
	if (se->final)
		n->id = script_add_fmt(se->s, EV_JOIN, sep, NULL, NULL, 0);
	return type_void();
}

static LLVMValueRef f_join(struct cg *cg, struct node *n, struct node *m)
{
	uint32_t len = cg->s->opts.strlen, i;
	const struct type *at = n->args->type;
	enum addrspace as = at->as && at->as != AS_CTX ? at->as : cg->pi->ap->ops->as;
	LLVMValueRef arr = cg_expr(cg, n->args), rec, slot, count;
	LLVMBasicBlockRef fin = irb_block(cg, "join.fin"), done;

	rec = cg_event_begin(cg, EV_JOIN, n->id, 8 + JOIN_MAX * len, &done);
	count = irb_gep(cg, rec, 8);
	irb_store(cg, count, irb_const(cg, 0), 8);
	slot = cg_slot(cg, 8);
	for (i = 0; i < JOIN_MAX; i++) {
		LLVMBasicBlockRef more = irb_block(cg, "join.more");
		LLVMValueRef p, dst = irb_gep(cg, rec, 16 + i * len);

		irb_store(cg, slot, irb_const(cg, 0), 8);
		irb_probe_read(cg, slot, 8, LLVMBuildAdd(cg->b, arr, irb_const(cg, 8 * i), ""), as);
		p = LLVMBuildLoad2(cg->b, cg->i64, slot, "");
		LLVMBuildCondBr(cg->b, irb_bool(cg, p), more, fin);
		LLVMPositionBuilderAtEnd(cg->b, more);
		irb_store(cg, dst, LLVMConstInt(cg->i8, 0, false), 1);
		irb_probe_read_str(cg, dst, len, p, as);
		irb_store(cg, count, irb_const(cg, i + 1), 8);
	}
	LLVMBuildBr(cg->b, fin);
	LLVMPositionBuilderAtEnd(cg->b, fin);
	cg_event_end(cg, rec, done);
	return irb_const(cg, 0);
}

const struct func funcs_print[] = {
	{ "join", 1, 2, F_STMT, false, c_join, f_join },
	{ "printf", 1, 65, F_STMT, false, c_printf, f_format_call },
	{ "system", 1, 65, F_STMT, true, c_system, f_format_call },
	{ "cat", 1, 65, F_STMT, false, c_cat, f_format_call },
	{ "exit", 0, 1, F_STMT, false, c_exit, f_exit },
	{ "time", 0, 1, F_STMT, false, c_time, f_time },
	{ "print", 1, 3, F_STMT, false, c_print, f_print },
	{ "strftime", 2, 2, F_EXPR, false, c_strftime, f_strftime },
	{ NULL },
};
