/*
 * stack.c - builtins about where the probe fired: argN, retval, args, ctx, func, probe,
 * kstack/ustack, ksym/usym, kaddr/uaddr, reg.
 */
#include "builtins.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cg.h"
#include "common/arch.h"
#include "probes/probe.h"
#include "runtime/dwarf_types.h"
#include "runtime/elf.h"
#include "runtime/kinds.h"
#include "runtime/ksyms.h"
#include "sema.h"

static struct type *t_arg(struct sema *se, struct node *n)
{
	return type_int(8, false);
}

static LLVMValueRef e_arg(struct cg *cg, struct node *n)
{
	return cg_arg(cg, atoi(n->str + 3));
}

static LLVMValueRef e_retval(struct cg *cg, struct node *n)
{
	return cg_regs_load(cg, ARCH_RET_OFFSET);
}

/*
 * A uprobe's args come from DWARF (runtime/dwarf_types.c): every attach point of the probe
 * must give the same parameters, since one program reads them.  Reported once per probe.
 */
static bool uprobe_args_ok(struct sema *se, struct node *n)
{
	static const struct probe *told;
	const struct probe *p = se->probe;
	bool quiet = told == p && se->final;

	for (size_t i = 0; i < p->naps; i++) {
		const struct attach_point *ap = p->aps[i];
		const struct probe_targets *ts = ap->priv;

		for (size_t k = 0; ts && k < ts->n; k++) {
			struct record *r = ap->ops->args ? ap->ops->args((struct attach_point *)ap,
									 &ts->v[k]) : NULL;
			int err;

			if (r && se->args && dwarf_types_args_equal(r, se->args))
				continue;
			if (quiet) {
				se->errors++;
				return false;
			}
			err = r ? 0 : dwarf_types_args(ts->v[k].path, ts->v[k].offset, &r);
			if (err == -ENODATA)
				sema_error(se, &ap->loc, "No debuginfo found for %s", ts->v[k].path);
			else if (err)
				sema_error(se, &ap->loc, "No debuginfo found for function %s in %s",
					   ts->v[k].func ? ts->v[k].func : "?", ts->v[k].path);
			else
				sema_error(se, &ap->loc, "Probe has attach points with mixed arguments");
			if (se->final)
				told = p;
			return false;
		}
	}
	return se->args != NULL;
}

static struct type *t_args(struct sema *se, struct node *n)
{
	if (se->ops == &probe_uprobe) {
		if (!uprobe_args_ok(se, n))
			return NULL;
	} else if (!se->args) {
		sema_error(se, &n->loc, "The args builtin can only be used with "
			   "tracepoint/kfunc/uprobeprobes (%s used here)", se->ops->name);
		return NULL;
	}
	return type_pointer(type_record(se->args), AS_CTX);
}

static LLVMValueRef e_ctx(struct cg *cg, struct node *n)
{
	return LLVMBuildPtrToInt(cg->b, cg->ctxv, cg->i64, "");
}

static struct type *t_ctx(struct sema *se, struct node *n)
{
	return type_int(8, false);
}

/* func: the probed function.  Entry probes read it from the instruction pointer. */
static struct type *t_func(struct sema *se, struct node *n)
{
	if (se->ops->ctx != CTX_PT_REGS) {
		sema_error(se, &n->loc, "The func builtin can not be used with '%s' probes", se->ops->name);
		return NULL;
	}
	/* one function per program: its name is a constant; a shared program reads the ip */
	for (size_t i = 0; i < se->probe->naps; i++) {
		const struct probe_targets *ts = se->probe->aps[i]->priv;

		if (ts && ts->shared_program)
			return kind_type(TYPE_PROBE);	/* an id in the name table: the cookie */
	}
	return type_string(se->s->opts.strlen);
}

static LLVMValueRef usym_value(struct cg *cg, LLVMValueRef addr)
{
	LLVMValueRef slot = cg_slot(cg, 24);
	LLVMValueRef pid = LLVMBuildLShr(cg->b, irb_helper_call(cg, BPF_FUNC_get_current_pid_tgid,
								 cg->i64, NULL, 0),
					 irb_const(cg, 32), "");

	irb_store(cg, slot, addr, 8);
	irb_store(cg, irb_gep(cg, slot, 8), pid, 8);
	return slot;
}

static LLVMValueRef e_func(struct cg *cg, struct node *n)
{
	if (n->type->kind == TYPE_STRING) {
		const char *name = cg->target && cg->target->func ? cg->target->func : cg->pi->probe_name;
		struct node lit = { .kind = N_STR, .str = (char *)name, .slen = strlen(name) };
		LLVMValueRef slot = cg_slot(cg, n->type->size), src;
		uint32_t len = (uint32_t)lit.slen + 1;

		if (len > n->type->size) {
			lit.slen = n->type->size - 1;
			len = n->type->size;
		}
		irb_zero(cg, slot, n->type->size);
		lit.type = type_string(len);
		src = cg_expr(cg, &lit);
		irb_copy(cg, slot, src, len);
		return slot;
	}
	return LLVMBuildAnd(cg->b, irb_helper_call(cg, BPF_FUNC_get_attach_cookie, cg->i64, &cg->ctxv, 1),
			    irb_const(cg, 0xffffffffu), "");
}

static struct type *t_probe(struct sema *se, struct node *n)
{
	return kind_type(TYPE_PROBE);
}

static LLVMValueRef e_probe(struct cg *cg, struct node *n)
{
	const struct probe_targets *ts = cg->pi->targets;

	/* one program for many functions (a wildcard on the multi-link): the cookie's high half
	 * names the probe that fired, as bpftrace expands it (uprobe:/lib/...:getpid) */
	if (ts && ts->shared_program && ts->n > 1)
		return LLVMBuildLShr(cg->b, irb_helper_call(cg, BPF_FUNC_get_attach_cookie, cg->i64,
							    &cg->ctxv, 1), irb_const(cg, 32), "");
	return irb_const(cg, script_add_probe_name(cg->s, cg->pi->probe_name));
}

/* ---- stacks ---- */

static struct type *stack_type(struct sema *se, struct node *n, bool user)
{
	struct type *t = kind_type(user ? TYPE_USTACK : TYPE_KSTACK);
	struct node *a;
	int i = 0;

	t->stack_limit = se->s->opts.stack_max;
	t->stack_unwind = user ? se->s->opts.ustack_unwind : STACK_UNWIND_FP;
	for (a = n->kind == N_CALL ? n->args : NULL; a; a = a->next, i++) {
		int64_t v;

		if (a->kind == N_IDENT && i == 0) {
			if (strcmp(a->str, "perf") == 0)
				t->stack_mode = 1;
			else if (strcmp(a->str, "bpftrace") == 0)
				t->stack_mode = 0;
			else if (strcmp(a->str, "raw") == 0)
				t->stack_mode = 2;
			else if (strcmp(a->str, "source") == 0 && user)
				t->stack_mode = 3;
			else if (strcmp(a->str, "dwarf") == 0 && user)
				t->stack_unwind = STACK_UNWIND_DWARF;
			else {
				sema_error(se, &a->loc, "%s: invalid mode value '%s'",
					   user ? "ustack" : "kstack", a->str);
				return NULL;
			}
			a->type = type_int(8, false);
			continue;
		}
		sema_expr(se, a);
		if (!sema_const_int(se, a, &v)) {
			sema_error(se, &a->loc, "%s: invalid limit value", user ? "ustack" : "kstack");
			return NULL;
		}
		if (v < 0 || v > se->s->opts.stack_max) {
			sema_error(se, &a->loc, "%s: limit must be between 0 and %u",
				   user ? "ustack" : "kstack", se->s->opts.stack_max);
			return NULL;
		}
		t->stack_limit = (uint32_t)v;
	}
	if (user) {
		se->s->uses_ustack = true;
		if (se->probe)
			se->probe->uses_ustack = true;
		if (t->stack_unwind == STACK_UNWIND_DWARF)
			se->s->uses_dwarf_ustack = true;
	} else
		se->s->uses_kstack = true;
	return t;
}

static struct type *t_kstack(struct sema *se, struct node *n)
{
	return stack_type(se, n, false);
}

static struct type *t_ustack(struct sema *se, struct node *n)
{
	return stack_type(se, n, true);
}

static LLVMValueRef e_kstack(struct cg *cg, struct node *n)
{
	LLVMValueRef args[] = { cg->ctxv, cg->stacks, irb_const(cg, 0) };

	return irb_helper_call_checked(cg, 1, BPF_FUNC_get_stackid, cg->i64, args, 3);
}

/*
 * Is the probe on a function's first instruction?  Then the callee has not pushed anything and
 * the caller's return address is on top of the stack, where a frame-pointer walk cannot see it.
 */
static bool at_function_entry(const struct attach_point *ap)
{
	return ap->ops->at_entry && ap->ops->at_entry(ap);
}

/*
 * A user stack is walked by bpf/ustack.bpf.c (linked into the module) and stored once per
 * distinct stack; the value is (stack key, pid, 0): the frames carry their files, so they
 * symbolize after the process is gone.
 */
static LLVMValueRef e_ustack(struct cg *cg, struct node *n)
{
	LLVMValueRef slot = usym_value(cg, codegen_ustack_call(cg, n->type->stack_unwind ==
							   STACK_UNWIND_DWARF,
							   at_function_entry(cg->pi->ap),
							   n->type->stack_limit));

	irb_store(cg, irb_gep(cg, slot, 16), irb_const(cg, 0), 8);
	return slot;
}

static struct type *c_kstack(struct sema *se, struct node *n)
{
	return t_kstack(se, n);
}

static struct type *c_ustack(struct sema *se, struct node *n)
{
	return t_ustack(se, n);
}

static LLVMValueRef f_kstack(struct cg *cg, struct node *n, struct node *m)
{
	return e_kstack(cg, n);
}

static LLVMValueRef f_ustack(struct cg *cg, struct node *n, struct node *m)
{
	return e_ustack(cg, n);
}

/* ---- symbols ---- */

static struct type *c_ksym(struct sema *se, struct node *n)
{
	if (!sema_require_int(se, n, n->args))
		return NULL;
	return kind_type(TYPE_KSYM);
}

static LLVMValueRef f_ksym(struct cg *cg, struct node *n, struct node *m)
{
	return cg_expr(cg, n->args);
}

static struct type *c_usym(struct sema *se, struct node *n)
{
	if (!sema_require_int(se, n, n->args))
		return NULL;
	return kind_type(TYPE_USYM);
}

static LLVMValueRef f_usym(struct cg *cg, struct node *n, struct node *m)
{
	return usym_value(cg, cg_expr(cg, n->args));
}

static struct type *c_kaddr(struct sema *se, struct node *n)
{
	const char *name = sema_literal_str(se, n, n->args);
	uint64_t addr;

	if (!name)
		return NULL;
	if (ksyms_addr(name, &addr)) {
		sema_error(se, &n->loc, "Failed to resolve kernel symbol: %s", name);
		return NULL;
	}
	n->ival = (int64_t)addr;
	n->is_const = true;
	return type_int(8, false);
}

/*
 * A position-independent binary's symbol has an address only once it is loaded: an entry
 * uprobe finds the load address from its own instruction pointer, when every program of the
 * probe is for one function of that binary.
 */
static bool pie_uaddr_ok(struct sema *se, const char *path)
{
	if (se->ops != &probe_uprobe)
		return false;
	for (size_t i = 0; i < se->probe->naps; i++) {
		const struct probe_targets *ts = se->probe->aps[i]->priv;

		if (!ts || (ts->shared_program && ts->n > 1))
			return false;
		for (size_t k = 0; k < ts->n; k++)
			if (!ts->v[k].path || strcmp(ts->v[k].path, path) != 0)
				return false;
	}
	return true;
}

/*
 * uaddr("sym"): the address of a symbol of the probed binary, a pointer to an integer of the
 * symbol's size as in bpftrace (1, 2 or 4 bytes; 8 for any other size), so *uaddr("x") reads
 * the whole variable and nothing past it.  Absolute for a fixed-address executable; a PIE or
 * library has an address only where the probe can find its load address (pie_uaddr_ok).
 */
static struct type *c_uaddr(struct sema *se, struct node *n)
{
	const char *name = sema_literal_str(se, n, n->args);
	const struct probe_targets *ts = se->ap->priv;
	struct elf_file *ef;
	uint64_t vaddr, size = 0;
	int err;

	if (!name)
		return NULL;
	if (se->ops->ctx != CTX_PT_REGS || se->ops->as != AS_USER || !ts || !ts->n || !ts->v[0].path) {
		sema_error(se, &n->loc, "uaddr() can only be used with uprobe and usdt probes");
		return NULL;
	}
	err = elf_open(ts->v[0].path, &ef);
	if (err) {
		sema_error(se, &n->loc, "uaddr(): failed to open %s: %s", ts->v[0].path, strerror(-err));
		return NULL;
	}
	err = elf_object_find(ef, name, &vaddr, &size);
	if (!err && elf_is_pie_or_dyn(ef) && !pie_uaddr_ok(se, ts->v[0].path))
		err = -EADDRNOTAVAIL;
	n->is_const = !elf_is_pie_or_dyn(ef);
	elf_close(ef);
	if (err == -EADDRNOTAVAIL) {
		sema_error(se, &n->loc, "uaddr(): %s is position independent: '%s' has an address only "
			   "in a uprobe on one function of that binary (its entry gives the load "
			   "address), not in this probe", ts->v[0].path, name);
		return NULL;
	}
	if (err) {
		sema_error(se, &n->loc, "uaddr(): could not resolve symbol '%s' in %s", name,
			   ts->v[0].path);
		return NULL;
	}
	n->ival = (int64_t)vaddr;
	return type_pointer(type_int(size == 1 || size == 2 || size == 4 ? (uint32_t)size : 8, true),
			    AS_USER);
}

static LLVMValueRef f_const(struct cg *cg, struct node *n, struct node *m)
{
	const struct probe_target *t = cg->target;
	struct elf_file *ef;
	uint64_t entry = 0;

	if (n->is_const)
		return irb_const(cg, n->ival);
	/* position independent: the probed instruction's address minus its link-time address is
	 * where the binary is loaded (pie_uaddr_ok checked there is one target and one binary) */
	if (!t && cg->pi->targets->n == 1)
		t = &cg->pi->targets->v[0];
	if (t && elf_open(t->path, &ef) == 0) {
		elf_offset_to_vaddr(ef, t->offset, &entry);
		elf_close(ef);
	}
	return LLVMBuildAdd(cg->b, LLVMBuildSub(cg->b, cg_regs_load(cg, 128), irb_const(cg,
					(int64_t)entry), ""), irb_const(cg, n->ival), "");
}

static struct type *c_reg(struct sema *se, struct node *n)
{
	const char *name = sema_literal_str(se, n, n->args);
	const struct arch_reg *r;

	if (!name)
		return NULL;
	if (se->ops->ctx != CTX_PT_REGS && se->ops->ctx != CTX_PERF) {
		sema_error(se, &n->loc, "reg() can not be used with '%s' probes", se->ops->name);
		return NULL;
	}
	r = arch_reg_by_name(name);
	if (r) {
		n->ival = r->offset;
		return type_int(8, false);
	}
	sema_error(se, &n->args->loc, "'%s' is not a valid register", name);
	return NULL;
}

static LLVMValueRef f_reg(struct cg *cg, struct node *n, struct node *m)
{
	return cg_regs_load(cg, (uint32_t)n->ival);
}

const struct builtin builtins_stack[] = {
	{ "arg0", B_REGS, t_arg, e_arg },
	{ "arg1", B_REGS, t_arg, e_arg },
	{ "arg2", B_REGS, t_arg, e_arg },
	{ "arg3", B_REGS, t_arg, e_arg },
	{ "arg4", B_REGS, t_arg, e_arg },
	{ "arg5", B_REGS, t_arg, e_arg },
	{ "arg6", B_REGS, t_arg, e_arg },
	{ "arg7", B_REGS, t_arg, e_arg },
	{ "arg8", B_REGS, t_arg, e_arg },
	{ "arg9", B_REGS, t_arg, e_arg },
	{ "retval", B_RETURN, t_arg, e_retval },
	{ "args", B_ANY, t_args, e_ctx },
	{ "ctx", B_ANY, t_ctx, e_ctx },
	{ "func", B_ANY, t_func, e_func },
	{ "probe", B_ANY, t_probe, e_probe },
	{ "kstack", B_ANY, t_kstack, e_kstack },
	{ "ustack", B_ANY, t_ustack, e_ustack },
	{ NULL },
};

const struct func funcs_stack[] = {
	{ "kstack", 0, 2, F_EXPR, false, c_kstack, f_kstack },
	{ "ustack", 0, 2, F_EXPR, false, c_ustack, f_ustack },
	{ "ksym", 1, 1, F_EXPR, false, c_ksym, f_ksym },
	{ "usym", 1, 1, F_EXPR, false, c_usym, f_usym },
	{ "kaddr", 1, 1, F_EXPR, false, c_kaddr, f_const },
	{ "uaddr", 1, 1, F_EXPR, false, c_uaddr, f_const },
	{ "reg", 1, 1, F_EXPR, false, c_reg, f_reg },
	{ NULL },
};
