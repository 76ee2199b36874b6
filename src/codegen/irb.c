/*
 * irb.c - the LLVM-C building blocks of sonde's BPF code: helper calls, map operations,
 * probe reads, memory copies.  Everything else calls these rather than LLVMBuildCall2.
 */
#include "cg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* BPF_MAP_UPDATE flags */
#define BPF_ANY 0

LLVMValueRef irb_const(struct cg *cg, int64_t v)
{
	return LLVMConstInt(cg->i64, (unsigned long long)v, true);
}

LLVMValueRef irb_helper_call(struct cg *cg, int helper, LLVMTypeRef ret, LLVMValueRef *args,
			     unsigned nargs)
{
	LLVMTypeRef params[8];
	LLVMTypeRef fty;
	LLVMValueRef fn;
	unsigned i;

	for (i = 0; i < nargs && i < 8; i++)
		params[i] = LLVMTypeOf(args[i]);
	fty = LLVMFunctionType(ret, params, nargs, false);
	/* The BPF backend turns a call through a constant address into `call <helper id>`. */
	fn = LLVMConstIntToPtr(LLVMConstInt(cg->i64, (unsigned long long)helper, false), cg->ptr);
	return LLVMBuildCall2(cg->b, fty, fn, args, nargs, "");
}

/* A helper's name as bpftrace's -k warnings give it: "Failed to probe_read_user: ..." */
static const char *helper_name(int helper)
{
	switch (helper) {
	case BPF_FUNC_map_update_elem: return "map_update_elem";
	case BPF_FUNC_probe_read: return "probe_read";
	case BPF_FUNC_probe_read_str: return "probe_read_str";
	case BPF_FUNC_probe_read_user: return "probe_read_user";
	case BPF_FUNC_probe_read_user_str: return "probe_read_user_str";
	case BPF_FUNC_probe_read_kernel: return "probe_read_kernel";
	case BPF_FUNC_probe_read_kernel_str: return "probe_read_kernel_str";
	case BPF_FUNC_get_current_comm: return "get_current_comm";
	case BPF_FUNC_send_signal: return "send_signal";
	case BPF_FUNC_get_stackid: return "get_stackid";
	default: return "helper";
	}
}

LLVMValueRef irb_helper_call_checked(struct cg *cg, unsigned level, int helper, LLVMTypeRef ret,
				     LLVMValueRef *args, unsigned nargs)
{
	LLVMValueRef r = irb_helper_call(cg, helper, ret, args, nargs);

	cg_helper_check(cg, level, helper_name(helper), r);
	return r;
}

LLVMValueRef irb_map_lookup(struct cg *cg, LLVMValueRef map, LLVMValueRef key)
{
	LLVMValueRef args[] = { map, key };

	return irb_helper_call(cg, BPF_FUNC_map_lookup_elem, cg->ptr, args, 2);
}

/* After an update of script map id returned r: -E2BIG (full) sets its flag and reports once. */
static void irb_report_full(struct cg *cg, LLVMValueRef r, int id)
{
	LLVMBasicBlockRef full = irb_block(cg, "full"), flag = irb_block(cg, "full.flag"),
			  first = irb_block(cg, "full.first"), done = irb_block(cg, "full.done");
	LLVMValueRef key = irb_alloca(cg, cg->i32, "fullkey"), p, rec;
	LLVMBasicBlockRef evdone;

	LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntEQ, r, irb_const(cg, -E2BIG), ""), full,
			done);
	LLVMPositionBuilderAtEnd(cg->b, full);
	LLVMBuildStore(cg->b, LLVMConstInt(cg->i32, (unsigned)id, false), key);
	p = irb_map_lookup(cg, cg->full, key);
	LLVMBuildCondBr(cg->b, irb_bool(cg, p), flag, done);
	LLVMPositionBuilderAtEnd(cg->b, flag);
	LLVMBuildCondBr(cg->b, irb_bool(cg, irb_load(cg, p, 8, false)), done, first);
	LLVMPositionBuilderAtEnd(cg->b, first);
	/* not atomic: two CPUs may both report, which costs a duplicate line, not a loss */
	irb_store(cg, p, irb_const(cg, 1), 8);
	rec = cg_event_begin(cg, EV_MAP_FULL, id, 0, &evdone);
	cg_event_end_rare(cg, rec, evdone);
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, done);
}

LLVMValueRef irb_map_update(struct cg *cg, LLVMValueRef map, LLVMValueRef key, LLVMValueRef val,
			    uint64_t flags)
{
	LLVMValueRef args[] = { map, key, val, irb_const(cg, (int64_t)flags) };
	LLVMValueRef r = irb_helper_call(cg, BPF_FUNC_map_update_elem, cg->i64, args, 4);
	size_t i;

	for (i = 0; i < cg->s->nmaps && cg->maps[i] != map; i++)
		;
	if (i == cg->s->nmaps)
		return r;	/* one of sonde's own maps */
	/* -k: a script map's update failed (an insert that loses a race to another CPU is not) */
	if (flags != BPF_NOEXIST)
		cg_helper_check(cg, 1, helper_name(BPF_FUNC_map_update_elem), r);
	/* a script map that is full refuses new keys: say so once, with the map's name */
	if (cg->full && cg->s->maps[i]->decl_kind != MAP_DECL_LRU_HASH &&
	    cg->s->maps[i]->decl_kind != MAP_DECL_PERCPU_LRU_HASH)
		irb_report_full(cg, r, (int)i);
	return r;
}

LLVMValueRef irb_map_delete(struct cg *cg, LLVMValueRef map, LLVMValueRef key)
{
	LLVMValueRef args[] = { map, key };

	return irb_helper_call(cg, BPF_FUNC_map_delete_elem, cg->i64, args, 2);
}

static LLVMValueRef as_ptr(struct cg *cg, LLVMValueRef v)
{
	if (LLVMGetTypeKind(LLVMTypeOf(v)) == LLVMPointerTypeKind)
		return v;
	return LLVMBuildIntToPtr(cg->b, v, cg->ptr, "");
}

void irb_probe_read(struct cg *cg, LLVMValueRef dst, uint32_t size, LLVMValueRef addr,
		    enum addrspace as)
{
	LLVMValueRef args[] = { dst, LLVMConstInt(cg->i32, size, false), as_ptr(cg, addr) };

	/* unknown address space: the compat helper picks user or kernel by the address (x86) */
	irb_helper_call_checked(cg, 2, as == AS_USER ? BPF_FUNC_probe_read_user :
				as == AS_KERNEL ? BPF_FUNC_probe_read_kernel : BPF_FUNC_probe_read,
				cg->i64, args, 3);
}

void irb_probe_read_str(struct cg *cg, LLVMValueRef dst, uint32_t size, LLVMValueRef addr,
			enum addrspace as)
{
	LLVMValueRef args[] = { dst, LLVMConstInt(cg->i32, size, false), as_ptr(cg, addr) };

	irb_helper_call_checked(cg, 2, as == AS_USER ? BPF_FUNC_probe_read_user_str :
				as == AS_KERNEL ? BPF_FUNC_probe_read_kernel_str :
				BPF_FUNC_probe_read_str, cg->i64, args, 3);
}

/*
 * The BPF backend expands constant-size memset/memcpy inline only up to 128 stores and cannot
 * call libc.  Chunks small enough to expand, marked volatile so LLVM never merges them back
 * into one large call.  Every base on the stack is 8-byte aligned, so a chunk at a multiple
 * of 8 uses 8-byte stores; a tuple field may not be, but tuples live only in scratch, map and
 * ring buffer memory, where the verifier allows misaligned access.
 */
#define IRB_CHUNK 256

static LLVMValueRef mem_intrinsic(struct cg *cg, const char *name, bool is_set)
{
	LLVMTypeRef types[3] = { cg->ptr, is_set ? cg->i64 : cg->ptr, cg->i64 };
	unsigned id = LLVMLookupIntrinsicID(name, strlen(name));

	return LLVMGetIntrinsicDeclaration(cg->mod, id, types, is_set ? 2 : 3);
}

static void set_align(LLVMValueRef call, unsigned idx, unsigned align, LLVMContextRef ctx)
{
	unsigned kind = LLVMGetEnumAttributeKindForName("align", 5);

	LLVMAddCallSiteAttribute(call, idx, LLVMCreateEnumAttribute(ctx, kind, align));
}

void irb_zero(struct cg *cg, LLVMValueRef dst, uint32_t size)
{
	LLVMValueRef fn = mem_intrinsic(cg, "llvm.memset", true);
	LLVMTypeRef fty = LLVMGlobalGetValueType(fn);
	uint32_t off;

	for (off = 0; off < size; off += IRB_CHUNK) {
		uint32_t n = size - off < IRB_CHUNK ? size - off : IRB_CHUNK;
		LLVMValueRef args[4] = { irb_gep(cg, dst, off), LLVMConstInt(cg->i8, 0, false),
					 LLVMConstInt(cg->i64, n, false), LLVMConstInt(cg->i1, 1, false) };
		LLVMValueRef call = LLVMBuildCall2(cg->b, fty, fn, args, 4, "");

		set_align(call, 1, off % 8 == 0 ? 8 : 1, cg->ctx);
	}
}

void irb_copy(struct cg *cg, LLVMValueRef dst, LLVMValueRef src, uint32_t size)
{
	LLVMValueRef fn = mem_intrinsic(cg, "llvm.memcpy", false);
	LLVMTypeRef fty = LLVMGlobalGetValueType(fn);
	uint32_t off;

	for (off = 0; off < size; off += IRB_CHUNK) {
		uint32_t n = size - off < IRB_CHUNK ? size - off : IRB_CHUNK;
		LLVMValueRef args[4] = { irb_gep(cg, dst, off), irb_gep(cg, src, off),
					 LLVMConstInt(cg->i64, n, false), LLVMConstInt(cg->i1, 1, false) };
		LLVMValueRef call = LLVMBuildCall2(cg->b, fty, fn, args, 4, "");

		set_align(call, 1, 8, cg->ctx);
		set_align(call, 2, 8, cg->ctx);
	}
}

LLVMValueRef irb_gep(struct cg *cg, LLVMValueRef base, uint32_t offset)
{
	LLVMValueRef idx = LLVMConstInt(cg->i64, offset, false);

	if (!offset)
		return base;
	return LLVMBuildInBoundsGEP2(cg->b, cg->i8, base, &idx, 1, "");
}

static LLVMTypeRef int_type(struct cg *cg, uint32_t size)
{
	switch (size) {
	case 1: return cg->i8;
	case 2: return cg->i16;
	case 4: return cg->i32;
	default: return cg->i64;
	}
}

LLVMValueRef irb_load(struct cg *cg, LLVMValueRef p, uint32_t size, bool is_signed)
{
	LLVMTypeRef t = int_type(cg, size);
	LLVMValueRef v = LLVMBuildLoad2(cg->b, t, p, "");

	if (t == cg->i64)
		return v;
	return is_signed ? LLVMBuildSExt(cg->b, v, cg->i64, "") : LLVMBuildZExt(cg->b, v, cg->i64, "");
}

void irb_store(struct cg *cg, LLVMValueRef p, LLVMValueRef v, uint32_t size)
{
	LLVMTypeRef t = int_type(cg, size);

	if (LLVMTypeOf(v) != t)
		v = LLVMBuildTrunc(cg->b, v, t, "");
	LLVMBuildStore(cg->b, v, p);
}

LLVMValueRef irb_extend(struct cg *cg, LLVMValueRef v, uint32_t size, bool is_signed)
{
	LLVMTypeRef t = int_type(cg, size);

	if (t == cg->i64)
		return v;
	v = LLVMBuildTrunc(cg->b, v, t, "");
	return is_signed ? LLVMBuildSExt(cg->b, v, cg->i64, "") : LLVMBuildZExt(cg->b, v, cg->i64, "");
}

LLVMValueRef irb_bool(struct cg *cg, LLVMValueRef v)
{
	if (LLVMTypeOf(v) == cg->i1)
		return v;
	if (LLVMGetTypeKind(LLVMTypeOf(v)) == LLVMPointerTypeKind)
		return LLVMBuildIsNotNull(cg->b, v, "");
	return LLVMBuildICmp(cg->b, LLVMIntNE, v, LLVMConstInt(LLVMTypeOf(v), 0, false), "");
}

LLVMValueRef irb_alloca(struct cg *cg, LLVMTypeRef t, const char *name)
{
	LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(cg->fn);
	LLVMValueRef first = LLVMGetFirstInstruction(entry), a;
	LLVMBuilderRef b = LLVMCreateBuilderInContext(cg->ctx);

	/*
	 * Allocas go first in the entry block, where LLVM's mem2reg finds them.  A builder of
	 * their own: cg->b may be in the middle of a block (var_slot() inserting before
	 * init_bb's terminator), a position the C API cannot save and restore.
	 */
	if (first)
		LLVMPositionBuilderBefore(b, first);
	else
		LLVMPositionBuilderAtEnd(b, entry);
	a = LLVMBuildAlloca(b, t, name);
	LLVMDisposeBuilder(b);
	return a;
}

LLVMBasicBlockRef irb_block(struct cg *cg, const char *name)
{
	return LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, name);
}

bool irb_terminated(struct cg *cg)
{
	LLVMBasicBlockRef bb = LLVMGetInsertBlock(cg->b);

	return LLVMGetBasicBlockTerminator(bb) != NULL;
}
