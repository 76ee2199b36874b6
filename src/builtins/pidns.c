/*
 * pidns.c - pid and tid as seen from sonde's own PID namespace, and pid(init)/tid(init).
 *
 * Inside a pod or a container the ids a user knows (ps, -p PID, cpid) are those of the
 * namespace sonde runs in, while bpf_get_current_pid_tgid() gives the host's.  When sonde is
 * not in the initial namespace, pid and tid come from bpf_get_ns_current_pid_tgid() with the
 * device and inode of /proc/self/ns/pid (a task outside the namespace reads as 0), as
 * bpftrace 0.23 does; pid(init) and tid(init) keep the host ids, pid(curr_ns) is plain pid.
 * In the initial namespace both are the same and the cheaper helper is used.
 */
#include "pidns.h"

#include <string.h>
#include <sys/stat.h>

#include <linux/bpf.h>

#include "builtins.h"
#include "codegen/cg.h"
#include "sema.h"
#include "types.h"

/* PROC_PID_INIT_INO: the inode of the initial PID namespace */
#define PIDNS_INIT_INO 0xEFFFFFFCu

static struct {
	bool done, init;
	uint64_t dev, ino;
} ns;

static void detect(void)
{
	struct stat st;

	if (ns.done)
		return;
	ns.done = true;
	ns.init = true;
	if (stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != PIDNS_INIT_INO) {
		ns.init = false;
		ns.dev = (uint64_t)st.st_dev;
		ns.ino = (uint64_t)st.st_ino;
	}
}

bool pidns_is_init(void)
{
	detect();
	return ns.init;
}

static LLVMValueRef host_pid_tgid(struct cg *cg)
{
	return irb_helper_call(cg, BPF_FUNC_get_current_pid_tgid, cg->i64, NULL, 0);
}

LLVMValueRef pidns_pid_tgid(struct cg *cg)
{
	LLVMValueRef slot, args[4];

	if (pidns_is_init())
		return host_pid_tgid(cg);
	/* struct bpf_pidns_info { u32 pid; u32 tgid; }: one u64 laid out like pid_tgid */
	slot = irb_alloca(cg, cg->i64, "pidns");
	args[0] = LLVMConstInt(cg->i64, ns.dev, false);
	args[1] = LLVMConstInt(cg->i64, ns.ino, false);
	args[2] = slot;
	args[3] = LLVMConstInt(cg->i32, 8, false);
	irb_helper_call(cg, BPF_FUNC_get_ns_current_pid_tgid, cg->i64, args, 4);
	return LLVMBuildLoad2(cg->b, cg->i64, slot, "");
}

/* pid(init), pid(curr_ns), tid(...): the namespace is a word, not an expression */
static struct type *c_ns(struct sema *se, struct node *n)
{
	struct node *a = n->args;

	if (!a)
		return type_int(8, false);	/* pid(): the builtin, as bpftrace 0.26 allows */
	if (a->kind != N_IDENT || (strcmp(a->str, "init") && strcmp(a->str, "curr_ns"))) {
		sema_error(se, &a->loc,
			   "%s: the PID namespace must be 'curr_ns' or 'init'", n->str);
		return NULL;
	}
	a->type = type_int(8, false);
	return type_int(8, false);
}

static LLVMValueRef f_ns(struct cg *cg, struct node *n, struct node *m)
{
	bool host = n->args && strcmp(n->args->str, "init") == 0;
	LLVMValueRef v = host ? host_pid_tgid(cg) : pidns_pid_tgid(cg);

	(void)m;
	if (strcmp(n->str, "pid") == 0)
		return LLVMBuildLShr(cg->b, v, irb_const(cg, 32), "");
	return LLVMBuildAnd(cg->b, v, irb_const(cg, 0xffffffff), "");
}

const struct func funcs_pidns[] = {
	{ "pid", 0, 1, F_EXPR, false, c_ns, f_ns },
	{ "tid", 0, 1, F_EXPR, false, c_ns, f_ns },
	{ NULL },
};
