/*
 * newer.c - functions that bpftrace 0.18-0.26 added: has_key, len, strlen, strstr (and the
 * map-and-key argument form that has_key and two-argument delete share).
 */
#include "builtins.h"

#include <string.h>

#include "codegen/cg.h"
#include "sema.h"

/*
 * f(@m, key) is f(@m[key]): move the key under the map node once, so the map's key checks
 * (and codegen's key building) are the ones every map access uses.  n->ival marks the rewrite.
 */
bool builtins_map_key_arg(struct sema *se, struct node *n)
{
	struct node *m = n->args;

	if (!n->ival) {
		if (m->kind != N_MAP || m->args || !m->next) {
			sema_error(se, &n->loc, "%s() expects a map and a key: %s(@map, key)", n->str,
				   n->str);
			return false;
		}
		m->args = m->next;
		m->next = NULL;
		n->ival = 1;
	}
	return sema_expr(se, m) != NULL;
}

static struct type *c_has_key(struct sema *se, struct node *n)
{
	if (!builtins_map_key_arg(se, n))
		return NULL;
	return type_int(8, false);
}

static LLVMValueRef f_has_key(struct cg *cg, struct node *n, struct node *m)
{
	struct node *a = n->args;
	LLVMValueRef key = cg_map_key(cg, a, NULL);
	LLVMValueRef p = irb_map_lookup(cg, cg->maps[a->map->id], key);

	return LLVMBuildZExt(cg->b, irb_bool(cg, p), cg->i64, "");
}

static struct type *c_len(struct sema *se, struct node *n)
{
	struct node *a = n->args;

	if (a->kind != N_MAP || a->args) {
		sema_error(se, &n->loc, "len() expects a map to be provided");
		return NULL;
	}
	a->map = script_map(se->s, a->str);
	if (!a->map->value) {
		sema_error(se, &a->loc, "Undefined map: %s", a->str);
		return NULL;
	}
	return type_int(8, false);
}

static LLVMValueRef f_len(struct cg *cg, struct node *n, struct node *m)
{
	return cg_map_len(cg, n->args->map, &n->loc);
}

static bool want_string(struct sema *se, struct node *n, struct node *a)
{
	struct type *t = sema_expr(se, a);

	if (!t)
		return false;
	if (t->kind != TYPE_STRING) {
		sema_error(se, &a->loc, "%s() expects a string (%s provided)", n->str, type_name(t));
		return false;
	}
	return true;
}

static struct type *c_strlen(struct sema *se, struct node *n)
{
	return want_string(se, n, n->args) ? type_int(8, false) : NULL;
}

/* The first NUL's index, found by comparisons the verifier sees as straight-line code. */
static LLVMValueRef f_strlen(struct cg *cg, struct node *n, struct node *m)
{
	LLVMValueRef s = cg_expr(cg, n->args), res = irb_alloca(cg, cg->i64, "strlen");
	uint32_t size = n->args->type->size, i;
	LLVMBasicBlockRef done = irb_block(cg, "strlen.done");

	LLVMBuildStore(cg->b, irb_const(cg, size ? size - 1 : 0), res);
	for (i = 0; i + 1 < size; i++) {
		LLVMBasicBlockRef hit = irb_block(cg, "strlen.nul"), next = irb_block(cg, "strlen.next");
		LLVMValueRef c = LLVMBuildLoad2(cg->b, cg->i8, irb_gep(cg, s, i), "");

		LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntEQ, c, LLVMConstInt(cg->i8, 0, false),
						     ""), hit, next);
		LLVMPositionBuilderAtEnd(cg->b, hit);
		LLVMBuildStore(cg->b, irb_const(cg, i), res);
		LLVMBuildBr(cg->b, done);
		LLVMPositionBuilderAtEnd(cg->b, next);
	}
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, done);
	return LLVMBuildLoad2(cg->b, cg->i64, res, "");
}

static struct type *c_strstr(struct sema *se, struct node *n)
{
	if (!want_string(se, n, n->args) || !want_string(se, n, n->args->next))
		return NULL;
	if (n->args->next->kind != N_STR) {
		sema_error(se, &n->args->next->loc, "strstr() expects a string literal as the needle");
		return NULL;
	}
	return type_int(8, true);
}

/* strstr(haystack, "needle"): the needle's first index in haystack, or -1. */
static LLVMValueRef f_strstr(struct cg *cg, struct node *n, struct node *m)
{
	LLVMValueRef hay = cg_expr(cg, n->args), res = irb_alloca(cg, cg->i64, "strstr");
	const char *needle = n->args->next->str;
	uint32_t nlen = (uint32_t)n->args->next->slen, hsize = n->args->type->size, i, j;
	LLVMBasicBlockRef done = irb_block(cg, "strstr.done");

	LLVMBuildStore(cg->b, irb_const(cg, nlen == 0 ? 0 : -1), res);
	for (i = 0; nlen && i + nlen < hsize; i++) {
		LLVMBasicBlockRef next = irb_block(cg, "strstr.next"), live = irb_block(cg, "strstr.live");
		LLVMBasicBlockRef found = irb_block(cg, "strstr.found");
		LLVMValueRef c0 = LLVMBuildLoad2(cg->b, cg->i8, irb_gep(cg, hay, i), "");

		/* the haystack ended: not found */
		LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntEQ, c0, LLVMConstInt(cg->i8, 0, false),
						     ""), done, live);
		LLVMPositionBuilderAtEnd(cg->b, live);
		for (j = 0; j < nlen; j++) {
			LLVMBasicBlockRef ok = j + 1 < nlen ? irb_block(cg, "strstr.match") : found;
			LLVMValueRef c = LLVMBuildLoad2(cg->b, cg->i8, irb_gep(cg, hay, i + j), "");

			LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntEQ, c,
				LLVMConstInt(cg->i8, (unsigned char)needle[j], false), ""), ok, next);
			LLVMPositionBuilderAtEnd(cg->b, ok);
		}
		LLVMBuildStore(cg->b, irb_const(cg, i), res);
		LLVMBuildBr(cg->b, done);
		LLVMPositionBuilderAtEnd(cg->b, next);
	}
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, done);
	return LLVMBuildLoad2(cg->b, cg->i64, res, "");
}

const struct func funcs_newer[] = {
	/* one argument only after builtins_map_key_arg moved the key under the map */
	{ "has_key", 1, 2, F_EXPR, false, c_has_key, f_has_key },
	{ "len", 1, 1, F_EXPR, false, c_len, f_len },
	{ "strlen", 1, 1, F_EXPR, false, c_strlen, f_strlen },
	{ "strstr", 2, 2, F_EXPR, false, c_strstr, f_strstr },
	{ NULL },
};
