/*
 * codegen.c - the typed tree to LLVM IR for the BPF target: one function per program
 * (probe block x target), statements and expressions, map access, events.
 *
 * Every program starts by looking up its own per-CPU scratch frame (key = program index, so a
 * program interrupted by another on the same CPU does not share memory); aggregate temporaries
 * get fixed offsets in it, which keeps large strings and printf argument packs off the 512-byte
 * BPF stack.
 */
#include "cg.h"

#include <stdlib.h>
#include <string.h>

#include "builtins/builtins.h"
#include "builtins/pidns.h"
#include "common/arch.h"
#include "parser.h"
#include "sema.h"
#include "util.h"

static void cg_stmts(struct cg *cg, struct node *list);

static void cg_set_loc(struct cg *cg, const struct loc *loc)
{
	LLVMMetadataRef l = LLVMDIBuilderCreateDebugLocation(cg->ctx, (unsigned)loc->first_line,
							    (unsigned)loc->first_column, cg->di_sp, NULL);

	LLVMSetCurrentDebugLocation2(cg->b, l);
}

/*
 * Small temporaries of a probe without loops may go on the BPF stack while a budget lasts: a
 * probe that needs nothing larger then does without the frame lookup altogether
 * (drop_unused_frame).  Only for values accessed at 8-byte-aligned offsets (keys of one
 * scalar or string, scalars read from memory, comm, first values of aggregations): the
 * verifier rejects a misaligned stack access, which it allows in a map value on x86, and
 * irb_copy() lets LLVM use 8-byte moves.  The budget leaves room in the 512-byte stack for
 * LLVM's own slots and for the user-stack walker's frame, which the verifier adds to the
 * caller's.  Loop bodies are callbacks with their own functions, so a probe with loops keeps
 * every temporary in the frame.
 */
#define CG_STACK_SLOT_MAX 64
#define CG_STACK_BUDGET 192
#define CG_STACK_BUDGET_USTACK 96

LLVMValueRef cg_stack_slot(struct cg *cg, uint32_t size)
{
	uint32_t budget = cg->s->uses_ustack ? CG_STACK_BUDGET_USTACK : CG_STACK_BUDGET;
	uint32_t sz = ALIGN_UP(size ? size : 1, 8);
	LLVMValueRef p;

	if (cg->vars_in_frame || cg->fn != cg->root_fn || sz > CG_STACK_SLOT_MAX ||
	    cg->stack_used + sz > budget)
		return cg_slot(cg, size);
	p = irb_alloca(cg, LLVMArrayType(cg->i8, sz), "slot");
	LLVMSetAlignment(p, 8);
	cg->stack_used += sz;
	return p;
}

LLVMValueRef cg_slot(struct cg *cg, uint32_t size)
{
	LLVMValueRef p;

	cg->frame_off = ALIGN_UP(cg->frame_off, 8);
	p = irb_gep(cg, cg->frame, cg->frame_off);
	cg->frame_off += ALIGN_UP(size ? size : 1, 8);
	if (cg->frame_off > cg->frame_max)
		cg->frame_max = cg->frame_off;
	return p;
}

/* Records and arrays read through a pointer stay in the traced memory until used; an array
 * without an address space (pton()) is a value held in scratch memory. */
static bool is_lazy(const struct type *t)
{
	return t && (t->kind == TYPE_RECORD || t->kind == TYPE_ARRAY) && t->as != AS_SCRATCH;
}

static bool in_memory(const struct type *t)
{
	return t && type_is_aggregate(t) && !is_lazy(t);
}

/* Stored size of a scalar: ints and pointers are 8 bytes once stored. */
void cg_store(struct cg *cg, LLVMValueRef dst, const struct type *st, LLVMValueRef v,
	      const struct type *t)
{
	uint32_t i;

	if (!in_memory(st)) {
		irb_store(cg, dst, v, st->size ? st->size : 8);
		return;
	}
	if (is_lazy(t)) {
		/* a struct or array still in traced memory: copy its bytes in */
		irb_probe_read(cg, dst, MIN(st->size, t->size), v,
			       t->as ? t->as : cg->pi->ap->ops->as);
		return;
	}
	if (st->kind == TYPE_STRING && t->kind == TYPE_STRING) {
		if (t->size == st->size) {
			/* a char[N] value may use all N bytes */
			irb_copy(cg, dst, v, st->size);
		} else if (t->size > st->size) {
			irb_copy(cg, dst, v, st->size);
			irb_store(cg, irb_gep(cg, dst, st->size - 1), LLVMConstInt(cg->i8, 0, false), 1);
		} else {
			/* pad from the last whole word the copy overwrites: each byte stored once */
			uint32_t pad = t->size & ~7u;

			irb_zero(cg, irb_gep(cg, dst, pad), st->size - pad);
			irb_copy(cg, dst, v, t->size);
		}
		return;
	}
	if (st->kind == TYPE_TUPLE && t->kind == TYPE_TUPLE && !type_equal(st, t)) {
		for (i = 0; i < st->nfields && i < t->nfields; i++) {
			LLVMValueRef src = irb_gep(cg, v, t->offsets[i]);
			LLVMValueRef fv = in_memory(t->fields[i]) ? src :
					  irb_load(cg, src, t->fields[i]->size, t->fields[i]->is_signed);

			cg_store(cg, irb_gep(cg, dst, st->offsets[i]), st->fields[i], fv, t->fields[i]);
		}
		return;
	}
	irb_copy(cg, dst, v, MIN(st->size, t->size));
}

/* ---- maps ---------------------------------------------------------------------------------- */

LLVMValueRef cg_map_key(struct cg *cg, struct node *map, LLVMValueRef bucket)
{
	struct map_info *mi = map->map;
	uint32_t size = script_map_key_size(mi), i = 0;
	LLVMValueRef key, vals[16];
	struct node *k;

	struct node flat;

	/* @m[($a, $b)]: the tuple's elements are the keys */
	if (map->args && map->args->kind == N_TUPLE && map->args->ival) {
		memset(&flat, 0, sizeof(flat));
		flat.kind = N_MAP;
		flat.map = mi;
		flat.args = map->args->args;
		map = &flat;
	}
	/* evaluate the keys first: they may use scratch memory themselves */
	for (k = map->args; k && i < 16; k = k->next, i++)
		vals[i] = cg_expr(cg, k);
	/* a key of one scalar or string (and a hist bucket after it) is all whole words */
	if (!mi->key || (mi->nkeys == 1 && (mi->key->kind == TYPE_STRING || !in_memory(mi->key))))
		key = cg_stack_slot(cg, size);
	else
		key = cg_slot(cg, size);
	if (!mi->key) {
		irb_store(cg, key, bucket ? bucket : irb_const(cg, 0), 8);
		return key;
	}
	/* a single string or 8-byte scalar key is stored whole, padding included */
	if (mi->nkeys != 1 || !((mi->key->kind == TYPE_STRING &&
				 map->args->type->kind == TYPE_STRING) ||
				(!in_memory(mi->key) && mi->key->size == 8)))
		irb_zero(cg, key, mi->key->size);
	if (mi->nkeys == 1) {
		cg_store(cg, key, mi->key, vals[0], map->args->type);
	} else {
		for (i = 0, k = map->args; k; k = k->next, i++)
			cg_store(cg, irb_gep(cg, key, mi->key->offsets[i]), mi->key->fields[i], vals[i],
				 k->type);
	}
	if (bucket)
		irb_store(cg, irb_gep(cg, key, mi->key->size), bucket, 8);
	return key;
}

/* Read a map's value: 0 / zeroes when the key is absent. */
static LLVMValueRef cg_map_read(struct cg *cg, struct node *n)
{
	struct map_info *mi = n->map;
	LLVMValueRef key = cg_map_key(cg, n, NULL);
	LLVMValueRef p = irb_map_lookup(cg, cg->maps[mi->id], key);
	LLVMBasicBlockRef hit = irb_block(cg, "map.hit"), miss = irb_block(cg, "map.miss"),
			  done = irb_block(cg, "map.done");
	const struct type *vt = mi->value;

	if (!in_memory(vt)) {
		LLVMValueRef slot = irb_alloca(cg, cg->i64, "mapval"), v;

		LLVMBuildCondBr(cg->b, irb_bool(cg, p), hit, miss);
		LLVMPositionBuilderAtEnd(cg->b, hit);
		v = irb_load(cg, p, 8, vt->is_signed);
		LLVMBuildStore(cg->b, v, slot);
		LLVMBuildBr(cg->b, done);
		LLVMPositionBuilderAtEnd(cg->b, miss);
		LLVMBuildStore(cg->b, irb_const(cg, 0), slot);
		cg_helper_report(cg, 2, "map_lookup_elem", irb_const(cg, 0));
		LLVMBuildBr(cg->b, done);
		LLVMPositionBuilderAtEnd(cg->b, done);
		return LLVMBuildLoad2(cg->b, cg->i64, slot, "");
	} else {
		LLVMValueRef slot = cg_slot(cg, vt->size);

		LLVMBuildCondBr(cg->b, irb_bool(cg, p), hit, miss);
		LLVMPositionBuilderAtEnd(cg->b, hit);
		irb_copy(cg, slot, p, vt->size);
		LLVMBuildBr(cg->b, done);
		LLVMPositionBuilderAtEnd(cg->b, miss);
		irb_zero(cg, slot, vt->size);
		cg_helper_report(cg, 2, "map_lookup_elem", irb_const(cg, 0));
		LLVMBuildBr(cg->b, done);
		LLVMPositionBuilderAtEnd(cg->b, done);
		return slot;
	}
}

static void cg_map_write(struct cg *cg, struct node *map, LLVMValueRef v, const struct type *t)
{
	struct map_info *mi = map->map;
	LLVMValueRef key = cg_map_key(cg, map, NULL);
	LLVMValueRef val = in_memory(mi->value) ? cg_slot(cg, mi->value->size) :
			   cg_stack_slot(cg, mi->value->size);

	cg_store(cg, val, mi->value, v, t);
	irb_map_update(cg, cg->maps[mi->id], key, val, 0);
}

/* ---- events ------------------------------------------------------------------------------------ */

/*
 * The key of a slot of sonde_lost: one stack slot per function whatever the number of events
 * (an unrolled loop of printfs would otherwise take a slot for each, past the 512-byte stack).
 */
static LLVMValueRef lost_key(struct cg *cg, unsigned slot)
{
	if (cg->lost_key_fn != cg->fn) {
		cg->lost_key_fn = cg->fn;
		cg->lost_key = irb_alloca(cg, cg->i32, "lostkey");
	}
	LLVMBuildStore(cg->b, LLVMConstInt(cg->i32, slot, false), cg->lost_key);
	return cg->lost_key;
}

static void count_lost(struct cg *cg)
{
	LLVMValueRef key = lost_key(cg, 0), p, v;
	LLVMBasicBlockRef inc = irb_block(cg, "lost.inc"), done = irb_block(cg, "lost.done");

	p = irb_map_lookup(cg, cg->lost, key);
	LLVMBuildCondBr(cg->b, irb_bool(cg, p), inc, done);
	LLVMPositionBuilderAtEnd(cg->b, inc);
	v = LLVMBuildLoad2(cg->b, cg->i64, p, "");
	LLVMBuildStore(cg->b, LLVMBuildAdd(cg->b, v, irb_const(cg, 1), ""), p);
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, done);
}

LLVMValueRef cg_event_begin(struct cg *cg, enum event_kind kind, int id, uint32_t payload,
			    LLVMBasicBlockRef *done)
{
	uint32_t size = (uint32_t)sizeof(struct event_hdr) + payload;
	LLVMValueRef rargs[3], rec;
	LLVMBasicBlockRef ok = irb_block(cg, "ev.ok"), lost = irb_block(cg, "ev.lost");

	*done = irb_block(cg, "ev.done");
	rargs[0] = cg->ringbuf;
	rargs[1] = irb_const(cg, ALIGN_UP(size, 8));
	rargs[2] = irb_const(cg, 0);
	rec = irb_helper_call(cg, BPF_FUNC_ringbuf_reserve, cg->ptr, rargs, 3);
	LLVMBuildCondBr(cg->b, irb_bool(cg, rec), ok, lost);
	LLVMPositionBuilderAtEnd(cg->b, lost);
	count_lost(cg);
	LLVMBuildBr(cg->b, *done);
	LLVMPositionBuilderAtEnd(cg->b, ok);
	irb_store(cg, rec, irb_const(cg, (int64_t)((uint64_t)(uint32_t)id << 32 | (uint32_t)kind)), 8);
	return rec;
}

/*
 * The reader is woken at most once a millisecond on each CPU (the time of the last wake-up is
 * the CPU's slot 1 of sonde_lost); the kernel's own rule wakes it for nearly every event while
 * it keeps up, which costs more than the event.  A record submitted without a wake-up is read
 * within 2 ms all the same: the reader polls with that timeout while events arrive
 * (session_poll), and once it has waited 2 ms for nothing, every CPU's last wake-up is older
 * than a millisecond, so the next event wakes it.
 */
#define WAKE_INTERVAL_NS 1000000

static LLVMValueRef submit_flags(struct cg *cg)
{
	LLVMBasicBlockRef slot = irb_block(cg, "wake.slot"), stamp = irb_block(cg, "wake.stamp"),
			  due = irb_block(cg, "wake.due"), done = irb_block(cg, "wake.done");
	LLVMValueRef vals[2] = { irb_const(cg, BPF_RB_NO_WAKEUP), irb_const(cg, BPF_RB_FORCE_WAKEUP) };
	LLVMBasicBlockRef from[2] = { slot, due };
	LLVMValueRef flags, p, now;

	p = irb_map_lookup(cg, cg->lost, lost_key(cg, 1));
	LLVMBuildCondBr(cg->b, irb_bool(cg, p), slot, due);
	LLVMPositionBuilderAtEnd(cg->b, slot);
	now = irb_helper_call(cg, BPF_FUNC_ktime_get_ns, cg->i64, NULL, 0);
	LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntUGE,
					     LLVMBuildSub(cg->b, now, irb_load(cg, p, 8, false), ""),
					     irb_const(cg, WAKE_INTERVAL_NS), ""), stamp, done);
	LLVMPositionBuilderAtEnd(cg->b, stamp);
	irb_store(cg, p, now, 8);
	LLVMBuildBr(cg->b, due);
	LLVMPositionBuilderAtEnd(cg->b, due);
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, done);
	flags = LLVMBuildPhi(cg->b, cg->i64, "wakeflags");
	LLVMAddIncoming(flags, vals, from, 2);
	return flags;
}

static void submit(struct cg *cg, LLVMValueRef rec, LLVMValueRef flags, LLVMBasicBlockRef done)
{
	LLVMValueRef rargs[2] = { rec, flags };

	irb_helper_call(cg, BPF_FUNC_ringbuf_submit, cg->vd, rargs, 2);
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, done);
}

void cg_event_end(struct cg *cg, LLVMValueRef rec, LLVMBasicBlockRef done)
{
	submit(cg, rec, submit_flags(cg), done);
}

/*
 * An event sent once in a while (a full map, a failed helper): the kernel's own wake-up rule,
 * which wakes the reader when the ring was empty; when it was not, the reader is polling or
 * about to be woken for what is there (submit_flags).  Fewer instructions in every probe.
 */
void cg_event_end_rare(struct cg *cg, LLVMValueRef rec, LLVMBasicBlockRef done)
{
	submit(cg, rec, irb_const(cg, 0), done);
}

void cg_event_end_urgent(struct cg *cg, LLVMValueRef rec, LLVMBasicBlockRef done)
{
	submit(cg, rec, irb_const(cg, BPF_RB_FORCE_WAKEUP), done);
}

/* The event of call site id (a fmt naming the helper) carrying helper return r. */
static void helper_error_event(struct cg *cg, int id, LLVMValueRef r)
{
	LLVMBasicBlockRef evdone;
	LLVMValueRef rec = cg_event_begin(cg, EV_HELPER_ERROR, id, 8, &evdone);

	irb_store(cg, irb_gep(cg, rec, (uint32_t)sizeof(struct event_hdr)), r, 8);
	cg_event_end_rare(cg, rec, evdone);
}

static void helper_error_if_negative(struct cg *cg, int id, LLVMValueRef r)
{
	LLVMBasicBlockRef fail = irb_block(cg, "helper.fail"), done = irb_block(cg, "helper.done");

	/* helpers return an int: its sign is that of the low 32 bits */
	r = LLVMBuildSExt(cg->b, LLVMBuildTrunc(cg->b, r, cg->i32, ""), cg->i64, "");
	LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, r, irb_const(cg, 0), ""), fail, done);
	LLVMPositionBuilderAtEnd(cg->b, fail);
	helper_error_event(cg, id, r);
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, done);
}

void cg_helper_error(struct cg *cg, struct node *n, LLVMValueRef r)
{
	if (!cg->s->opts.helper_errors || n->id < 0)
		return;
	helper_error_if_negative(cg, n->id, r);
}

/* A call site found while generating code: its fmt names the helper, at cg->at. */
static int helper_site(struct cg *cg, unsigned level, const char *helper)
{
	int id;

	if (cg->s->opts.helper_errors < level || !cg->at)
		return -1;
	id = script_add_fmt(cg->s, EV_HELPER_ERROR, helper, NULL, NULL, 0);
	cg->s->fmts[id].loc = *cg->at;
	return id;
}

void cg_helper_check(struct cg *cg, unsigned level, const char *helper, LLVMValueRef r)
{
	int id = helper_site(cg, level, helper);

	if (id >= 0)
		helper_error_if_negative(cg, id, r);
}

void cg_helper_report(struct cg *cg, unsigned level, const char *helper, LLVMValueRef r)
{
	int id = helper_site(cg, level, helper);

	if (id >= 0)
		helper_error_event(cg, id, r);
}

void cg_send_event(struct cg *cg, enum event_kind kind, int id, const struct type *args_type,
		   struct node *args, struct node *call)
{
	LLVMValueRef vals[64], rec;
	LLVMBasicBlockRef done;
	struct node *a;
	uint32_t i = 0;

	(void)call;
	/* arguments first: evaluating them may branch and use scratch memory */
	for (a = args; a && i < 64; a = a->next, i++)
		vals[i] = cg_expr(cg, a);
	rec = cg_event_begin(cg, kind, id, args_type ? args_type->size : 0, &done);
	for (i = 0, a = args; a && args_type && i < args_type->nfields; a = a->next, i++)
		cg_store(cg, irb_gep(cg, rec, (uint32_t)sizeof(struct event_hdr) + args_type->offsets[i]),
			 args_type->fields[i], vals[i], a->type);
	cg_event_end(cg, rec, done);
}

/* ---- probe context ------------------------------------------------------------------------------ */

LLVMValueRef cg_regs_load(struct cg *cg, uint32_t offset)
{
	return LLVMBuildLoad2(cg->b, cg->i64, irb_gep(cg, cg->ctxv, offset), "");
}

LLVMValueRef cg_arg(struct cg *cg, int n)
{
	const struct probe_ops *ops = cg->pi->ap->ops;
	LLVMValueRef slot, sp;

	if (ops->emit_arg && cg->target) {
		LLVMValueRef v = ops->emit_arg(cg, cg->target, n);

		if (v)
			return v;
	}
	if (n < ARCH_ARG_REGS)
		return cg_regs_load(cg, arch_arg_offset(n));
	/* arguments past the sixth are on the stack, above the return address */
	sp = cg_regs_load(cg, ARCH_SP_OFFSET);
	slot = cg_slot(cg, 8);
	irb_probe_read(cg, slot, 8, LLVMBuildAdd(cg->b, sp, irb_const(cg, 8 * (n - 5)), ""),
		       AS_USER);
	return LLVMBuildLoad2(cg->b, cg->i64, slot, "");
}

/* ---- expressions ------------------------------------------------------------------------------ */

static LLVMValueRef cg_string_literal(struct cg *cg, struct node *n)
{
	uint32_t size = (uint32_t)n->slen + 1, off;
	LLVMValueRef slot = cg_slot(cg, size);

	for (off = 0; off < ALIGN_UP(size, 8); off += 8) {
		uint64_t w = 0;
		uint32_t j;

		for (j = 0; j < 8 && off + j < n->slen; j++)
			w |= (uint64_t)(unsigned char)n->str[off + j] << (8 * j);
		irb_store(cg, irb_gep(cg, slot, off), irb_const(cg, (int64_t)w), 8);
	}
	return slot;
}

/* Compare two strings up to n bytes (stopping at NUL); i64 1 when equal. */
LLVMValueRef cg_streq(struct cg *cg, LLVMValueRef a, LLVMValueRef b, uint32_t n)
{
	LLVMValueRef res = irb_alloca(cg, cg->i64, "streq");
	LLVMBasicBlockRef done = irb_block(cg, "streq.done"), ne = irb_block(cg, "streq.ne");
	uint32_t i;

	LLVMBuildStore(cg->b, irb_const(cg, 1), res);
	for (i = 0; i < n; i++) {
		LLVMValueRef ca = LLVMBuildLoad2(cg->b, cg->i8, irb_gep(cg, a, i), "");
		LLVMValueRef cb = LLVMBuildLoad2(cg->b, cg->i8, irb_gep(cg, b, i), "");
		LLVMBasicBlockRef same = irb_block(cg, "streq.same"), next = irb_block(cg, "streq.next");

		LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntEQ, ca, cb, ""), same, ne);
		LLVMPositionBuilderAtEnd(cg->b, same);
		LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntEQ, ca, LLVMConstInt(cg->i8, 0, false), ""),
				done, next);
		LLVMPositionBuilderAtEnd(cg->b, next);
	}
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, ne);
	LLVMBuildStore(cg->b, irb_const(cg, 0), res);
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, done);
	return LLVMBuildLoad2(cg->b, cg->i64, res, "");
}

/*
 * Signed division and remainder.  The BPF instruction set (before v4, which LLVM 16 cannot
 * target) divides unsigned only: divide the magnitudes and give the result C's sign.
 */
static LLVMValueRef cg_sdiv(struct cg *cg, LLVMValueRef a, LLVMValueRef b, bool rem)
{
	LLVMValueRef zero = irb_const(cg, 0);
	LLVMValueRef an = LLVMBuildICmp(cg->b, LLVMIntSLT, a, zero, "");
	LLVMValueRef bn = LLVMBuildICmp(cg->b, LLVMIntSLT, b, zero, "");
	LLVMValueRef ua = LLVMBuildSelect(cg->b, an, LLVMBuildNeg(cg->b, a, ""), a, "");
	LLVMValueRef ub = LLVMBuildSelect(cg->b, bn, LLVMBuildNeg(cg->b, b, ""), b, "");
	LLVMValueRef q, neg;

	if (rem) {
		q = LLVMBuildURem(cg->b, ua, ub, "");
		neg = an;	/* the remainder has the dividend's sign */
	} else {
		q = LLVMBuildUDiv(cg->b, ua, ub, "");
		neg = LLVMBuildXor(cg->b, an, bn, "");
	}
	return LLVMBuildSelect(cg->b, neg, LLVMBuildNeg(cg->b, q, ""), q, "");
}

/* A struct or array value in scratch memory: lazy ones are read in first. */
static LLVMValueRef cg_value(struct cg *cg, LLVMValueRef v, const struct type *t)
{
	LLVMValueRef slot;

	if (!is_lazy(t))
		return v;
	slot = cg_slot(cg, t->size);
	irb_probe_read(cg, slot, t->size, v, t->as ? t->as : cg->pi->ap->ops->as);
	return slot;
}

/* i64 1 when the size bytes at a and b are equal: xor-accumulated, no branches. */
static LLVMValueRef cg_memeq(struct cg *cg, LLVMValueRef a, LLVMValueRef b, uint32_t size)
{
	LLVMValueRef acc = irb_const(cg, 0);
	uint32_t off = 0, w;

	while (off < size) {
		w = size - off >= 8 ? 8 : size - off >= 4 ? 4 : size - off >= 2 ? 2 : 1;
		acc = LLVMBuildOr(cg->b, acc, LLVMBuildXor(cg->b, irb_load(cg, irb_gep(cg, a, off), w, false),
							  irb_load(cg, irb_gep(cg, b, off), w, false), ""), "");
		off += w;
	}
	return LLVMBuildZExt(cg->b, LLVMBuildICmp(cg->b, LLVMIntEQ, acc, irb_const(cg, 0), ""),
			     cg->i64, "");
}

static LLVMValueRef cg_binop(struct cg *cg, struct node *n)
{
	const struct type *ta = n->a->type, *tb = n->b->type;
	LLVMValueRef a, b;
	/* C's usual arithmetic conversions: signed only when both operands are */
	bool is_signed = ta->kind == TYPE_INT && ta->is_signed && tb->kind == TYPE_INT && tb->is_signed;

	if (n->op == LAND || n->op == LOR) {
		LLVMValueRef res = irb_alloca(cg, cg->i64, "logic");
		LLVMBasicBlockRef rhs = irb_block(cg, "logic.rhs"), done = irb_block(cg, "logic.done");

		a = irb_bool(cg, cg_expr(cg, n->a));
		LLVMBuildStore(cg->b, LLVMBuildZExt(cg->b, a, cg->i64, ""), res);
		if (n->op == LAND)
			LLVMBuildCondBr(cg->b, a, rhs, done);
		else
			LLVMBuildCondBr(cg->b, a, done, rhs);
		LLVMPositionBuilderAtEnd(cg->b, rhs);
		b = irb_bool(cg, cg_expr(cg, n->b));
		LLVMBuildStore(cg->b, LLVMBuildZExt(cg->b, b, cg->i64, ""), res);
		LLVMBuildBr(cg->b, done);
		LLVMPositionBuilderAtEnd(cg->b, done);
		return LLVMBuildLoad2(cg->b, cg->i64, res, "");
	}
	a = cg_expr(cg, n->a);
	b = cg_expr(cg, n->b);
	if (ta->kind == TYPE_STRING) {
		uint32_t len = MIN(ta->size, tb->size);
		LLVMValueRef eq;

		if (n->a->kind == N_STR)
			len = (uint32_t)n->a->slen + 1;
		if (n->b->kind == N_STR)
			len = (uint32_t)n->b->slen + 1;
		eq = cg_streq(cg, a, b, len);
		return n->op == EQ ? eq : LLVMBuildXor(cg->b, eq, irb_const(cg, 1), "");
	}
	if (ta->kind == TYPE_BUFFER) {
		/* the length byte, then the data: bytes past a buffer's length are zeroes */
		LLVMValueRef eq = cg_memeq(cg, a, b, MIN(ta->size, tb->size));

		return n->op == EQ ? eq : LLVMBuildXor(cg->b, eq, irb_const(cg, 1), "");
	}
	if (ta->kind == TYPE_ARRAY) {
		LLVMValueRef eq = cg_memeq(cg, cg_value(cg, a, ta), cg_value(cg, b, tb), ta->size);

		return n->op == EQ ? eq : LLVMBuildXor(cg->b, eq, irb_const(cg, 1), "");
	}
	if (ta->kind == TYPE_POINTER && tb->kind == TYPE_INT && (n->op == PLUS || n->op == MINUS)) {
		uint32_t sz = ta->elem && ta->elem->size ? ta->elem->size : 1;

		b = LLVMBuildMul(cg->b, b, irb_const(cg, sz), "");
	}
	switch (n->op) {
	case PLUS: return LLVMBuildAdd(cg->b, a, b, "");
	case MINUS: return LLVMBuildSub(cg->b, a, b, "");
	case MUL: return LLVMBuildMul(cg->b, a, b, "");
	case DIV: return is_signed ? cg_sdiv(cg, a, b, false) : LLVMBuildUDiv(cg->b, a, b, "");
	case MOD: return is_signed ? cg_sdiv(cg, a, b, true) : LLVMBuildURem(cg->b, a, b, "");
	case BAND: return LLVMBuildAnd(cg->b, a, b, "");
	case BOR: return LLVMBuildOr(cg->b, a, b, "");
	case BXOR: return LLVMBuildXor(cg->b, a, b, "");
	case LEFT: return LLVMBuildShl(cg->b, a, b, "");
	case RIGHT: return is_signed ? LLVMBuildAShr(cg->b, a, b, "") : LLVMBuildLShr(cg->b, a, b, "");
	default: break;
	}
	{
		LLVMIntPredicate p;

		switch (n->op) {
		case EQ: p = LLVMIntEQ; break;
		case NE: p = LLVMIntNE; break;
		case LT: p = is_signed ? LLVMIntSLT : LLVMIntULT; break;
		case GT: p = is_signed ? LLVMIntSGT : LLVMIntUGT; break;
		case LE: p = is_signed ? LLVMIntSLE : LLVMIntULE; break;
		default: p = is_signed ? LLVMIntSGE : LLVMIntUGE; break;
		}
		return LLVMBuildZExt(cg->b, LLVMBuildICmp(cg->b, p, a, b, ""), cg->i64, "");
	}
}

/* Read a value of type t at traced address addr (i64) in address space as. */
static LLVMValueRef cg_read(struct cg *cg, const struct type *t, LLVMValueRef addr, enum addrspace as)
{
	LLVMValueRef slot;

	if (is_lazy(t))
		return addr;
	if (t->kind == TYPE_STRING) {
		slot = cg_slot(cg, t->size);
		irb_zero(cg, slot, t->size);
		/* a char[N] member may fill all N bytes: bpftrace prints them all */
		irb_probe_read(cg, slot, t->size, addr, as);
		return slot;
	}
	slot = cg_stack_slot(cg, 8);
	irb_store(cg, slot, irb_const(cg, 0), 8);
	irb_probe_read(cg, slot, t->size ? t->size : 8, addr, as);
	return irb_load(cg, slot, t->size ? t->size : 8, t->kind == TYPE_INT && t->is_signed);
}

static LLVMValueRef cg_bitfield(struct cg *cg, LLVMValueRef v, const struct field *f)
{
	v = LLVMBuildLShr(cg->b, v, irb_const(cg, f->bit_offset), "");
	if (f->bit_width < 64)
		v = LLVMBuildAnd(cg->b, v, irb_const(cg, (int64_t)((1ULL << f->bit_width) - 1)), "");
	return v;
}

/* A member of a struct or array value held in scratch memory at p. */
static LLVMValueRef cg_scratch_member(struct cg *cg, LLVMValueRef p, const struct type *t,
				      const struct field *f)
{
	if (f && f->bit_width) {
		uint32_t bytes = (f->bit_offset + f->bit_width + 7) / 8;

		return cg_bitfield(cg, irb_load(cg, p, bytes <= 1 ? 1 : bytes <= 2 ? 2 :
						bytes <= 4 ? 4 : 8, false), f);
	}
	if (in_memory(t))
		return p;
	return irb_load(cg, p, t->size && t->size < 8 ? t->size : 8,
			t->kind == TYPE_INT && t->is_signed);
}

static LLVMValueRef cg_field(struct cg *cg, struct node *n)
{
	const struct type *bt = n->a->type;
	const struct field *f = n->field;
	uint32_t off = n->field_offset;
	enum addrspace as = bt->as ? bt->as : cg->pi->ap->ops->as;
	LLVMValueRef base, addr;

	if (as == AS_CTX) {
		/* tracepoint args: this target's own layout (wildcards may differ) */
		const struct field *tf = NULL;

		if (cg->pi->args)
			tf = record_find_field(cg->pi->args, n->str, &off);
		if (tf)
			f = tf;
		addr = irb_gep(cg, cg->ctxv, off);
		if (f->data_loc) {
			LLVMValueRef loc = LLVMBuildLoad2(cg->b, cg->i32, addr, ""), slot;

			loc = LLVMBuildAnd(cg->b, LLVMBuildZExt(cg->b, loc, cg->i64, ""),
					   irb_const(cg, 0xffff), "");
			slot = cg_slot(cg, n->type->size);
			irb_zero(cg, slot, n->type->size);
			irb_probe_read_str(cg, slot, n->type->size,
					   LLVMBuildAdd(cg->b, LLVMBuildPtrToInt(cg->b, cg->ctxv, cg->i64, ""),
							loc, ""), AS_KERNEL);
			return slot;
		}
		if (n->type->kind == TYPE_INT || n->type->kind == TYPE_POINTER) {
			uint32_t size = f->type->size ? f->type->size : 8;

			return irb_load(cg, addr, size > 8 ? 8 : size,
					f->type->kind == TYPE_INT && f->type->is_signed);
		}
		return cg_read(cg, n->type, LLVMBuildPtrToInt(cg->b, addr, cg->i64, ""), AS_KERNEL);
	}
	base = cg_expr(cg, n->a);
	if (as == AS_SCRATCH)
		return cg_scratch_member(cg, irb_gep(cg, base, off), n->type, f);
	addr = LLVMBuildAdd(cg->b, base, irb_const(cg, off), "");
	if (f->bit_width) {
		/* a bitfield may straddle its type's size: read the bytes that hold it */
		uint32_t bytes = (f->bit_offset + f->bit_width + 7) / 8;
		LLVMValueRef v = cg_read(cg, type_int(bytes <= 1 ? 1 : bytes <= 2 ? 2 : bytes <= 4 ? 4 : 8,
						     false), addr, as);

		return cg_bitfield(cg, v, f);
	}
	return cg_read(cg, n->type, addr, as);
}

static LLVMValueRef cg_deref(struct cg *cg, struct node *n)
{
	const struct type *pt = n->a->type;
	LLVMValueRef p = cg_expr(cg, n->a);
	enum addrspace as = pt->as ? pt->as : cg->pi->ap->ops->as;

	if (pt->kind == TYPE_INT)
		return cg_read(cg, type_int(8, true), p, as);
	return cg_read(cg, n->type, p, as);
}

static LLVMValueRef cg_index(struct cg *cg, struct node *n)
{
	const struct type *bt = n->a->type;
	LLVMValueRef base = cg_expr(cg, n->a), idx = cg_expr(cg, n->b), addr;
	uint32_t esz;

	if (bt->kind == TYPE_STRING) {
		LLVMValueRef p = LLVMBuildInBoundsGEP2(cg->b, cg->i8, base, &idx, 1, "");

		return irb_load(cg, p, 1, true);
	}
	if (bt->kind == TYPE_ARRAY && bt->as == AS_SCRATCH) {
		/* an array value in scratch memory: the index must be a constant (checked) */
		LLVMValueRef p = irb_gep(cg, base, (uint32_t)n->b->ival * bt->elem->size);

		return cg_scratch_member(cg, p, n->type, NULL);
	}
	esz = bt->elem && bt->elem->size ? bt->elem->size : 1;
	addr = LLVMBuildAdd(cg->b, base, LLVMBuildMul(cg->b, idx, irb_const(cg, esz), ""), "");
	return cg_read(cg, n->type, addr, bt->as ? bt->as : cg->pi->ap->ops->as);
}

static LLVMValueRef cg_ternary(struct cg *cg, struct node *n)
{
	LLVMBasicBlockRef yes = irb_block(cg, "tern.yes"), no = irb_block(cg, "tern.no"),
			  done = irb_block(cg, "tern.done");
	LLVMValueRef c = irb_bool(cg, cg_expr(cg, n->a)), res, v;

	if (in_memory(n->type)) {
		res = cg_slot(cg, n->type->size);
		LLVMBuildCondBr(cg->b, c, yes, no);
		LLVMPositionBuilderAtEnd(cg->b, yes);
		cg_store(cg, res, n->type, cg_expr(cg, n->b), n->b->type);
		LLVMBuildBr(cg->b, done);
		LLVMPositionBuilderAtEnd(cg->b, no);
		cg_store(cg, res, n->type, cg_expr(cg, n->c), n->c->type);
		LLVMBuildBr(cg->b, done);
		LLVMPositionBuilderAtEnd(cg->b, done);
		return res;
	}
	res = irb_alloca(cg, cg->i64, "tern");
	LLVMBuildCondBr(cg->b, c, yes, no);
	LLVMPositionBuilderAtEnd(cg->b, yes);
	v = cg_expr(cg, n->b);
	LLVMBuildStore(cg->b, v, res);
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, no);
	v = cg_expr(cg, n->c);
	LLVMBuildStore(cg->b, v, res);
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, done);
	return LLVMBuildLoad2(cg->b, cg->i64, res, "");
}

static LLVMValueRef var_slot(struct cg *cg, struct node *v)
{
	size_t i;
	LLVMValueRef slot;

	for (i = 0; i < cg->nvars; i++) {
		if (cg->vars[i].var != v->var)
			continue;
		if (cg->vars[i].root_alloca && cg->fn == cg->root_fn)
			return cg->vars[i].root_alloca;
		return cg->vars[i].slot ? cg->vars[i].slot : irb_gep(cg, cg->frame, cg->vars[i].off);
	}
	if (cg->vars_in_frame && cg_var_shared(cg, v->var)) {
		/* loops.c: zeroed once, at the probe's entry, in the probe's own function */
		uint32_t size = in_memory(v->var->type) ? v->var->type->size : 8;
		uint32_t off = cg_frame_alloc(cg, size);
		LLVMBasicBlockRef cur = LLVMGetInsertBlock(cg->b);
		LLVMMetadataRef loc = LLVMGetCurrentDebugLocation2(cg->b);

		LLVMValueRef ra = NULL;

		/*
		 * An integer also gets an alloca in the probe's own function, synced with the
		 * frame around each loop's helper call: a while loop over it there stays
		 * boundable by the verifier (it cannot bound a counter in map memory).
		 */
		if (!in_memory(v->var->type)) {
			LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(cg->root_fn);
			LLVMValueRef first = LLVMGetFirstInstruction(entry);

			if (first)
				LLVMPositionBuilderBefore(cg->b, first);
			else
				LLVMPositionBuilderAtEnd(cg->b, entry);
			LLVMSetCurrentDebugLocation2(cg->b, NULL);
			ra = LLVMBuildAlloca(cg->b, cg->i64, v->str);
		}
		LLVMPositionBuilderBefore(cg->b, LLVMGetBasicBlockTerminator(cg->root_init_bb));
		LLVMSetCurrentDebugLocation2(cg->b, NULL);
		irb_zero(cg, irb_gep(cg, cg->root_frame, off), size);
		if (ra)
			LLVMBuildStore(cg->b, irb_const(cg, 0), ra);
		LLVMPositionBuilderAtEnd(cg->b, cur);
		LLVMSetCurrentDebugLocation2(cg->b, loc);
		xgrow((void **)&cg->vars, &cg->capvars, cg->nvars + 1, sizeof(*cg->vars));
		cg->vars[cg->nvars].var = v->var;
		cg->vars[cg->nvars].slot = NULL;
		cg->vars[cg->nvars].off = off;
		cg->vars[cg->nvars].root_alloca = ra;
		cg->nvars++;
		if (ra && cg->fn == cg->root_fn)
			return ra;
		return irb_gep(cg, cg->frame, off);
	}
	if (in_memory(v->var->type)) {
		/* aggregate variables live in the frame, zeroed once at entry */
		LLVMBasicBlockRef cur = LLVMGetInsertBlock(cg->b);

		LLVMPositionBuilderBefore(cg->b, LLVMGetBasicBlockTerminator(cg->init_bb));
		slot = cg_slot(cg, v->var->type->size);
		irb_zero(cg, slot, v->var->type->size);
		LLVMPositionBuilderAtEnd(cg->b, cur);
	} else {
		slot = irb_alloca(cg, cg->i64, v->str);
		{
			LLVMBasicBlockRef cur = LLVMGetInsertBlock(cg->b);

			LLVMPositionBuilderBefore(cg->b, LLVMGetBasicBlockTerminator(cg->init_bb));
			LLVMBuildStore(cg->b, irb_const(cg, 0), slot);
			LLVMPositionBuilderAtEnd(cg->b, cur);
		}
	}
	xgrow((void **)&cg->vars, &cg->capvars, cg->nvars + 1, sizeof(*cg->vars));
	cg->vars[cg->nvars].var = v->var;
	cg->vars[cg->nvars].slot = slot;
	cg->vars[cg->nvars].root_alloca = NULL;
	cg->nvars++;
	return slot;
}

LLVMValueRef cg_var_slot(struct cg *cg, struct node *var)
{
	return var_slot(cg, var);
}

static LLVMValueRef cg_incdec(struct cg *cg, struct node *n)
{
	struct node *t = n->a;
	const struct type *vt = t->kind == N_VAR ? t->var->type : t->map->value;
	int64_t step = 1;
	LLVMValueRef old, nv, delta;

	/* a pointer steps by its element's size */
	if (vt->kind == TYPE_POINTER && vt->elem && vt->elem->size)
		step = vt->elem->size;
	delta = irb_const(cg, n->op == INCREMENT ? step : -step);

	if (t->kind == N_VAR) {
		LLVMValueRef slot = var_slot(cg, t);

		old = LLVMBuildLoad2(cg->b, cg->i64, slot, "");
		nv = LLVMBuildAdd(cg->b, old, delta, "");
		LLVMBuildStore(cg->b, nv, slot);
	} else {
		old = cg_map_read(cg, t);
		nv = LLVMBuildAdd(cg->b, old, delta, "");
		cg_map_write(cg, t, nv, t->map->value);
	}
	return n->is_post ? old : nv;
}

static LLVMValueRef expr(struct cg *cg, struct node *n);

LLVMValueRef cg_expr(struct cg *cg, struct node *n)
{
	const struct loc *outer = cg->at;
	LLVMValueRef v;

	cg->at = &n->loc;
	v = expr(cg, n);
	cg->at = outer;
	return v;
}

static LLVMValueRef expr(struct cg *cg, struct node *n)
{
	if (n->is_const && n->type && n->type->kind == TYPE_INT)
		return irb_const(cg, n->ival);
	switch (n->kind) {
	case N_INT:
		return irb_const(cg, n->ival);
	case N_STR:
		return cg_string_literal(cg, n);
	case N_IDENT:
		return n->builtin->emit(cg, n);
	case N_VAR: {
		LLVMValueRef slot = var_slot(cg, n);

		if (in_memory(n->var->type))
			return slot;
		return LLVMBuildLoad2(cg->b, cg->i64, slot, "");
	}
	case N_MAP:
		return cg_map_read(cg, n);
	case N_CALL:
		return n->func->emit(cg, n, NULL);
	case N_BINOP:
		return cg_binop(cg, n);
	case N_UNOP: {
		LLVMValueRef a;

		if (n->op == MUL)
			return cg_deref(cg, n);
		a = cg_expr(cg, n->a);
		if (n->op == LNOT)
			return LLVMBuildZExt(cg->b, LLVMBuildNot(cg->b, irb_bool(cg, a), ""), cg->i64, "");
		if (n->op == BNOT)
			return LLVMBuildNot(cg->b, a, "");
		return LLVMBuildNeg(cg->b, a, "");
	}
	case N_TERNARY:
		return cg_ternary(cg, n);
	case N_FIELD:
		return cg_field(cg, n);
	case N_TUPLE_INDEX: {
		const struct type *tt = n->a->type;
		LLVMValueRef base = cg_expr(cg, n->a);
		LLVMValueRef p = irb_gep(cg, base, tt->offsets[n->ival]);

		if (in_memory(n->type))
			return p;
		return irb_load(cg, p, n->type->size, n->type->is_signed);
	}
	case N_INDEX:
		return cg_index(cg, n);
	case N_TUPLE: {
		LLVMValueRef vals[64], slot;
		struct node *k;
		uint32_t i = 0;

		for (k = n->args; k && i < 64; k = k->next, i++)
			vals[i] = cg_expr(cg, k);
		slot = cg_slot(cg, n->type->size);
		irb_zero(cg, slot, n->type->size);
		for (i = 0, k = n->args; k; k = k->next, i++)
			cg_store(cg, irb_gep(cg, slot, n->type->offsets[i]), n->type->fields[i], vals[i],
				 k->type);
		return slot;
	}
	case N_CAST: {
		LLVMValueRef v = cg_expr(cg, n->a);

		if (n->type->kind == TYPE_INT)
			return irb_extend(cg, v, n->type->size, n->type->is_signed);
		return v;
	}
	case N_INCDEC:
		return cg_incdec(cg, n);
	case N_SIZEOF:
	case N_OFFSETOF:
	case N_POSITIONAL:
	case N_POSCOUNT:
		return irb_const(cg, n->ival);
	default:
		return irb_const(cg, 0);
	}
}

/* ---- statements ----------------------------------------------------------------------------- */

static void cg_assign(struct cg *cg, struct node *n)
{
	struct node *t = n->a, *v = n->b;
	LLVMValueRef val;

	if (t->kind == N_MAP && v->kind == N_CALL && v->func->use == F_MAP_VALUE) {
		v->func->emit(cg, v, t);
		return;
	}
	if (n->op) {
		struct node tmp = { .kind = N_BINOP, .op = n->op, .a = t, .b = v, .loc = n->loc };
		const struct type *cur = t->kind == N_VAR ? t->var->type : t->map->value;

		t->type = (struct type *)cur;
		tmp.type = (struct type *)cur;
		val = cg_binop(cg, &tmp);
		if (t->kind == N_VAR)
			LLVMBuildStore(cg->b, val, var_slot(cg, t));
		else
			cg_map_write(cg, t, val, cur);
		return;
	}
	val = cg_expr(cg, v);
	if (t->kind == N_VAR) {
		LLVMValueRef slot = var_slot(cg, t);

		if (in_memory(t->var->type))
			cg_store(cg, slot, t->var->type, val, v->type);
		else
			LLVMBuildStore(cg->b, val, slot);
		return;
	}
	cg_map_write(cg, t, val, v->type);
}

static void cg_stmt(struct cg *cg, struct node *n)
{
	LLVMBasicBlockRef then, els, done, cond, body, saved_break, saved_cont;
	int64_t i;

	if (irb_terminated(cg))
		LLVMPositionBuilderAtEnd(cg->b, irb_block(cg, "dead"));
	cg_set_loc(cg, &n->loc);
	cg->at = &n->loc;
	switch (n->kind) {
	case N_EXPR_STMT:
		cg_expr(cg, n->a);
		break;
	case N_ASSIGN:
		cg_assign(cg, n);
		break;
	case N_IF:
		then = irb_block(cg, "if.then");
		els = irb_block(cg, "if.else");
		done = irb_block(cg, "if.done");
		LLVMBuildCondBr(cg->b, irb_bool(cg, cg_expr(cg, n->a)), then, els);
		LLVMPositionBuilderAtEnd(cg->b, then);
		cg_stmts(cg, n->body);
		if (!irb_terminated(cg))
			LLVMBuildBr(cg->b, done);
		LLVMPositionBuilderAtEnd(cg->b, els);
		if (n->c && n->c->kind == N_IF && !n->c->next)
			cg_stmt(cg, n->c);
		else
			cg_stmts(cg, n->c);
		if (!irb_terminated(cg))
			LLVMBuildBr(cg->b, done);
		LLVMPositionBuilderAtEnd(cg->b, done);
		break;
	case N_WHILE:
		cond = irb_block(cg, "while.cond");
		body = irb_block(cg, "while.body");
		done = irb_block(cg, "while.done");
		LLVMBuildBr(cg->b, cond);
		LLVMPositionBuilderAtEnd(cg->b, cond);
		LLVMBuildCondBr(cg->b, irb_bool(cg, cg_expr(cg, n->a)), body, done);
		LLVMPositionBuilderAtEnd(cg->b, body);
		saved_break = cg->break_bb;
		saved_cont = cg->cont_bb;
		cg->break_bb = done;
		cg->cont_bb = cond;
		cg_stmts(cg, n->body);
		cg->break_bb = saved_break;
		cg->cont_bb = saved_cont;
		if (!irb_terminated(cg))
			LLVMBuildBr(cg->b, cond);
		LLVMPositionBuilderAtEnd(cg->b, done);
		break;
	case N_UNROLL:
		done = irb_block(cg, "unroll.done");
		saved_break = cg->break_bb;
		saved_cont = cg->cont_bb;
		for (i = 0; i < n->ival; i++) {
			LLVMBasicBlockRef next = irb_block(cg, "unroll.next");

			cg->break_bb = done;
			cg->cont_bb = next;
			cg_stmts(cg, n->body);
			if (!irb_terminated(cg))
				LLVMBuildBr(cg->b, next);
			LLVMPositionBuilderAtEnd(cg->b, next);
		}
		cg->break_bb = saved_break;
		cg->cont_bb = saved_cont;
		LLVMBuildBr(cg->b, done);
		LLVMPositionBuilderAtEnd(cg->b, done);
		break;
	case N_BREAK:
		LLVMBuildBr(cg->b, cg->break_bb);
		break;
	case N_CONTINUE:
		LLVMBuildBr(cg->b, cg->cont_bb);
		break;
	case N_RETURN:
		LLVMBuildBr(cg->b, cg->ret_bb);
		break;
	case N_FOR:
		cg_for(cg, n);
		break;
	default:
		break;
	}
}

static void cg_stmts(struct cg *cg, struct node *list)
{
	for (; list; list = list->next)
		cg_stmt(cg, list);
}

void cg_block(struct cg *cg, struct node *list)
{
	cg_stmts(cg, list);
}

/*
 * The frame lookup is emitted first, before anything knows whether the probe needs scratch
 * memory.  A probe whose body never touched the frame (an empty probe, a predicate, counting
 * into a map with a small key) loses it here: its only use is the NULL test at entry.  The
 * helper call has side effects as far as LLVM knows, so its optimizer would keep it.
 */
static void drop_unused_frame(struct cg *cg, LLVMValueRef frame, LLVMBasicBlockRef entry,
			      LLVMBasicBlockRef next)
{
	LLVMUseRef u = LLVMGetFirstUse(frame), cu;
	LLVMValueRef test, br = LLVMGetBasicBlockTerminator(entry);

	if (!u || LLVMGetNextUse(u))
		return;
	test = LLVMGetUser(u);
	cu = LLVMGetFirstUse(test);
	if (!cu || LLVMGetNextUse(cu) || LLVMGetUser(cu) != br)
		return;
	LLVMInstructionEraseFromParent(br);
	LLVMInstructionEraseFromParent(test);
	LLVMInstructionEraseFromParent(frame);
	LLVMPositionBuilderAtEnd(cg->b, entry);
	LLVMBuildBr(cg->b, next);
}

/* The probe's own code: the -p filter, the predicate, the statements. */
static void cg_probe_body(struct cg *cg, struct prog_info *pi)
{
	if (cg->s->opts.pid && !pi->ap->ops->any_process) {
		/* -p PID filters every probe to that process (tgid as seen from sonde's namespace) */
		LLVMBasicBlockRef mine = irb_block(cg, "pid.match");
		LLVMValueRef tgid = LLVMBuildLShr(cg->b, pidns_pid_tgid(cg), irb_const(cg, 32), "");

		LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntEQ, tgid, irb_const(cg, cg->s->opts.pid), ""),
				mine, cg->ret_bb);
		LLVMPositionBuilderAtEnd(cg->b, mine);
	}
	if (pi->probe->pred) {
		LLVMBasicBlockRef pass = irb_block(cg, "pred.pass");

		cg_set_loc(cg, &pi->probe->pred->loc);
		LLVMBuildCondBr(cg->b, irb_bool(cg, cg_expr(cg, pi->probe->pred)), pass, cg->ret_bb);
		LLVMPositionBuilderAtEnd(cg->b, pass);
	}
	cg_stmts(cg, pi->probe->body);
}

/* One BPF function: frame lookup, predicate, body. */
void cg_program(struct cg *cg, struct prog_info *pi, size_t index)
{
	LLVMTypeRef fty = LLVMFunctionType(cg->i32, &cg->ptr, 1, false);
	LLVMMetadataRef params[2], sty, var;
	LLVMBasicBlockRef entry, body, noframe;
	LLVMValueRef key, frame;

	cg->pi = pi;
	cg->prog_index = index;
	cg->target = pi->target == SIZE_MAX ? NULL : &pi->targets->v[pi->target];
	cg->frame_off = 0;
	cg->stack_used = 0;
	cg->nvars = 0;
	cg->fn = LLVMAddFunction(cg->mod, pi->name, fty);
	LLVMSetSection(cg->fn, pi->setup ? pi->setup->section : pi->ap->ops->section);
	LLVMSetLinkage(cg->fn, LLVMExternalLinkage);
	LLVMAddAttributeAtIndex(cg->fn, LLVMAttributeFunctionIndex,
				   LLVMCreateEnumAttribute(cg->ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
	/* BTF needs a subprogram with every parameter named, or the kernel rejects it */
	params[0] = cg->di_int;
	params[1] = cg->di_ptr;
	sty = LLVMDIBuilderCreateSubroutineType(cg->di, cg->di_file, params, 2, LLVMDIFlagZero);
	cg->di_sp = LLVMDIBuilderCreateFunction(cg->di, cg->di_file, pi->name, strlen(pi->name),
						pi->name, strlen(pi->name), cg->di_file,
						(unsigned)pi->probe->loc.first_line, sty, false, true,
						(unsigned)pi->probe->loc.first_line, LLVMDIFlagPrototyped, true);
	LLVMSetSubprogram(cg->fn, cg->di_sp);
	var = LLVMDIBuilderCreateParameterVariable(cg->di, cg->di_sp, "ctx", 3, 1, cg->di_file,
						   (unsigned)pi->probe->loc.first_line, cg->di_ptr,
						   true, LLVMDIFlagZero);
	(void)var;
	cg->ctxv = LLVMGetParam(cg->fn, 0);
	LLVMSetValueName2(cg->ctxv, "ctx", 3);

	entry = irb_block(cg, "entry");
	body = irb_block(cg, "body");
	noframe = irb_block(cg, "noframe");
	cg->ret_bb = irb_block(cg, "ret");
	LLVMPositionBuilderAtEnd(cg->b, entry);
	cg_set_loc(cg, &pi->probe->loc);
	key = LLVMBuildAlloca(cg->b, cg->i32, "frame_key");
	LLVMBuildStore(cg->b, LLVMConstInt(cg->i32, index, false), key);
	frame = irb_map_lookup(cg, cg->scratch, key);
	LLVMBuildCondBr(cg->b, irb_bool(cg, frame), body, noframe);
	cg->frame = frame;
	LLVMPositionBuilderAtEnd(cg->b, noframe);
	LLVMBuildBr(cg->b, cg->ret_bb);

	/* variables are zero-initialized in a block between entry and body */
	{
		LLVMBasicBlockRef init = body;

		body = irb_block(cg, "body.start");
		LLVMPositionBuilderAtEnd(cg->b, init);
		LLVMBuildBr(cg->b, body);
		/* var_slot() inserts its initialization before this terminator */
		cg->init_bb = init;
		LLVMMoveBasicBlockAfter(init, entry);
		cg->root_init_bb = init;
		cg->root_frame = frame;
		cg->root_fn = cg->fn;
		cg->vars_in_frame = cg_probe_has_loop(pi->probe);
		if (cg->vars_in_frame)
			cg_scan_vars(cg, pi->probe);
	}
	LLVMPositionBuilderAtEnd(cg->b, body);
	if (pi->setup)
		pi->setup->emit_setup(cg, pi);	/* watchpoint:FUNC+argN: the type's code */
	else
		cg_probe_body(cg, pi);
	if (!irb_terminated(cg))
		LLVMBuildBr(cg->b, cg->ret_bb);
	LLVMPositionBuilderAtEnd(cg->b, cg->ret_bb);
	LLVMBuildRet(cg->b, LLVMConstInt(cg->i32, 0, false));
	LLVMMoveBasicBlockAfter(cg->ret_bb, LLVMGetLastBasicBlock(cg->fn));
	drop_unused_frame(cg, frame, entry, cg->root_init_bb);
}
