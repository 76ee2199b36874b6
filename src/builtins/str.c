/* str.c - strings and bytes from traced memory: str, buf, strncmp, ntop, macaddr; uptr and
 * kptr, which say which memory a pointer is in. */
#include "builtins.h"

#include <arpa/inet.h>
#include <string.h>

#include "codegen/cg.h"
#include "runtime/kinds.h"
#include "sema.h"


static enum addrspace arg_as(struct cg *cg, const struct type *t)
{
	if (t->as == AS_USER || t->as == AS_KERNEL)
		return t->as;
	/* a bare integer: unknown, except in a probe whose memory is all user space */
	return cg->pi->ap->ops->as == AS_USER ? AS_USER : AS_NONE;
}

/* A string or pton() array is already in BPF memory: read it with the kernel helper, which
 * reads the program's own stack, and never past its end. */
static bool held(const struct type *t)
{
	return t->kind == TYPE_STRING || (t->kind == TYPE_ARRAY && t->as == AS_SCRATCH);
}

static enum addrspace read_as(struct cg *cg, const struct type *t)
{
	return held(t) ? AS_KERNEL : arg_as(cg, t);
}

static struct type *c_str(struct sema *se, struct node *n)
{
	struct type *t = sema_expr(se, n->args);
	uint32_t size = se->s->opts.strlen;
	int64_t len;

	if (!t)
		return NULL;
	/* a string literal is rejected as bpftrace does; $N and tracepoint strings are fine */
	if ((t->kind != TYPE_INT && t->kind != TYPE_POINTER && t->kind != TYPE_ARRAY &&
	     t->kind != TYPE_STRING) || (n->args->kind == N_STR && !n->args->positional)) {
		sema_error(se, &n->loc, "str() expects an integer or a pointer type as first "
			   "argument (%s provided)", type_name(t));
		return NULL;
	}
	if (n->args->next) {
		if (!sema_require_int(se, n, n->args->next))
			return NULL;
		if (sema_const_int(se, n->args->next, &len)) {
			if (len < 0) {
				sema_error(se, &n->args->next->loc, "str() length must be positive");
				return NULL;
			}
			if ((uint64_t)len + 1 < size)
				size = (uint32_t)len + 1;
		}
	}
	if (t->kind == TYPE_STRING && !n->args->next)
		return t;
	return type_string(size);
}

static LLVMValueRef f_str(struct cg *cg, struct node *n, struct node *m)
{
	const struct type *at = n->args->type;
	LLVMValueRef v = cg_expr(cg, n->args), slot, size;
	uint32_t max = n->type->size;

	if (at->kind == TYPE_STRING) {
		if (!n->args->next)
			return v;
		/* str($1, 3): a prefix of a string we already hold */
		slot = cg_slot(cg, max);
		cg_store(cg, slot, n->type, v, at);
		return slot;
	}
	slot = cg_slot(cg, max);
	irb_zero(cg, slot, max);
	if (n->args->next && !n->args->next->is_const) {
		/* a runtime length: bounded so the verifier accepts the read size */
		LLVMValueRef len = LLVMBuildAdd(cg->b, cg_expr(cg, n->args->next), irb_const(cg, 1), "");
		LLVMValueRef big = LLVMBuildICmp(cg->b, LLVMIntUGT, len, irb_const(cg, max), "");
		LLVMValueRef args[3];

		size = LLVMBuildSelect(cg->b, big, irb_const(cg, max), len, "");
		args[0] = slot;
		args[1] = LLVMBuildTrunc(cg->b, size, cg->i32, "");
		args[2] = LLVMBuildIntToPtr(cg->b, v, cg->ptr, "");
		irb_helper_call_checked(cg, 2, arg_as(cg, at) == AS_USER ?
					BPF_FUNC_probe_read_user_str : arg_as(cg, at) == AS_KERNEL ?
					BPF_FUNC_probe_read_kernel_str : BPF_FUNC_probe_read_str,
					cg->i64, args, 3);
		return slot;
	}
	irb_probe_read_str(cg, slot, max, v, arg_as(cg, at));
	return slot;
}

static struct type *c_buf(struct sema *se, struct node *n)
{
	struct type *t = sema_expr(se, n->args);
	int64_t len = 0;

	if (!t)
		return NULL;
	if (t->kind == TYPE_ARRAY && !n->args->next) {
		len = t->size;
	} else {
		if (!n->args->next) {
			sema_error(se, &n->loc, "buf() requires a length argument for a pointer");
			return NULL;
		}
		if (!sema_require_int(se, n, n->args->next))
			return NULL;
		if (!sema_const_int(se, n->args->next, &len)) {
			/* a length known only at run time: up to the string size, clamped when read */
			len = MIN(se->s->opts.strlen, 255);
			n->ival = -len;
			return type_buffer((uint32_t)len + 1);
		}
	}
	if (len <= 0 || len > 255 || (uint32_t)len > se->s->opts.strlen) {
		sema_error(se, &n->loc, "buf() length must be between 1 and %u (%lld provided)",
			   se->s->opts.strlen < 255 ? se->s->opts.strlen : 255, (long long)len);
		return NULL;
	}
	n->ival = len;
	return type_buffer((uint32_t)len + 1);
}

static LLVMValueRef f_buf(struct cg *cg, struct node *n, struct node *m)
{
	LLVMValueRef v = cg_expr(cg, n->args);
	LLVMValueRef slot = cg_slot(cg, n->type->size);

	irb_zero(cg, slot, n->type->size);
	if (n->ival < 0) {
		/* runtime length: clamp to the buffer so the verifier sees a bounded read */
		enum addrspace as = read_as(cg, n->args->type);
		LLVMValueRef len = cg_expr(cg, n->args->next), args[3];
		int64_t max = held(n->args->type) ? MIN(-n->ival, n->args->type->size) : -n->ival;
		LLVMValueRef big = LLVMBuildICmp(cg->b, LLVMIntUGT, len, irb_const(cg, max), "");

		len = LLVMBuildSelect(cg->b, big, irb_const(cg, max), len, "");
		irb_store(cg, slot, len, 1);
		args[0] = irb_gep(cg, slot, 1);
		args[1] = LLVMBuildTrunc(cg->b, len, cg->i32, "");
		args[2] = LLVMBuildIntToPtr(cg->b, v, cg->ptr, "");
		irb_helper_call_checked(cg, 2, as == AS_USER ? BPF_FUNC_probe_read_user :
					as == AS_KERNEL ? BPF_FUNC_probe_read_kernel :
					BPF_FUNC_probe_read, cg->i64, args, 3);
		return slot;
	}
	irb_store(cg, slot, LLVMConstInt(cg->i8, (unsigned long long)n->ival, false), 1);
	/* buf("hi", 4): the length stays 4, the bytes past the string are zeroes */
	irb_probe_read(cg, irb_gep(cg, slot, 1),
		       held(n->args->type) ? MIN((uint32_t)n->ival, n->args->type->size) :
		       (uint32_t)n->ival, v, read_as(cg, n->args->type));
	return slot;
}

static struct type *c_strncmp(struct sema *se, struct node *n)
{
	struct type *a = sema_expr(se, n->args), *b = sema_expr(se, n->args->next);
	int64_t len;

	if (!a || !b)
		return NULL;
	if (a->kind != TYPE_STRING || b->kind != TYPE_STRING) {
		sema_error(se, &n->loc, "strncmp() expects string arguments (%s and %s provided)",
			   type_name(a), type_name(b));
		return NULL;
	}
	if (!sema_literal_int(se, n, n->args->next->next, &len))
		return NULL;
	if (len < 0) {
		sema_error(se, &n->loc, "strncmp() length must be non-negative (%lld provided)",
			   (long long)len);
		return NULL;
	}
	n->ival = len;
	return type_int(8, false);
}

static LLVMValueRef f_strncmp(struct cg *cg, struct node *n, struct node *m)
{
	LLVMValueRef a = cg_expr(cg, n->args), b = cg_expr(cg, n->args->next);
	uint32_t len = (uint32_t)MIN((uint64_t)n->ival,
				     MIN(n->args->type->size, n->args->next->type->size));

	/* strncmp() is 0 when equal, like C */
	return LLVMBuildXor(cg->b, cg_streq(cg, a, b, len), irb_const(cg, 1), "");
}

/* ntop([af, ] addr): an int is an IPv4 address, an array of 4 or 16 bytes either family */
static struct type *c_ntop(struct sema *se, struct node *n)
{
	struct node *addr = n->args->next ? n->args->next : n->args;
	struct type *t;
	int64_t af;

	if (n->args->next) {
		if (!sema_require_int(se, n, n->args))
			return NULL;
	}
	t = sema_expr(se, addr);
	if (!t)
		return NULL;
	if (t->kind == TYPE_INT) {
		/* an IPv4 address as a 32-bit value, e.g. sin_addr.s_addr */
	} else if (t->kind == TYPE_ARRAY || t->kind == TYPE_STRING) {
		if (t->size != 4 && t->size != 16) {
			sema_error(se, &addr->loc, "ntop() expects an array of 4 or 16 bytes (%u provided)",
				   t->size);
			return NULL;
		}
	} else if (t->kind != TYPE_POINTER) {
		sema_error(se, &addr->loc, "ntop() expects an integer or array argument, got %s",
			   type_name(t));
		return NULL;
	}
	if (n->args->next && sema_const_int(se, n->args, &af) && af != AF_INET && af != AF_INET6) {
		sema_error(se, &n->args->loc, "ntop() expects AF_INET or AF_INET6 (%lld provided)",
			   (long long)af);
		return NULL;
	}
	return kind_type(TYPE_INET);
}

static LLVMValueRef f_ntop(struct cg *cg, struct node *n, struct node *m)
{
	struct node *addr = n->args->next ? n->args->next : n->args;
	const struct type *t;
	LLVMValueRef slot = cg_slot(cg, 24), fam = NULL, v;

	irb_zero(cg, slot, 24);
	if (n->args->next)
		fam = cg_expr(cg, n->args);
	v = cg_expr(cg, addr);
	t = addr->type;
	if (!n->args->next)
		fam = irb_const(cg, t->kind != TYPE_INT && t->size == 16 ? AF_INET6 : AF_INET);
	irb_store(cg, slot, fam, 8);
	if (t->kind == TYPE_INT) {
		irb_store(cg, irb_gep(cg, slot, 8), v, t->size >= 4 ? 4 : t->size);
	} else if (t->kind == TYPE_STRING || (t->kind == TYPE_ARRAY && t->as == AS_SCRATCH)) {
		irb_copy(cg, irb_gep(cg, slot, 8), v, t->size);
	} else {
		irb_probe_read(cg, irb_gep(cg, slot, 8), t->kind == TYPE_POINTER ? 16 : t->size, v,
			       arg_as(cg, t));
	}
	return slot;
}

static struct type *c_macaddr(struct sema *se, struct node *n)
{
	struct type *t = sema_expr(se, n->args);

	if (!t)
		return NULL;
	/* a char mac[6] member is a string[6] */
	if (t->kind != TYPE_ARRAY && t->kind != TYPE_POINTER && t->kind != TYPE_INT &&
	    t->kind != TYPE_STRING) {
		sema_error(se, &n->args->loc, "macaddr() expects an array or pointer argument");
		return NULL;
	}
	if ((t->kind == TYPE_ARRAY || t->kind == TYPE_STRING) && t->size < 6) {
		sema_error(se, &n->loc, "macaddr() argument must be 6 bytes in size");
		return NULL;
	}
	return kind_type(TYPE_MACADDR);
}

static LLVMValueRef f_macaddr(struct cg *cg, struct node *n, struct node *m)
{
	LLVMValueRef v = cg_expr(cg, n->args), slot = cg_slot(cg, 8);

	irb_zero(cg, slot, 8);
	irb_probe_read(cg, slot, 6, v, read_as(cg, n->args->type));
	return slot;
}

/*
 * strcontains(haystack, "needle"): 1 when needle occurs in haystack.  The needle is a literal so
 * the search unrolls into a bounded number of comparisons the verifier accepts.
 */
static struct type *c_strcontains(struct sema *se, struct node *n)
{
	struct type *h = sema_expr(se, n->args), *nt = sema_expr(se, n->args->next);

	if (!h || !nt)
		return NULL;
	if (h->kind != TYPE_STRING || nt->kind != TYPE_STRING) {
		sema_error(se, &n->loc, "strcontains() expects string arguments (%s and %s provided)",
			   type_name(h), type_name(nt));
		return NULL;
	}
	if (n->args->next->kind != N_STR) {
		sema_error(se, &n->args->next->loc, "strcontains() expects a string literal as the "
			   "needle");
		return NULL;
	}
	return type_int(8, false);
}

static LLVMValueRef f_strcontains(struct cg *cg, struct node *n, struct node *m)
{
	LLVMValueRef hay = cg_expr(cg, n->args);
	const char *needle = n->args->next->str;
	uint32_t nlen = (uint32_t)n->args->next->slen, hsize = n->args->type->size, i, j;
	LLVMValueRef res = irb_alloca(cg, cg->i64, "contains");
	LLVMBasicBlockRef found = irb_block(cg, "contains.found"), done = irb_block(cg, "contains.done");

	LLVMBuildStore(cg->b, irb_const(cg, nlen == 0), res);
	if (nlen == 0 || nlen >= hsize) {
		LLVMBuildBr(cg->b, done);
		LLVMPositionBuilderAtEnd(cg->b, found);
		LLVMBuildBr(cg->b, done);
		LLVMPositionBuilderAtEnd(cg->b, done);
		return LLVMBuildLoad2(cg->b, cg->i64, res, "");
	}
	for (i = 0; i + nlen < hsize; i++) {
		LLVMBasicBlockRef next = irb_block(cg, "contains.next");
		LLVMValueRef c0 = LLVMBuildLoad2(cg->b, cg->i8, irb_gep(cg, hay, i), "");
		LLVMBasicBlockRef live = irb_block(cg, "contains.live");

		/* the haystack ended: not found */
		LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntEQ, c0, LLVMConstInt(cg->i8, 0, false), ""),
				done, live);
		LLVMPositionBuilderAtEnd(cg->b, live);
		for (j = 0; j < nlen; j++) {
			LLVMBasicBlockRef ok = j + 1 < nlen ? irb_block(cg, "contains.match") : found;
			LLVMValueRef c = LLVMBuildLoad2(cg->b, cg->i8, irb_gep(cg, hay, i + j), "");

			LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntEQ, c,
				LLVMConstInt(cg->i8, (unsigned char)needle[j], false), ""), ok, next);
			if (j + 1 < nlen)
				LLVMPositionBuilderAtEnd(cg->b, ok);
		}
		LLVMPositionBuilderAtEnd(cg->b, next);
	}
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, found);
	LLVMBuildStore(cg->b, irb_const(cg, 1), res);
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, done);
	return LLVMBuildLoad2(cg->b, cg->i64, res, "");
}

/* pton("1.2.3.4") / pton("::1"): the address's bytes, parsed at compile time */
static struct type *c_pton(struct sema *se, struct node *n)
{
	const char *text = sema_literal_str(se, n, n->args);
	unsigned char buf[16];

	if (!text)
		return NULL;
	if (inet_pton(AF_INET, text, buf) == 1) {
		n->ival = AF_INET;
		return type_with_as(type_array(type_int(1, false), 4), AS_SCRATCH);
	}
	if (inet_pton(AF_INET6, text, buf) == 1) {
		n->ival = AF_INET6;
		return type_with_as(type_array(type_int(1, false), 16), AS_SCRATCH);
	}
	sema_error(se, &n->loc, "pton() expects a valid IPv4 or IPv6 address (\"%s\" provided)", text);
	return NULL;
}

static LLVMValueRef f_pton(struct cg *cg, struct node *n, struct node *m)
{
	unsigned char buf[16] = { 0 };
	LLVMValueRef slot = cg_slot(cg, 16);
	int i;

	inet_pton((int)n->ival, n->args->str, buf);
	for (i = 0; i < 16; i += 8) {
		uint64_t w;

		memcpy(&w, buf + i, 8);
		irb_store(cg, irb_gep(cg, slot, (uint32_t)i), irb_const(cg, (int64_t)w), 8);
	}
	return slot;
}

/* uptr(p) / kptr(p): p's value with user / kernel address space, for the reads through it */
static struct type *c_addrspace(struct sema *se, struct node *n)
{
	struct type *t = sema_expr(se, n->args);

	if (!t)
		return NULL;
	if (t->kind != TYPE_INT && t->kind != TYPE_POINTER) {
		sema_error(se, &n->loc, "%s() only supports integer or pointer arguments (%s provided)",
			   n->str, type_kind_word(t));
		return NULL;
	}
	return type_with_as(t, n->str[0] == 'u' ? AS_USER : AS_KERNEL);
}

static LLVMValueRef f_addrspace(struct cg *cg, struct node *n, struct node *m)
{
	return cg_expr(cg, n->args);
}

const struct func funcs_str[] = {
	{ "uptr", 1, 1, F_EXPR, false, c_addrspace, f_addrspace },
	{ "kptr", 1, 1, F_EXPR, false, c_addrspace, f_addrspace },
	{ "pton", 1, 1, F_EXPR, false, c_pton, f_pton },
	{ "strcontains", 2, 2, F_EXPR, false, c_strcontains, f_strcontains },
	{ "str", 1, 2, F_EXPR, false, c_str, f_str },
	{ "buf", 1, 2, F_EXPR, false, c_buf, f_buf },
	{ "strncmp", 3, 3, F_EXPR, false, c_strncmp, f_strncmp },
	{ "ntop", 1, 2, F_EXPR, false, c_ntop, f_ntop },
	{ "macaddr", 1, 1, F_EXPR, false, c_macaddr, f_macaddr },
	{ NULL },
};
