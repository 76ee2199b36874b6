/* proc.c - builtin variables about the current task and time: pid, tid, comm, nsecs, ... */
#include "builtins.h"

#include <errno.h>
#include <sys/stat.h>
#include <string.h>

#include "codegen/cg.h"
#include "pidns.h"
#include "runtime/btf.h"
#include "runtime/kinds.h"
#include "sema.h"

static struct type *t_u64(struct sema *se, struct node *n)
{
	return type_int(8, false);
}

static struct type *t_comm(struct sema *se, struct node *n)
{
	return type_string(16);
}

static struct type *t_username(struct sema *se, struct node *n)
{
	return kind_type(TYPE_USERNAME);
}

static struct type *t_curtask(struct sema *se, struct node *n)
{
	struct record *r;

	if (btf_find_record("task_struct", false, &r) == 0 && r)
		return type_pointer(type_record(r), AS_KERNEL);
	return type_int(8, false);
}

static LLVMValueRef helper0(struct cg *cg, int helper)
{
	return irb_helper_call(cg, helper, cg->i64, NULL, 0);
}

/* pid and tid in sonde's own PID namespace (pidns.c) */
static LLVMValueRef e_pid(struct cg *cg, struct node *n)
{
	return LLVMBuildLShr(cg->b, pidns_pid_tgid(cg), irb_const(cg, 32), "");
}

static LLVMValueRef e_tid(struct cg *cg, struct node *n)
{
	return LLVMBuildAnd(cg->b, pidns_pid_tgid(cg), irb_const(cg, 0xffffffff), "");
}

static LLVMValueRef e_uid(struct cg *cg, struct node *n)
{
	return LLVMBuildAnd(cg->b, helper0(cg, BPF_FUNC_get_current_uid_gid),
			    irb_const(cg, 0xffffffff), "");
}

static LLVMValueRef e_gid(struct cg *cg, struct node *n)
{
	return LLVMBuildLShr(cg->b, helper0(cg, BPF_FUNC_get_current_uid_gid), irb_const(cg, 32), "");
}

static LLVMValueRef e_nsecs(struct cg *cg, struct node *n)
{
	return helper0(cg, BPF_FUNC_ktime_get_ns);
}

static LLVMValueRef e_elapsed(struct cg *cg, struct node *n)
{
	LLVMValueRef key = irb_alloca(cg, cg->i32, "gkey"), p, start, now, res;
	LLVMBasicBlockRef hit = irb_block(cg, "start.hit"), done = irb_block(cg, "start.done");

	res = irb_alloca(cg, cg->i64, "startv");
	LLVMBuildStore(cg->b, irb_const(cg, 0), res);
	LLVMBuildStore(cg->b, LLVMConstInt(cg->i32, GLOBAL_START_NS, false), key);
	p = irb_map_lookup(cg, cg->globals, key);
	LLVMBuildCondBr(cg->b, irb_bool(cg, p), hit, done);
	LLVMPositionBuilderAtEnd(cg->b, hit);
	LLVMBuildStore(cg->b, LLVMBuildLoad2(cg->b, cg->i64, p, ""), res);
	LLVMBuildBr(cg->b, done);
	LLVMPositionBuilderAtEnd(cg->b, done);
	start = LLVMBuildLoad2(cg->b, cg->i64, res, "");
	now = helper0(cg, BPF_FUNC_ktime_get_ns);
	return LLVMBuildSub(cg->b, now, start, "");
}

static LLVMValueRef e_cpu(struct cg *cg, struct node *n)
{
	return LLVMBuildZExt(cg->b, irb_helper_call(cg, BPF_FUNC_get_smp_processor_id, cg->i32, NULL, 0),
			     cg->i64, "");
}

static LLVMValueRef e_rand(struct cg *cg, struct node *n)
{
	return LLVMBuildZExt(cg->b, irb_helper_call(cg, BPF_FUNC_get_prandom_u32, cg->i32, NULL, 0),
			     cg->i64, "");
}

static LLVMValueRef e_cgroup(struct cg *cg, struct node *n)
{
	return helper0(cg, BPF_FUNC_get_current_cgroup_id);
}

static LLVMValueRef e_curtask(struct cg *cg, struct node *n)
{
	return helper0(cg, BPF_FUNC_get_current_task);
}

static LLVMValueRef e_cpid(struct cg *cg, struct node *n)
{
	return irb_const(cg, cg->s->opts.cpid);
}

static LLVMValueRef e_comm(struct cg *cg, struct node *n)
{
	LLVMValueRef slot = cg_stack_slot(cg, 16);
	LLVMValueRef args[] = { slot, LLVMConstInt(cg->i32, 16, false) };

	/* the helper pads the name with NULs (and zeroes the buffer when it fails) */
	irb_helper_call_checked(cg, 1, BPF_FUNC_get_current_comm, cg->i64, args, 2);
	return slot;
}

/* signal(SIGNAME | "NAME" | n): send a signal to the current task (unsafe) */
static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "HUP", 1 }, { "INT", 2 }, { "QUIT", 3 }, { "ILL", 4 }, { "TRAP", 5 }, { "ABRT", 6 },
	{ "BUS", 7 }, { "FPE", 8 }, { "KILL", 9 }, { "USR1", 10 }, { "SEGV", 11 }, { "USR2", 12 },
	{ "PIPE", 13 }, { "ALRM", 14 }, { "TERM", 15 }, { "STKFLT", 16 }, { "CHLD", 17 },
	{ "CONT", 18 }, { "STOP", 19 }, { "TSTP", 20 }, { "TTIN", 21 }, { "TTOU", 22 },
	{ "URG", 23 }, { "XCPU", 24 }, { "XFSZ", 25 }, { "VTALRM", 26 }, { "PROF", 27 },
	{ "WINCH", 28 }, { "IO", 29 }, { "PWR", 30 }, { "SYS", 31 },
};

static struct type *c_signal(struct sema *se, struct node *n)
{
	struct node *a = n->args;
	struct type *t;
	size_t i;

	if (a->kind == N_STR) {
		const char *name = strncmp(a->str, "SIG", 3) == 0 ? a->str + 3 : a->str;

		for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
			if (strcmp(signals[i].name, name) == 0) {
				n->ival = signals[i].sig;
				return type_void();
			}
		}
		sema_error(se, &a->loc, "signal(): unknown signal '%s'", a->str);
		return NULL;
	}
	t = sema_expr(se, a);
	if (!t)
		return NULL;
	if (t->kind != TYPE_INT) {
		sema_error(se, &a->loc, "signal() expects a signal name or number (%s provided)",
			   type_name(t));
		return NULL;
	}
	if (a->is_const && (a->ival < 1 || a->ival > 64)) {
		sema_error(se, &a->loc, "signal(): %lld is not a valid signal", (long long)a->ival);
		return NULL;
	}
	n->ival = 0;
	return type_void();
}

static LLVMValueRef f_signal(struct cg *cg, struct node *n, struct node *m)
{
	LLVMValueRef sig = n->ival ? irb_const(cg, n->ival) : cg_expr(cg, n->args);
	LLVMValueRef arg = LLVMBuildTrunc(cg->b, sig, cg->i32, "");

	irb_helper_call_checked(cg, 1, BPF_FUNC_send_signal, cg->i64, &arg, 1);
	return irb_const(cg, 0);
}

/* cgroupid("/sys/fs/cgroup/...") -> the cgroup's id, at compile time: on cgroup v2 (kernfs) the
 * id is the directory's inode number */
static struct type *c_cgroupid(struct sema *se, struct node *n)
{
	const char *path = sema_literal_str(se, n, n->args);
	struct stat st;

	if (!path)
		return NULL;
	if (stat(path, &st)) {
		sema_error(se, &n->args->loc, "cgroupid(): cannot resolve '%s': %s", path,
			   strerror(errno));
		return NULL;
	}
	n->ival = (int64_t)st.st_ino;
	n->is_const = true;
	return type_int(8, false);
}

static LLVMValueRef f_cgroupid(struct cg *cg, struct node *n, struct node *m)
{
	return irb_const(cg, n->ival);
}

const struct func funcs_proc[] = {
	{ "signal", 1, 1, F_STMT, true, c_signal, f_signal },
	{ "cgroupid", 1, 1, F_EXPR, false, c_cgroupid, f_cgroupid },
	{ NULL },
};

const struct builtin builtins_proc[] = {
	{ "pid", B_ANY, t_u64, e_pid },
	{ "tid", B_ANY, t_u64, e_tid },
	{ "uid", B_ANY, t_u64, e_uid },
	{ "gid", B_ANY, t_u64, e_gid },
	{ "username", B_ANY, t_username, e_uid },
	{ "nsecs", B_ANY, t_u64, e_nsecs },
	{ "elapsed", B_ANY, t_u64, e_elapsed },
	{ "cpu", B_ANY, t_u64, e_cpu },
	{ "rand", B_ANY, t_u64, e_rand },
	{ "cgroup", B_ANY, t_u64, e_cgroup },
	{ "curtask", B_ANY, t_curtask, e_curtask },
	{ "cpid", B_ANY, t_u64, e_cpid },
	{ "comm", B_ANY, t_comm, e_comm },
	{ NULL },
};
