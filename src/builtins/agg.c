/*
 * agg.c - aggregations (count sum avg min max stats hist lhist), updated in per-CPU maps and
 * reduced in user space, and the map functions clear, zero, delete.
 */
#include "builtins.h"

#include <errno.h>

#include "codegen/cg.h"
#include "sema.h"

#define BPF_ANY 0
#define BPF_NOEXIST 1

static struct type *agg(enum type_kind kind, bool is_signed)
{
	struct type *t = type_simple(kind);

	t->is_signed = is_signed;
	return t;
}

static struct type *c_count(struct sema *se, struct node *n)
{
	return agg(TYPE_COUNT, false);
}

static struct type *c_value_agg(struct sema *se, struct node *n, enum type_kind kind)
{
	struct type *t = sema_expr(se, n->args);

	if (!t)
		return NULL;
	if (t->kind != TYPE_INT && t->kind != TYPE_POINTER) {
		sema_error(se, &n->loc, "%s() only supports integer arguments (%s provided)",
			   n->str, type_kind_word(t));
		return NULL;
	}
	return agg(kind, t->kind == TYPE_INT && t->is_signed);
}

static struct type *c_sum(struct sema *se, struct node *n) { return c_value_agg(se, n, TYPE_SUM); }
static struct type *c_min(struct sema *se, struct node *n) { return c_value_agg(se, n, TYPE_MIN); }
static struct type *c_max(struct sema *se, struct node *n) { return c_value_agg(se, n, TYPE_MAX); }
static struct type *c_avg(struct sema *se, struct node *n) { return c_value_agg(se, n, TYPE_AVG); }
static struct type *c_stats(struct sema *se, struct node *n) { return c_value_agg(se, n, TYPE_STATS); }
static struct type *c_hist(struct sema *se, struct node *n) { return c_value_agg(se, n, TYPE_HIST); }

static struct type *c_lhist(struct sema *se, struct node *n)
{
	struct node *a = n->args->next;
	int64_t v[3];
	int i;

	if (!c_value_agg(se, n, TYPE_LHIST))
		return NULL;
	for (i = 0; i < 3; i++, a = a->next) {
		if (!sema_literal_int(se, n, a, &v[i]))
			return NULL;
		a->ival = v[i];
	}
	if (v[0] < 0) {
		sema_error(se, &n->loc, "lhist() min must be non-negative (provided min %lld)",
			   (long long)v[0]);
		return NULL;
	}
	if (v[0] > v[1]) {
		sema_error(se, &n->loc, "lhist() min must be less than max (provided min %lld and max %lld)",
			   (long long)v[0], (long long)v[1]);
		return NULL;
	}
	if (v[2] <= 0) {
		sema_error(se, &n->loc, "lhist() step must be >= 1 (%lld provided)", (long long)v[2]);
		return NULL;
	}
	if ((v[1] - v[0]) / v[2] > 1000) {
		sema_error(se, &n->loc, "lhist() too many buckets, must be <= 1000 (would need %lld)",
			   (long long)((v[1] - v[0]) / v[2]));
		return NULL;
	}
	return agg(TYPE_LHIST, false);
}

/*
 * Update the value at key in place: look it up and apply fn to it.  When the key is absent,
 * the first value is fn applied to zeroes, inserted whole.  A per-CPU map is only ever
 * written by this CPU, so the insert may overwrite (a probe nested on the same CPU that
 * created the key in between loses one update, as in bpftrace); a shared map inserts only if
 * still absent and otherwise updates what the other CPU inserted.
 */
static void update(struct cg *cg, struct node *map, LLVMValueRef key,
		   void (*fn)(struct cg *cg, LLVMValueRef p, LLVMValueRef v, bool fresh, bool is_signed),
		   LLVMValueRef v, bool is_signed)
{
	LLVMValueRef mp = cg->maps[map->map->id];
	LLVMValueRef p = irb_map_lookup(cg, mp, key), init, r, p2;
	LLVMBasicBlockRef hit = irb_block(cg, "agg.hit"), miss = irb_block(cg, "agg.miss"),
			  done = irb_block(cg, "agg.done"), retry, hit2;
	bool shared = !map->map->percpu;

	LLVMBuildCondBr(cg->b, irb_bool(cg, p), hit, miss);
	LLVMPositionBuilderAtEnd(cg->b, hit);
	fn(cg, p, v, false, is_signed);
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, miss);
	/* plain stores, which LLVM folds into fn's result (irb_zero's are volatile) */
	init = cg_stack_slot(cg, 16);
	irb_store(cg, init, irb_const(cg, 0), 8);
	irb_store(cg, irb_gep(cg, init, 8), irb_const(cg, 0), 8);
	fn(cg, init, v, true, is_signed);
	r = irb_map_update(cg, mp, key, init, shared ? BPF_NOEXIST : BPF_ANY);
	if (!shared) {
		LLVMBuildBr(cg->b, done);
		LLVMPositionBuilderAtEnd(cg->b, done);
		return;
	}
	retry = irb_block(cg, "agg.retry");
	hit2 = irb_block(cg, "agg.hit2");
	LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntEQ, r, irb_const(cg, -EEXIST), ""),
			retry, done);
	LLVMPositionBuilderAtEnd(cg->b, retry);
	p2 = irb_map_lookup(cg, mp, key);
	LLVMBuildCondBr(cg->b, irb_bool(cg, p2), hit2, done);
	LLVMPositionBuilderAtEnd(cg->b, hit2);
	fn(cg, p2, v, false, is_signed);
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, done);
}

static void add_to(struct cg *cg, LLVMValueRef p, LLVMValueRef v, bool fresh, bool is_signed)
{
	LLVMValueRef cur = LLVMBuildLoad2(cg->b, cg->i64, p, "");

	LLVMBuildStore(cg->b, LLVMBuildAdd(cg->b, cur, v, ""), p);
}

/* {total, count} */
static void add_avg(struct cg *cg, LLVMValueRef p, LLVMValueRef v, bool fresh, bool is_signed)
{
	LLVMValueRef cnt = irb_gep(cg, p, 8);

	add_to(cg, p, v, fresh, is_signed);
	add_to(cg, cnt, irb_const(cg, 1), fresh, is_signed);
}

/* {value, set} */
static void minmax(struct cg *cg, LLVMValueRef p, LLVMValueRef v, bool is_max, bool is_signed)
{
	LLVMValueRef setp = irb_gep(cg, p, 8);
	LLVMValueRef cur = LLVMBuildLoad2(cg->b, cg->i64, p, "");
	LLVMValueRef set = LLVMBuildLoad2(cg->b, cg->i64, setp, "");
	LLVMIntPredicate pr = is_max ? (is_signed ? LLVMIntSGT : LLVMIntUGT) :
				       (is_signed ? LLVMIntSLT : LLVMIntULT);
	LLVMValueRef better = LLVMBuildICmp(cg->b, pr, v, cur, "");
	LLVMValueRef unset = LLVMBuildICmp(cg->b, LLVMIntEQ, set, irb_const(cg, 0), "");
	LLVMBasicBlockRef st = irb_block(cg, "mm.store"), done = irb_block(cg, "mm.done");

	LLVMBuildCondBr(cg->b, LLVMBuildOr(cg->b, better, unset, ""), st, done);
	LLVMPositionBuilderAtEnd(cg->b, st);
	LLVMBuildStore(cg->b, v, p);
	LLVMBuildStore(cg->b, irb_const(cg, 1), setp);
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, done);
}

static void do_min(struct cg *cg, LLVMValueRef p, LLVMValueRef v, bool fresh, bool is_signed)
{
	minmax(cg, p, v, false, is_signed);
}

static void do_max(struct cg *cg, LLVMValueRef p, LLVMValueRef v, bool fresh, bool is_signed)
{
	minmax(cg, p, v, true, is_signed);
}

static LLVMValueRef f_count(struct cg *cg, struct node *n, struct node *map)
{
	update(cg, map, cg_map_key(cg, map, NULL), add_to, irb_const(cg, 1), false);
	return NULL;
}

static LLVMValueRef f_value_agg(struct cg *cg, struct node *n, struct node *map)
{
	LLVMValueRef v = cg_expr(cg, n->args);
	bool is_signed = n->type->is_signed;

	switch (n->type->kind) {
	case TYPE_SUM:
		update(cg, map, cg_map_key(cg, map, NULL), add_to, v, is_signed);
		break;
	case TYPE_MIN:
		update(cg, map, cg_map_key(cg, map, NULL), do_min, v, is_signed);
		break;
	case TYPE_MAX:
		update(cg, map, cg_map_key(cg, map, NULL), do_max, v, is_signed);
		break;
	default:
		update(cg, map, cg_map_key(cg, map, NULL), add_avg, v, is_signed);
		break;
	}
	return NULL;
}

/* hist bucket: 0 for v < 0, 1 for 0, else 2 + floor(log2(v)) */
static LLVMValueRef log2_bucket(struct cg *cg, LLVMValueRef v)
{
	LLVMValueRef res = irb_alloca(cg, cg->i64, "bucket"), x = irb_alloca(cg, cg->i64, "x"), l;
	LLVMBasicBlockRef neg = irb_block(cg, "h.neg"), nonneg = irb_block(cg, "h.nonneg"),
			  zero = irb_block(cg, "h.zero"), pos = irb_block(cg, "h.pos"),
			  done = irb_block(cg, "h.done");
	int shift;

	LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, v, irb_const(cg, 0), ""), neg, nonneg);
	LLVMPositionBuilderAtEnd(cg->b, neg);
	LLVMBuildStore(cg->b, irb_const(cg, 0), res);
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, nonneg);
	LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntEQ, v, irb_const(cg, 0), ""), zero, pos);
	LLVMPositionBuilderAtEnd(cg->b, zero);
	LLVMBuildStore(cg->b, irb_const(cg, 1), res);
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, pos);
	/* branch-free floor(log2(v)): six halving steps */
	LLVMBuildStore(cg->b, v, x);
	LLVMBuildStore(cg->b, irb_const(cg, 2), res);
	for (shift = 32; shift > 0; shift /= 2) {
		LLVMValueRef cur = LLVMBuildLoad2(cg->b, cg->i64, x, "");
		LLVMValueRef big = LLVMBuildICmp(cg->b, LLVMIntUGE, cur,
						 irb_const(cg, (int64_t)(1ULL << shift)), "");
		LLVMValueRef s = LLVMBuildSelect(cg->b, big, irb_const(cg, shift), irb_const(cg, 0), "");

		LLVMBuildStore(cg->b, LLVMBuildLShr(cg->b, cur, s, ""), x);
		l = LLVMBuildLoad2(cg->b, cg->i64, res, "");
		LLVMBuildStore(cg->b, LLVMBuildAdd(cg->b, l, s, ""), res);
	}
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, done);
	return LLVMBuildLoad2(cg->b, cg->i64, res, "");
}

static LLVMValueRef f_hist(struct cg *cg, struct node *n, struct node *map)
{
	LLVMValueRef v = cg_expr(cg, n->args);
	LLVMValueRef b = log2_bucket(cg, v);

	update(cg, map, cg_map_key(cg, map, b), add_to, irb_const(cg, 1), false);
	return NULL;
}

static LLVMValueRef f_lhist(struct cg *cg, struct node *n, struct node *map)
{
	LLVMValueRef v = cg_expr(cg, n->args);
	int64_t min = n->args->next->ival, max = n->args->next->next->ival,
		step = n->args->next->next->next->ival;
	int64_t nb = (max - min) / step;
	LLVMValueRef below = LLVMBuildICmp(cg->b, LLVMIntSLT, v, irb_const(cg, min), "");
	LLVMValueRef above = LLVMBuildICmp(cg->b, LLVMIntSGE, v, irb_const(cg, max), "");
	/*
	 * mid is only selected for min <= v < max, where v - min is not negative: an unsigned
	 * division gives the same bucket, and BPF has no signed one (LLVM aborts on sdiv by a
	 * constant of a value it cannot prove positive, e.g. retval).
	 */
	LLVMValueRef mid = LLVMBuildAdd(cg->b, LLVMBuildUDiv(cg->b, LLVMBuildSub(cg->b, v,
							irb_const(cg, min), ""), irb_const(cg, step), ""),
					irb_const(cg, 1), "");
	LLVMValueRef b = LLVMBuildSelect(cg->b, below, irb_const(cg, 0),
					 LLVMBuildSelect(cg->b, above, irb_const(cg, nb + 1), mid, ""), "");

	update(cg, map, cg_map_key(cg, map, b), add_to, irb_const(cg, 1), false);
	return NULL;
}

/* clear/zero: done by user space between events, as bpftrace does */
static struct type *c_map_fn(struct sema *se, struct node *n)
{
	struct node *a = n->args;

	if (a->kind != N_MAP || a->args) {
		sema_error(se, &n->loc, "%s() expects a map to be provided", n->str);
		return NULL;
	}
	a->map = script_map(se->s, a->str);
	if (!a->map->value && se->final) {
		sema_error(se, &a->loc, "Undefined map: %s", a->str);
		return NULL;
	}
	return type_void();
}

static LLVMValueRef f_clear(struct cg *cg, struct node *n, struct node *m)
{
	cg_send_event(cg, EV_CLEAR_MAP, n->args->map->id, NULL, NULL, n);
	return irb_const(cg, 0);
}

static LLVMValueRef f_zero(struct cg *cg, struct node *n, struct node *m)
{
	cg_send_event(cg, EV_ZERO_MAP, n->args->map->id, NULL, NULL, n);
	return irb_const(cg, 0);
}

/* -k: a call site whose helper's failure is reported at run time (n->id, else -1). */
static struct type *helper_error_site(struct sema *se, struct node *n, const char *helper)
{
	n->id = -1;
	if (se->final && se->s->opts.helper_errors) {
		n->id = script_add_fmt(se->s, EV_HELPER_ERROR, helper, NULL, NULL, 0);
		se->s->fmts[n->id].loc = n->loc;
	}
	return type_void();
}

static struct type *c_delete(struct sema *se, struct node *n)
{
	struct node *a = n->args;

	/* delete(@m, key), bpftrace 0.20+'s form of delete(@m[key]) */
	if (a->next || n->ival)
		return builtins_map_key_arg(se, n) || !se->final ?
		       helper_error_site(se, n, "map_delete_elem") : NULL;
	if (a->kind != N_MAP) {
		sema_error(se, &n->loc, "delete() expects a map to be provided");
		return NULL;
	}
	/* type the keys and check them against the map */
	if (!sema_expr(se, a) && se->final)
		return NULL;
	return helper_error_site(se, n, "map_delete_elem");
}

static LLVMValueRef f_delete(struct cg *cg, struct node *n, struct node *m)
{
	struct node *a = n->args;
	LLVMValueRef key = cg_map_key(cg, a, NULL);

	cg_helper_error(cg, n, irb_map_delete(cg, cg->maps[a->map->id], key));
	return irb_const(cg, 0);
}

const struct func funcs_agg[] = {
	{ "count", 0, 0, F_MAP_VALUE, false, c_count, f_count },
	{ "sum", 1, 1, F_MAP_VALUE, false, c_sum, f_value_agg },
	{ "min", 1, 1, F_MAP_VALUE, false, c_min, f_value_agg },
	{ "max", 1, 1, F_MAP_VALUE, false, c_max, f_value_agg },
	{ "avg", 1, 1, F_MAP_VALUE, false, c_avg, f_value_agg },
	{ "stats", 1, 1, F_MAP_VALUE, false, c_stats, f_value_agg },
	{ "hist", 1, 1, F_MAP_VALUE, false, c_hist, f_hist },
	{ "lhist", 4, 4, F_MAP_VALUE, false, c_lhist, f_lhist },
	{ "clear", 1, 1, F_STMT, false, c_map_fn, f_clear },
	{ "zero", 1, 1, F_STMT, false, c_map_fn, f_zero },
	{ "delete", 1, 2, F_STMT, false, c_delete, f_delete },
	{ NULL },
};
