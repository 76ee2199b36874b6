/*
 * sys.c - bpftrace 0.17's small system builtins: bswap, strerror, numaid, sarg0..sarg9,
 * debugf, cgroup_path and unwatch.  Values that need user space (error text, cgroup paths) travel as
 * numbers and are turned into text by runtime/decode.c.
 */
#include "builtins.h"

#include <stdlib.h>
#include <string.h>

#include "codegen/cg.h"
#include "common/arch.h"
#include "diag.h"
#include "runtime/kinds.h"
#include "sema.h"

/* bswap(n): the bytes of n reversed, at n's own width (8, 16, 32 or 64 bits). */
static struct type *c_bswap(struct sema *se, struct node *n)
{
	struct type *t = sema_expr(se, n->args);

	if (!t)
		return NULL;
	if (t->kind != TYPE_INT) {
		sema_error(se, &n->loc, "bswap() only supports integer arguments (%s provided)",
			   type_kind_word(t));
		return NULL;
	}
	return type_int(t->size, false);
}

static LLVMValueRef f_bswap(struct cg *cg, struct node *n, struct node *m)
{
	LLVMValueRef v = cg_expr(cg, n->args), fn;
	uint32_t size = n->type->size;
	LLVMTypeRef it, fty;
	char name[32];

	if (size == 1)
		return LLVMBuildAnd(cg->b, v, irb_const(cg, 0xff), "");
	/* the BPF backend lowers llvm.bswap to its byte-swap (BPF_END) instructions */
	it = LLVMIntTypeInContext(cg->ctx, size * 8);
	snprintf(name, sizeof(name), "llvm.bswap.i%u", size * 8);
	fty = LLVMFunctionType(it, &it, 1, false);
	fn = LLVMGetNamedFunction(cg->mod, name);
	if (!fn)
		fn = LLVMAddFunction(cg->mod, name, fty);
	v = LLVMBuildTrunc(cg->b, v, it, "");
	v = LLVMBuildCall2(cg->b, fty, fn, &v, 1, "");
	return LLVMBuildZExt(cg->b, v, cg->i64, "");
}

/* strerror(errno): the C library's text for an error number, in user space. */
static struct type *c_strerror(struct sema *se, struct node *n)
{
	if (!sema_require_int(se, n, n->args))
		return NULL;
	return kind_type(TYPE_ERRNO);
}

static LLVMValueRef f_strerror(struct cg *cg, struct node *n, struct node *m)
{
	return cg_expr(cg, n->args);
}

/*
 * cgroup_path(id [, filter]): the paths of cgroup id in every mounted hierarchy, as
 * "unified:/a,cpu:/b"; the optional filter is a wildcard on the hierarchy names.
 */
static struct type *c_cgroup_path(struct sema *se, struct node *n)
{
	const char *filter = "*";

	if (!sema_require_int(se, n, n->args))
		return NULL;
	if (n->args->next) {
		filter = sema_literal_str(se, n, n->args->next);
		if (!filter)
			return NULL;
	}
	if (se->final)
		n->id = script_add_fmt(se->s, EV_TIME, filter, NULL, NULL, 0);
	return kind_type(TYPE_CGROUP_PATH);
}

static LLVMValueRef f_cgroup_path(struct cg *cg, struct node *n, struct node *m)
{
	LLVMValueRef id = cg_expr(cg, n->args), slot = cg_slot(cg, 16);

	irb_store(cg, slot, id, 8);
	irb_store(cg, irb_gep(cg, slot, 8), irb_const(cg, n->id), 8);
	return slot;
}

/* debugf(fmt, ...): bpf_trace_printk to the kernel's trace pipe, up to three arguments. */
static struct type *c_debugf(struct sema *se, struct node *n)
{
	struct node *a;

	if (n->args->kind != N_STR) {
		struct type *t = sema_expr(se, n->args);

		if (t)
			sema_error(se, &n->loc, "debugf() expects a string literal (%s provided)",
				   type_kind_word(t));
		return NULL;
	}
	for (a = n->args->next; a; a = a->next) {
		struct type *t = sema_expr(se, a);

		if (!t)
			return NULL;
		if (t->kind != TYPE_INT && t->kind != TYPE_POINTER) {
			sema_error(se, &a->loc, "debugf() only supports integer arguments (%s provided)",
				   type_kind_word(t));
			return NULL;
		}
	}
	if (se->final)
		diag_warn(&n->loc, "The debugf() builtin is not recommended for production use. For "
			  "more information see bpf_trace_printk in bpf-helpers(7).");
	return type_void();
}

static LLVMValueRef f_debugf(struct cg *cg, struct node *n, struct node *m)
{
	LLVMValueRef args[5], fmt;
	struct node *a;
	unsigned nargs = 2;

	for (a = n->args->next; a && nargs < 5; a = a->next)
		args[nargs++] = cg_expr(cg, a);
	fmt = cg_expr(cg, n->args);
	args[0] = fmt;
	args[1] = LLVMConstInt(cg->i32, n->args->slen + 1, false);
	irb_helper_call(cg, BPF_FUNC_trace_printk, cg->i64, args, nargs);
	return irb_const(cg, 0);
}

static struct type *t_numaid(struct sema *se, struct node *n)
{
	return type_int(4, false);
}

static LLVMValueRef e_numaid(struct cg *cg, struct node *n)
{
	return LLVMBuildZExt(cg->b, irb_helper_call(cg, BPF_FUNC_get_numa_node_id, cg->i32, NULL, 0),
			     cg->i64, "");
}

/* sargN: the Nth 8-byte argument on the stack, above the return address (x86-64). */
static struct type *t_sarg(struct sema *se, struct node *n)
{
	if (!se->ops->has_stack_args) {
		sema_error(se, &n->loc, "The %s builtin can only be used with 'kprobes' and 'uprobes' "
			   "probes", n->str);
		return NULL;
	}
	return type_int(8, false);
}

static LLVMValueRef e_sarg(struct cg *cg, struct node *n)
{
	int idx = atoi(n->str + 4);
	LLVMValueRef sp = cg_regs_load(cg, ARCH_SP_OFFSET), slot = cg_slot(cg, 8);

	irb_store(cg, slot, irb_const(cg, 0), 8);
	irb_probe_read(cg, slot, 8, LLVMBuildAdd(cg->b, sp, irb_const(cg, 8 * (idx + 1)), ""),
		       cg->pi->ap->ops->as);
	return LLVMBuildLoad2(cg->b, cg->i64, slot, "");
}

/* unwatch(addr): user space takes the watchpoints on addr off (runtime/watch.c). */
static struct type *c_unwatch(struct sema *se, struct node *n)
{
	struct type *t = sema_expr(se, n->args);

	if (!t)
		return NULL;
	if (t->kind != TYPE_INT) {
		sema_error(se, &n->loc, "unwatch() only supports integer arguments (%s provided)",
			   type_kind_word(t));
		return NULL;
	}
	return type_void();
}

static LLVMValueRef f_unwatch(struct cg *cg, struct node *n, struct node *m)
{
	struct type *u64 = type_int(8, false);

	cg_send_event(cg, EV_UNWATCH, 0, type_tuple(&u64, 1), n->args, n);
	return irb_const(cg, 0);
}

const struct func funcs_sys[] = {
	{ "bswap", 1, 1, F_EXPR, false, c_bswap, f_bswap },
	{ "strerror", 1, 1, F_EXPR, false, c_strerror, f_strerror },
	{ "cgroup_path", 1, 2, F_EXPR, false, c_cgroup_path, f_cgroup_path },
	{ "debugf", 1, 4, F_STMT, false, c_debugf, f_debugf },
	{ "unwatch", 1, 1, F_STMT, false, c_unwatch, f_unwatch },
	{ NULL },
};

const struct builtin builtins_sys[] = {
	{ "numaid", B_ANY, t_numaid, e_numaid },
	{ "sarg0", B_ANY, t_sarg, e_sarg },
	{ "sarg1", B_ANY, t_sarg, e_sarg },
	{ "sarg2", B_ANY, t_sarg, e_sarg },
	{ "sarg3", B_ANY, t_sarg, e_sarg },
	{ "sarg4", B_ANY, t_sarg, e_sarg },
	{ "sarg5", B_ANY, t_sarg, e_sarg },
	{ "sarg6", B_ANY, t_sarg, e_sarg },
	{ "sarg7", B_ANY, t_sarg, e_sarg },
	{ "sarg8", B_ANY, t_sarg, e_sarg },
	{ "sarg9", B_ANY, t_sarg, e_sarg },
	{ NULL },
};
