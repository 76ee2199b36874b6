/*
 * loops.c - bpftrace 0.21+'s for loops, and len(@m): code that runs in BPF callbacks.
 *
 * for ($kv : @m) runs its body in a callback of bpf_for_each_map_elem, for ($i : a..b) in one
 * of bpf_loop.  Neither is unrolled, and the verifier checks the body once however many times
 * it runs, so a loop passes in any probe whatever its bound.
 *
 * A callback is a static BPF function (a subprogram) with its own stack, so the probe's scratch
 * variables cannot stay in the probe's allocas: a probe with a loop keeps them in its per-CPU
 * scratch frame instead, which the callback looks up again (same CPU, same program, same key:
 * it is the caller's frame).  The probe's context pointer reaches the callback through
 * callback_ctx, a pointer to a slot on the caller's stack.  break returns 1 (stop), continue 0;
 * return and exit() set a flag in the frame that the caller tests after the helper returns.
 */
#include "cg.h"

#include <string.h>

#include <bpf/libbpf.h>

#include "sema.h"
#include "util.h"

struct cb_saved {
	LLVMValueRef fn, ctxv, frame;
	LLVMBasicBlockRef ret_bb, break_bb, cont_bb, init_bb, insert;
	LLVMMetadataRef di_sp;
	LLVMMetadataRef loc;
};

static unsigned ncallbacks;

static bool has_loop(const struct node *n)
{
	for (; n; n = n->next) {
		if (n->kind == N_FOR)
			return true;
		if (has_loop(n->body) || (n->kind == N_IF && has_loop(n->c)))
			return true;
	}
	return false;
}

bool cg_probe_has_loop(const struct probe *p)
{
	return has_loop(p->body);
}

struct cg_var_use {
	const void *var;
	int ctx;		/* 0: the probe's own function; N: the Nth loop body */
	bool shared;
};

static void note_use(struct cg *cg, const void *var, int ctx)
{
	size_t i;

	if (!var)
		return;
	for (i = 0; i < cg->nuses; i++) {
		if (cg->uses[i].var == var) {
			if (cg->uses[i].ctx != ctx)
				cg->uses[i].shared = true;
			return;
		}
	}
	xgrow((void **)&cg->uses, &cg->capuses, cg->nuses + 1, sizeof(*cg->uses));
	cg->uses[cg->nuses].var = var;
	cg->uses[cg->nuses].ctx = ctx;
	cg->uses[cg->nuses].shared = false;
	cg->nuses++;
}

static void scan(struct cg *cg, const struct node *n, int ctx, int *next)
{
	for (; n; n = n->next) {
		if (n->kind == N_FOR) {
			int id = ++*next;

			note_use(cg, n->a->var, id);
			scan(cg, n->b, ctx, next);
			scan(cg, n->c, ctx, next);
			scan(cg, n->body, id, next);
			continue;
		}
		if (n->kind == N_VAR)
			note_use(cg, n->var, ctx);
		scan(cg, n->a, ctx, next);
		scan(cg, n->b, ctx, next);
		scan(cg, n->c, ctx, next);
		scan(cg, n->args, ctx, next);
		scan(cg, n->body, ctx, next);
	}
}

/*
 * A variable used only in the probe's own function, or only in one loop body, stays in that
 * function's allocas (where the verifier can bound a while loop over it); one that crosses into
 * a callback lives in the frame.
 */
void cg_scan_vars(struct cg *cg, const struct probe *p)
{
	int next = 0;

	cg->nuses = 0;
	scan(cg, p->body, 0, &next);
}

bool cg_var_shared(const struct cg *cg, const void *var)
{
	size_t i;

	for (i = 0; i < cg->nuses; i++)
		if (cg->uses[i].var == var)
			return cg->uses[i].shared;
	return false;
}

uint32_t cg_frame_alloc(struct cg *cg, uint32_t size)
{
	uint32_t off = ALIGN_UP(cg->frame_off, 8);

	cg->frame_off = off + ALIGN_UP(size ? size : 1, 8);
	if (cg->frame_off > cg->frame_max)
		cg->frame_max = cg->frame_off;
	return off;
}

static void set_loc(struct cg *cg, const struct loc *loc)
{
	LLVMSetCurrentDebugLocation2(cg->b, LLVMDIBuilderCreateDebugLocation(cg->ctx,
		(unsigned)loc->first_line, (unsigned)loc->first_column, cg->di_sp, NULL));
}

/*
 * Start a callback function returning i64 with the given parameters (the last one is the
 * callback_ctx pointer when with_ctx).  With a frame, the callback looks up the scratch frame
 * and loads the probe's context; cg then emits into its body.
 */
static LLVMValueRef cb_begin(struct cg *cg, struct cb_saved *sv, LLVMTypeRef *params,
			     const char **names, unsigned np, bool with_ctx, const struct loc *loc)
{
	LLVMTypeRef fty = LLVMFunctionType(cg->i64, params, np, false);
	LLVMMetadataRef dparams[5], sty, sp;
	LLVMBasicBlockRef entry, body, noframe, init;
	char name[64];
	LLVMValueRef fn;
	unsigned i;

	sv->fn = cg->fn;
	sv->ctxv = cg->ctxv;
	sv->frame = cg->frame;
	sv->ret_bb = cg->ret_bb;
	sv->break_bb = cg->break_bb;
	sv->cont_bb = cg->cont_bb;
	sv->init_bb = cg->init_bb;
	sv->insert = LLVMGetInsertBlock(cg->b);
	sv->di_sp = cg->di_sp;
	sv->loc = LLVMGetCurrentDebugLocation2(cg->b);

	snprintf(name, sizeof(name), "%s_cb%u", cg->pi->name, ncallbacks++);
	fn = LLVMAddFunction(cg->mod, name, fty);
	/* a static function in .text: libbpf appends it to every program that calls it */
	LLVMSetLinkage(fn, LLVMInternalLinkage);
	LLVMSetSection(fn, ".text");
	LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
		LLVMCreateEnumAttribute(cg->ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
	dparams[0] = cg->di_int;
	for (i = 0; i < np && i < 4; i++)
		dparams[i + 1] = LLVMGetTypeKind(params[i]) == LLVMPointerTypeKind ? cg->di_ptr :
				 cg->di_int;
	sty = LLVMDIBuilderCreateSubroutineType(cg->di, cg->di_file, dparams, np + 1, LLVMDIFlagZero);
	sp = LLVMDIBuilderCreateFunction(cg->di, cg->di_file, name, strlen(name), name, strlen(name),
					 cg->di_file, (unsigned)loc->first_line, sty, true, true,
					 (unsigned)loc->first_line, LLVMDIFlagPrototyped, true);
	LLVMSetSubprogram(fn, sp);
	for (i = 0; i < np; i++) {
		/* the kernel rejects BTF with unnamed parameters */
		LLVMDIBuilderCreateParameterVariable(cg->di, sp, names[i], strlen(names[i]), i + 1,
						     cg->di_file, (unsigned)loc->first_line,
						     dparams[i + 1], true, LLVMDIFlagZero);
		LLVMSetValueName2(LLVMGetParam(fn, i), names[i], strlen(names[i]));
	}
	cg->fn = fn;
	cg->di_sp = sp;
	entry = irb_block(cg, "entry");
	LLVMPositionBuilderAtEnd(cg->b, entry);
	set_loc(cg, loc);
	if (!with_ctx)
		return fn;

	cg->ctxv = LLVMBuildLoad2(cg->b, cg->ptr, LLVMGetParam(fn, np - 1), "ctx");
	{
		LLVMValueRef key = LLVMBuildAlloca(cg->b, cg->i32, "frame_key");

		LLVMBuildStore(cg->b, LLVMConstInt(cg->i32, cg->prog_index, false), key);
		cg->frame = irb_map_lookup(cg, cg->scratch, key);
	}
	init = irb_block(cg, "init");
	body = irb_block(cg, "body");
	noframe = irb_block(cg, "noframe");
	LLVMBuildCondBr(cg->b, irb_bool(cg, cg->frame), init, noframe);
	LLVMPositionBuilderAtEnd(cg->b, noframe);
	LLVMBuildRet(cg->b, irb_const(cg, 1));
	LLVMPositionBuilderAtEnd(cg->b, init);
	LLVMBuildBr(cg->b, body);
	cg->init_bb = init;
	LLVMPositionBuilderAtEnd(cg->b, body);
	return fn;
}

static void cb_end(struct cg *cg, struct cb_saved *sv)
{
	cg->fn = sv->fn;
	cg->ctxv = sv->ctxv;
	cg->frame = sv->frame;
	cg->ret_bb = sv->ret_bb;
	cg->break_bb = sv->break_bb;
	cg->cont_bb = sv->cont_bb;
	cg->init_bb = sv->init_bb;
	cg->di_sp = sv->di_sp;
	LLVMPositionBuilderAtEnd(cg->b, sv->insert);
	LLVMSetCurrentDebugLocation2(cg->b, sv->loc);
}

/* A stack slot holding the probe's context pointer: the callbacks' callback_ctx. */
static LLVMValueRef ctx_slot(struct cg *cg)
{
	LLVMValueRef slot = irb_alloca(cg, cg->ptr, "cbctx");

	LLVMBuildStore(cg->b, cg->ctxv, slot);
	return slot;
}

/*
 * The loop body inside a callback: continue returns 0, break 1, return/exit() set the frame
 * flag at flag_off and return 1.
 */
static void cb_body(struct cg *cg, struct node *body, uint32_t flag_off)
{
	LLVMBasicBlockRef cont = irb_block(cg, "for.continue"), brk = irb_block(cg, "for.break"),
			  ret = irb_block(cg, "for.return");

	cg->cont_bb = cont;
	cg->break_bb = brk;
	cg->ret_bb = ret;
	cg_block(cg, body);
	if (!irb_terminated(cg))
		LLVMBuildBr(cg->b, cont);
	LLVMPositionBuilderAtEnd(cg->b, cont);
	LLVMBuildRet(cg->b, irb_const(cg, 0));
	LLVMPositionBuilderAtEnd(cg->b, brk);
	LLVMBuildRet(cg->b, irb_const(cg, 1));
	LLVMPositionBuilderAtEnd(cg->b, ret);
	irb_store(cg, irb_gep(cg, cg->frame, flag_off), irb_const(cg, 1), 8);
	LLVMBuildRet(cg->b, irb_const(cg, 1));
}

void cg_sync_vars(struct cg *cg, bool to_frame)
{
	size_t i;

	if (cg->fn != cg->root_fn)
		return;	/* a callback reads and writes shared variables in the frame itself */
	for (i = 0; i < cg->nvars; i++) {
		LLVMValueRef ra = cg->vars[i].root_alloca, fp;

		if (!ra)
			continue;
		fp = irb_gep(cg, cg->frame, cg->vars[i].off);
		if (to_frame)
			irb_store(cg, fp, LLVMBuildLoad2(cg->b, cg->i64, ra, ""), 8);
		else
			LLVMBuildStore(cg->b, irb_load(cg, fp, 8, false), ra);
	}
}

/* After the helper: a return or exit() in the body ends the probe here too. */
static void after_loop(struct cg *cg, uint32_t flag_off)
{
	LLVMBasicBlockRef go = irb_block(cg, "for.done");
	LLVMValueRef flag = irb_load(cg, irb_gep(cg, cg->frame, flag_off), 8, false);

	LLVMBuildCondBr(cg->b, irb_bool(cg, flag), cg->ret_bb, go);
	LLVMPositionBuilderAtEnd(cg->b, go);
}

/*
 * A count() or sum() entry is one u64 per CPU: add up every possible CPU's (the callback's
 * value pointer is only this CPU's).  key is the entry's key, copied out of the map.
 */
static LLVMValueRef percpu_total(struct cg *cg, struct map_info *mi, LLVMValueRef key)
{
	LLVMValueRef total = irb_alloca(cg, cg->i64, "total");
	int ncpus = libbpf_num_possible_cpus(), cpu;

	LLVMBuildStore(cg->b, irb_const(cg, 0), total);
	for (cpu = 0; cpu < (ncpus > 0 ? ncpus : 1); cpu++) {
		LLVMValueRef args[3] = { cg->maps[mi->id], key, LLVMConstInt(cg->i32, (unsigned)cpu, false) };
		LLVMValueRef p = irb_helper_call(cg, BPF_FUNC_map_lookup_percpu_elem, cg->ptr, args, 3);
		LLVMBasicBlockRef hit = irb_block(cg, "cpu.hit"), next = irb_block(cg, "cpu.next");

		LLVMBuildCondBr(cg->b, irb_bool(cg, p), hit, next);
		LLVMPositionBuilderAtEnd(cg->b, hit);
		LLVMBuildStore(cg->b, LLVMBuildAdd(cg->b, LLVMBuildLoad2(cg->b, cg->i64, total, ""),
						   irb_load(cg, p, 8, false), ""), total);
		LLVMBuildBr(cg->b, next);
		LLVMPositionBuilderAtEnd(cg->b, next);
	}
	return LLVMBuildLoad2(cg->b, cg->i64, total, "");
}

static void cg_for_map(struct cg *cg, struct node *n)
{
	struct map_info *mi = n->b->map;
	const struct type *vt = n->a->var->type;
	LLVMTypeRef params[4] = { cg->ptr, cg->ptr, cg->ptr, cg->ptr };
	const char *names[4] = { "map", "key", "value", "cbctx" };
	uint32_t flag_off = cg_frame_alloc(cg, 8);
	struct cb_saved sv;
	LLVMValueRef fn, args[4], var;

	irb_store(cg, irb_gep(cg, cg->frame, flag_off), irb_const(cg, 0), 8);
	args[2] = ctx_slot(cg);
	fn = cb_begin(cg, &sv, params, names, 4, true, &n->loc);
	/* $kv = (key, value), copied out of the map */
	var = cg_var_slot(cg, n->a);
	irb_copy(cg, irb_gep(cg, var, vt->offsets[0]), LLVMGetParam(fn, 1), vt->fields[0]->size);
	if (mi->percpu)
		irb_store(cg, irb_gep(cg, var, vt->offsets[1]), percpu_total(cg, mi, var), 8);
	else
		irb_copy(cg, irb_gep(cg, var, vt->offsets[1]), LLVMGetParam(fn, 2),
			 vt->fields[1]->size);
	cb_body(cg, n->body, flag_off);
	cb_end(cg, &sv);
	args[0] = cg->maps[mi->id];
	args[1] = fn;
	args[3] = irb_const(cg, 0);
	cg_sync_vars(cg, true);
	irb_helper_call(cg, BPF_FUNC_for_each_map_elem, cg->i64, args, 4);
	cg_sync_vars(cg, false);
	after_loop(cg, flag_off);
}

static void cg_for_range(struct cg *cg, struct node *n)
{
	LLVMTypeRef params[2] = { cg->i64, cg->ptr };
	const char *names[2] = { "index", "cbctx" };
	uint32_t flag_off = cg_frame_alloc(cg, 8), base_off = cg_frame_alloc(cg, 8);
	LLVMValueRef start = cg_expr(cg, n->b), end = cg_expr(cg, n->c), count, fn, args[4], idx;
	struct cb_saved sv;

	/* a..b is empty unless a < b (signed, as bpftrace's ranges) */
	count = LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, start, end, ""),
				LLVMBuildSub(cg->b, end, start, ""), irb_const(cg, 0), "");
	/* an empty constant range: no callback at all (the verifier would never visit it) */
	if (LLVMIsAConstantInt(count) && LLVMConstIntGetSExtValue(count) <= 0)
		return;
	irb_store(cg, irb_gep(cg, cg->frame, flag_off), irb_const(cg, 0), 8);
	irb_store(cg, irb_gep(cg, cg->frame, base_off), start, 8);
	args[2] = ctx_slot(cg);
	fn = cb_begin(cg, &sv, params, names, 2, true, &n->loc);
	idx = LLVMBuildAnd(cg->b, LLVMGetParam(fn, 0), irb_const(cg, 0xffffffff), "");
	LLVMBuildStore(cg->b, LLVMBuildAdd(cg->b, irb_load(cg, irb_gep(cg, cg->frame, base_off), 8,
							  true), idx, ""),
		       cg_var_slot(cg, n->a));
	cb_body(cg, n->body, flag_off);
	cb_end(cg, &sv);
	/* bpf_loop runs at most 1 << 23 times; more is refused (and runs nothing) */
	args[0] = count;
	args[1] = fn;
	args[3] = irb_const(cg, 0);
	cg_sync_vars(cg, true);
	irb_helper_call(cg, BPF_FUNC_loop, cg->i64, args, 4);
	cg_sync_vars(cg, false);
	after_loop(cg, flag_off);
}

void cg_for(struct cg *cg, struct node *n)
{
	if (n->c)
		cg_for_range(cg, n);
	else
		cg_for_map(cg, n);
}

/* len(@m): bpf_for_each_map_elem returns how many elements it visited. */
LLVMValueRef cg_map_len(struct cg *cg, struct map_info *mi, const struct loc *loc)
{
	LLVMTypeRef params[4] = { cg->ptr, cg->ptr, cg->ptr, cg->ptr };
	const char *names[4] = { "map", "key", "value", "cbctx" };
	struct cb_saved sv;
	LLVMValueRef fn, args[4];

	fn = cb_begin(cg, &sv, params, names, 4, false, loc);
	LLVMBuildRet(cg->b, irb_const(cg, 0));
	cb_end(cg, &sv);
	args[0] = cg->maps[mi->id];
	args[1] = fn;
	args[2] = LLVMConstPointerNull(cg->ptr);
	args[3] = irb_const(cg, 0);
	return irb_helper_call(cg, BPF_FUNC_for_each_map_elem, cg->i64, args, 4);
}
