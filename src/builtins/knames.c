/*
 * knames.c - syscall_name(nr) and signal_name(sig) (bpftrace 0.22+): names that BPF code looks up
 * by number in two array maps, which user space fills once before attaching
 * (knames_fill).  The values are ordinary strings: printable, comparable, usable as keys.
 *
 * Signal names come from the C library's own table (sigabbrev_np); syscall names from the
 * kernel UAPI header at build time (src/builtins/syscalls.inc): this kernel keeps no
 * readable syscall table (no sys_call_table symbol, its metadata array is init memory).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "builtins.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "codegen/cg.h"
#include "codegen/codegen.h"
#include "diag.h"
#include "sema.h"

static const struct {
	int nr;
	const char *name;
} syscalls[] = {
#include "src/builtins/syscalls.inc"	/* generated in the build tree (src/compiler.am) */
};

static struct type *c_syscall_name(struct sema *se, struct node *n)
{
	if (!sema_require_int(se, n, n->args))
		return NULL;
	se->s->uses_syscall_names = true;
	return type_string(KNAMES_SYSCALL_LEN);
}

static struct type *c_signal_name(struct sema *se, struct node *n)
{
	if (!sema_require_int(se, n, n->args))
		return NULL;
	se->s->uses_signal_names = true;
	return type_string(KNAMES_SIGNAL_LEN);
}

/* The name at index nr of table (an array map), or "" when nr is out of its range. */
static LLVMValueRef lookup_name(struct cg *cg, struct node *n, LLVMValueRef table, uint32_t len)
{
	LLVMValueRef nr = cg_expr(cg, n->args), key = irb_alloca(cg, cg->i32, "namekey"), p, slot;
	LLVMBasicBlockRef hit = irb_block(cg, "name.hit"), miss = irb_block(cg, "name.miss"),
			  done = irb_block(cg, "name.done");
	LLVMValueRef inrange = LLVMBuildICmp(cg->b, LLVMIntULT, nr, irb_const(cg, 1 << 20), "");

	/* a negative or huge number must not wrap onto a valid 32-bit index */
	nr = LLVMBuildSelect(cg->b, inrange, nr, irb_const(cg, 1 << 20), "");
	LLVMBuildStore(cg->b, LLVMBuildTrunc(cg->b, nr, cg->i32, ""), key);
	slot = cg_slot(cg, len);
	p = irb_map_lookup(cg, table, key);
	LLVMBuildCondBr(cg->b, irb_bool(cg, p), hit, miss);
	LLVMPositionBuilderAtEnd(cg->b, hit);
	irb_copy(cg, slot, p, len);
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, miss);
	irb_zero(cg, slot, len);
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, done);
	return slot;
}

static LLVMValueRef f_syscall_name(struct cg *cg, struct node *n, struct node *m)
{
	return lookup_name(cg, n, cg->sysnames, KNAMES_SYSCALL_LEN);
}

static LLVMValueRef f_signal_name(struct cg *cg, struct node *n, struct node *m)
{
	return lookup_name(cg, n, cg->signames, KNAMES_SIGNAL_LEN);
}

const struct func funcs_knames[] = {
	{ "syscall_name", 1, 1, F_EXPR, false, c_syscall_name, f_syscall_name },
	{ "signal_name", 1, 1, F_EXPR, false, c_signal_name, f_signal_name },
	{ NULL },
};

static int fill(int fd, uint32_t key, const char *name, uint32_t len)
{
	char buf[KNAMES_SYSCALL_LEN] = { 0 };

	snprintf(buf, len, "%s", name);
	return bpf_map_update_elem(fd, &key, buf, BPF_ANY) ? -errno : 0;
}

int knames_fill(const struct script *s, struct bpf_object *obj)
{
	int fd, err;
	size_t i;
	uint32_t sig;

	if (s->uses_syscall_names) {
		fd = bpf_object__find_map_fd_by_name(obj, MAP_SYSNAMES);
		for (i = 0; fd >= 0 && i < sizeof(syscalls) / sizeof(syscalls[0]); i++) {
			if (syscalls[i].nr < 0 || syscalls[i].nr >= KNAMES_SYSCALL_MAX)
				continue;
			err = fill(fd, (uint32_t)syscalls[i].nr, syscalls[i].name, KNAMES_SYSCALL_LEN);
			if (err) {
				diag_error(NULL, "failed to fill the syscall name table: %s", strerror(-err));
				return err;
			}
		}
	}
	if (s->uses_signal_names) {
		fd = bpf_object__find_map_fd_by_name(obj, MAP_SIGNAMES);
		for (sig = 1; fd >= 0 && sig < KNAMES_SIGNAL_MAX; sig++) {
			const char *abbrev = sigabbrev_np((int)sig);
			char name[KNAMES_SIGNAL_LEN];

			/* real-time signals by the kernel's numbering (SIGRTMIN is 32 there; the
			 * C library reserves the first few for itself) */
			if (sig == 32)
				snprintf(name, sizeof(name), "SIGRTMIN");
			else if (sig == 64)
				snprintf(name, sizeof(name), "SIGRTMAX");
			else if (sig > 32)
				snprintf(name, sizeof(name), "SIGRTMIN+%u", sig - 32);
			else if (abbrev)
				snprintf(name, sizeof(name), "SIG%s", abbrev);
			else
				continue;
			err = fill(fd, sig, name, KNAMES_SIGNAL_LEN);
			if (err) {
				diag_error(NULL, "failed to fill the signal name table: %s", strerror(-err));
				return err;
			}
		}
	}
	return 0;
}
