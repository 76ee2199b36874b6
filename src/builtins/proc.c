/* proc.c - builtin variables about the current task and time: pid, tid, comm, nsecs, ... */
#include "builtins.h"

#include "codegen/cg.h"
#include "runtime/btf.h"
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
	return type_simple(TYPE_USERNAME);
}

static struct type *t_cgroup_path(struct sema *se, struct node *n)
{
	return type_simple(TYPE_CGROUP_PATH);
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

static LLVMValueRef e_pid(struct cg *cg, struct node *n)
{
	return LLVMBuildLShr(cg->b, helper0(cg, BPF_FUNC_get_current_pid_tgid), irb_const(cg, 32), "");
}

static LLVMValueRef e_tid(struct cg *cg, struct node *n)
{
	return LLVMBuildAnd(cg->b, helper0(cg, BPF_FUNC_get_current_pid_tgid),
			    irb_const(cg, 0xffffffff), "");
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
	LLVMValueRef slot = cg_slot(cg, 16);
	LLVMValueRef args[] = { slot, LLVMConstInt(cg->i32, 16, false) };

	irb_zero(cg, slot, 16);
	irb_helper_call(cg, BPF_FUNC_get_current_comm, cg->i64, args, 2);
	return slot;
}

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
	{ "cgroup_path", B_ANY, t_cgroup_path, e_cgroup },
	{ NULL },
};
