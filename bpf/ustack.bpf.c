/*
 * bpf/ustack.bpf.c - the user-stack walker that every ustack in a script calls.
 *
 * Compiled to LLVM bitcode when sonde is built and linked into a script's module only when the
 * script takes user stacks (src/codegen/object.c).  It walks the stack of the current task from
 * its user registers (bpf_task_pt_regs, so it works the same in uprobes, tracepoints and perf
 * events) and stores the frames once per distinct stack in sonde_uw_stacks, keyed by a hash:
 * the 64-bit key is what a ustack value holds, so stacks are map keys directly.
 *
 * Two modes:
 *  - DWARF: each frame is unwound with the call-frame information of its file, compiled from
 *    .eh_frame by the runtime into sonde_uw_rows (runtime/cfi.c): CFA = rsp|rbp + off, return
 *    address at CFA - 8, rbp restored from CFA + off.  A file without a table yet falls back
 *    to the frame pointer for that frame, and the runtime is asked (sonde_uw_req) to build one.
 *  - FP: the frame-pointer chain, except that the innermost frame uses its CFI row when the
 *    table is there, or the return address at the stack pointer when the probe sits on a
 *    function's first instruction: both are where the callee has not pushed its frame yet.
 * In both, a return address that lies in no executable mapping ends the walk, so stack data is
 * never printed as frames.  Each frame is recorded as (inode, device, file offset) as well as
 * the address: the file, not the process, identifies it, and it symbolizes after exit.
 */
#include <linux/bpf.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "ustack.h"

/* Just the kernel fields the walker reads; libbpf relocates them against the running kernel. */
struct super_block {
	unsigned int s_dev;
} __attribute__((preserve_access_index));

struct inode {
	unsigned long i_ino;
	struct super_block *i_sb;
} __attribute__((preserve_access_index));

struct file {
	struct inode *f_inode;
} __attribute__((preserve_access_index));

struct vm_area_struct {
	unsigned long vm_start;
	unsigned long vm_end;
	unsigned long vm_flags;
	unsigned long vm_pgoff;
	struct file *vm_file;
} __attribute__((preserve_access_index));

/*
 * The task's mappings in address order: the bpf_iter_task_vma kfuncs (6.7 on), called through
 * placeholder helper numbers the runtime resolves (USTK_KFUNC_*, bpf/ustack.h).  A call clobbers
 * r0-r5; inputs are therefore in r6-r9.
 */
struct bpf_iter_task_vma {
	unsigned long long opaque[1];
} __attribute__((aligned(8)));

#define KFUNC_CLOBBERS "r0", "r1", "r2", "r3", "r4", "r5", "memory"
#define STR(x) STR_(x)
#define STR_(x) #x

static __attribute__((always_inline)) void iter_vma_new(struct bpf_iter_task_vma *it,
							 struct task_struct *task)
{
	asm volatile("r1 = %[it]; r2 = %[task]; r3 = 0; call " STR(USTK_KFUNC_ITER_VMA_NEW)
		     : : [it] "r"(it), [task] "r"(task) : KFUNC_CLOBBERS);
}

static __attribute__((always_inline)) struct vm_area_struct *
iter_vma_next(struct bpf_iter_task_vma *it)
{
	struct vm_area_struct *v;

	asm volatile("r1 = %[it]; call " STR(USTK_KFUNC_ITER_VMA_NEXT) "; %[v] = r0"
		     : [v] "=r"(v) : [it] "r"(it) : KFUNC_CLOBBERS);
	return v;
}

static __attribute__((always_inline)) void iter_vma_destroy(struct bpf_iter_task_vma *it)
{
	asm volatile("r1 = %[it]; call " STR(USTK_KFUNC_ITER_VMA_DESTROY)
		     : : [it] "r"(it) : KFUNC_CLOBBERS);
}

struct pt_regs {
	unsigned long bp;
	unsigned long ip;
	unsigned long sp;
} __attribute__((preserve_access_index));

/*
 * A pending uretprobe replaced a return address on the stack with the uprobe trampoline (the
 * start of the [uprobes] page); the kernel keeps the real ones, innermost first, in the task's
 * return instances, as perf's own user callchains read them.
 */
struct return_instance {
	unsigned long orig_ret_vaddr;
	struct return_instance *next;
} __attribute__((preserve_access_index));

struct uprobe_task {
	struct return_instance *return_instances;
} __attribute__((preserve_access_index));

struct xol_area {
	unsigned long vaddr;
} __attribute__((preserve_access_index));

struct uprobes_state {
	struct xol_area *xol_area;
} __attribute__((preserve_access_index));

/* begun (odd) and ended (even) by every change to the mappings (CONFIG_PER_VMA_LOCK) */
struct seqcount {
	unsigned int sequence;
} __attribute__((preserve_access_index));

struct mm_struct {
	struct uprobes_state uprobes_state;
	struct seqcount mm_lock_seq;
} __attribute__((preserve_access_index));

struct task_struct {
	struct mm_struct *mm;
	struct uprobe_task *utask;
} __attribute__((preserve_access_index));

#define VM_EXEC 0x4UL
#define PAGE_SHIFT 12
#define USER_END 0x7ffffffff000ULL	/* x86-64 TASK_SIZE_MAX: no user mapping at or above */
#define SEARCH_STEPS 26		/* binary search over up to 2^26 rows */
#define USTK_HINTS 256		/* find_row's hints, a power of two */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, unsigned int);
	__type(value, struct ustk_row);
	__uint(max_entries, 1);		/* sized by the runtime before load */
} sonde_uw_rows SEC(".maps");

/* not preallocated: 16384 entries allocated up front cost 3 ms of every start, and a run
 * meets tens to hundreds of files */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ustk_file_key);
	__type(value, struct ustk_file);
	__uint(max_entries, 16384);
} sonde_uw_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, unsigned long long);
	__type(value, struct ustk_stack);
	__uint(max_entries, 4096);	/* sized by the runtime before load */
} sonde_uw_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, unsigned long long);
	__type(value, struct ustk_tail);
	__uint(max_entries, 1024);
} sonde_uw_tails SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 65536);
} sonde_uw_req SEC(".maps");

struct vma_info {
	unsigned long long start, end, pgoff, ino, flags;
	unsigned int dev;
};

#define USTK_VMAS 4		/* mappings a walk remembers, a power of two */

/* the walk's state: too large for the 512-byte stack */
struct walk {
	struct ustk_stack st;
	struct ustk_tail tail;
	unsigned long long ip, sp, bp, hash, seq;
	unsigned long long tramp;	/* the uretprobe trampoline's address, 0 when none */
	unsigned long long ri;		/* the next return instance (kernel address) */
	unsigned int hint[USTK_HINTS];	/* find_row: rows recent searches found */
	struct vma_info vma[USTK_VMAS];	/* vma_of: mappings met, valid while vma_mm and */
	unsigned long long vma_mm;	/* vma_seq are the task's mm and its mm_lock_seq */
	unsigned long long vma_low;	/* nothing is mapped below it */
	unsigned int vma_seq, vma_tgid, nvma, vma_next;
	unsigned int limit, mode;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, unsigned int);
	__type(value, struct walk);
	__uint(max_entries, 1);
} sonde_uw_scratch SEC(".maps");

/* The walk's state; the callbacks look it up too, as a bpf_loop context must be on the stack. */
static struct walk *walk_state(void)
{
	unsigned int zero = 0;

	return bpf_map_lookup_elem(&sonde_uw_scratch, &zero);
}

/*
 * i as one 64-bit value the compiler knows nothing of, for an index that is tested and then
 * used: it tested one zero-extended copy of a 32-bit index and scaled another, which left the
 * verifier without a bound on the offset.
 */
static __attribute__((always_inline)) unsigned long long opaque_index(unsigned long long i)
{
	asm volatile("" : "+r"(i));
	return i;
}

static long vma_cb(struct task_struct *task, struct vm_area_struct *vma, struct vma_info *vi)
{
	struct file *f = vma->vm_file;

	vi->start = vma->vm_start;
	vi->end = vma->vm_end;
	vi->pgoff = vma->vm_pgoff;
	vi->flags = vma->vm_flags;
	vi->ino = 0;
	vi->dev = 0;
	if (f) {
		struct inode *in = f->f_inode;

		vi->ino = in->i_ino;
		vi->dev = in->i_sb->s_dev;
	}
	return 0;
}

static unsigned long long read_user(unsigned long long addr)
{
	unsigned long long v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr))
		return 0;
	return v;
}

static unsigned long long read_kernel(const void *addr)
{
	unsigned long long v = 0;

	if (bpf_probe_read_kernel(&v, sizeof(v), addr))
		return 0;
	return v;
}

/*
 * The start of the task's first mapping, 0 when unknown.  A frame-pointer walk through code
 * built without frame pointers ends at a "return address" that is some integer; most are below
 * every mapping, and the walk rejects them without asking for the mmap lock.  On a kernel
 * without the iterator, the calls are "r0 = 0": no mapping, 0.
 */
static unsigned long long lowest_mapping(void)
{
	struct bpf_iter_task_vma it;
	struct vm_area_struct *v;
	unsigned long long low = 0;

	iter_vma_new(&it, bpf_get_current_task_btf());
	v = iter_vma_next(&it);
	if (v)
		low = v->vm_start;
	iter_vma_destroy(&it);
	return low;
}

/*
 * The mappings remembered from earlier walks still hold when the task is the same process with
 * the same mm and nothing changed its mappings since: the kernel begins (odd) and ends (even)
 * mm_lock_seq around every change.  A kernel without it (no CONFIG_PER_VMA_LOCK, or before
 * 6.12) remembers them for one walk only.
 */
static void vma_keep(struct walk *w, struct mm_struct *mm)
{
	unsigned int tgid = bpf_get_current_pid_tgid() >> 32, seq = 1;

	if (mm && bpf_core_field_exists(mm->mm_lock_seq.sequence) &&
	    bpf_probe_read_kernel(&seq, sizeof(seq), &mm->mm_lock_seq.sequence))
		seq = 1;
	if ((seq & 1) || w->vma_mm != (unsigned long long)mm || w->vma_seq != seq ||
	    w->vma_tgid != tgid) {
		w->nvma = 0;
		w->vma_next = 0;
		w->vma_mm = (unsigned long long)mm;
		w->vma_seq = seq;
		w->vma_tgid = tgid;
		w->vma_low = (seq & 1) ? 0 : lowest_mapping();
	}
}

/*
 * The current task's state a walk needs: whether its remembered mappings hold, the uretprobe
 * trampoline's address and the first pending return instance.
 */
static void task_state(struct walk *w)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct mm_struct *mm = (struct mm_struct *)read_kernel(&task->mm);
	struct uprobe_task *ut = (struct uprobe_task *)read_kernel(&task->utask);
	struct xol_area *xa = NULL;

	vma_keep(w, mm);
	w->tramp = 0;
	w->ri = 0;
	if (!ut || !mm)
		return;
	w->ri = read_kernel(&ut->return_instances);
	if (w->ri)
		xa = (struct xol_area *)read_kernel(&mm->uprobes_state.xol_area);
	if (xa)
		w->tramp = read_kernel(&xa->vaddr);
}

/*
 * A return address that is the trampoline is the next pending uretprobe's original one; with
 * none left to take it from, 0: the walk ends there, not at a frame that is no code.
 */
static void fix_return(struct walk *w)
{
	struct return_instance *ri = (struct return_instance *)w->ri;

	if (!w->tramp || w->ip != w->tramp)
		return;
	if (!ri) {
		w->ip = 0;
		return;
	}
	w->ip = read_kernel(&ri->orig_ret_vaddr);
	w->ri = read_kernel(&ri->next);
}

/*
 * The binary search is a bpf_loop callback rather than a bounded loop: the verifier checks a
 * callback once, where it walked a 26-step loop step by step in every program that takes a
 * stack (two thirds of a ustack script's load time).  The kernel inlines bpf_loop, so a step
 * costs a direct call.
 */
struct search {
	unsigned long long off;
	unsigned int lo, hi;
	int bad;
};

static long search_cb(unsigned int i, struct search *s)
{
	const struct ustk_row *r;
	unsigned int mid;

	if (s->hi - s->lo <= 1)
		return 1;
	mid = s->lo + (s->hi - s->lo) / 2;
	r = bpf_map_lookup_elem(&sonde_uw_rows, &mid);
	if (!r) {
		s->bad = 1;
		return 1;
	}
	if (r->pc <= s->off)
		s->lo = mid;
	else
		s->hi = mid;
	return 0;
}

/* The row at index i when it covers off, i being in [lo, hi): the answer the search would give. */
static const struct ustk_row *row_covers(unsigned int i, unsigned int lo, unsigned int hi,
					 unsigned long long off)
{
	const struct ustk_row *r, *next;
	unsigned int j = i + 1;

	if (i < lo || i >= hi)
		return NULL;
	r = bpf_map_lookup_elem(&sonde_uw_rows, &i);
	if (!r || r->pc > off)
		return NULL;
	if (j == hi)
		return r;
	next = bpf_map_lookup_elem(&sonde_uw_rows, &j);
	return next && next->pc > off ? r : NULL;
}

/*
 * The row that covers file offset off, or NULL.  A per-CPU table of hints remembers where
 * recent searches ended: the same return addresses come back stack after stack, and a hint
 * that still covers off (checked against the rows, so a reclaimed table cannot mislead it)
 * saves the search.
 */
static const struct ustk_row *find_row(struct walk *w, const struct ustk_file *uf,
				       unsigned long long off)
{
	struct search s = { .off = off, .lo = uf->start, .hi = uf->start + uf->len };
	unsigned int start = s.lo, end = s.hi;
	unsigned long long h;
	const struct ustk_row *r;

	if (!uf->len)
		return NULL;
	h = opaque_index((off ^ (off >> 9) ^ start) & (USTK_HINTS - 1));
	if (h >= USTK_HINTS)
		return NULL;
	r = row_covers(w->hint[h], start, end, off);
	if (r)
		return r;
	bpf_loop(SEARCH_STEPS, search_cb, &s, 0);
	if (s.bad)
		return NULL;
	r = row_covers(s.lo, start, end, off);
	if (r)
		w->hint[h] = s.lo;
	return r;
}

/* One step by the frame-pointer chain: 0, or -1 when the chain ends. */
static int fp_step(struct walk *w)
{
	unsigned long long bp = w->bp, fr[2];

	if (!bp || bp < w->sp || (bp & 7))
		return -1;
	/* the saved rbp and the return address above it, in one read */
	if (bpf_probe_read_user(fr, sizeof(fr), (const void *)bp)) {
		fr[0] = read_user(bp);
		fr[1] = read_user(bp + 8);
	}
	w->bp = fr[0];
	w->ip = fr[1];
	w->sp = bp + 16;
	return 0;
}

/* One step by a CFI row: 0, 1 at the outermost frame, -1 when the row is unusable. */
static int cfi_step(struct walk *w, const struct ustk_row *r)
{
	unsigned long long cfa;

	switch (r->cfa_reg) {
	case USTK_CFA_RSP:
		cfa = w->sp + (long long)r->cfa_off;
		break;
	case USTK_CFA_RBP:
		cfa = w->bp + (long long)r->cfa_off;
		break;
	case USTK_CFA_PLT:
		cfa = w->sp + 8 + ((w->ip & 15) >= 11 ? 8 : 0);
		break;
	case USTK_CFA_END:
		return 1;
	default:
		return -1;
	}
	if (cfa <= w->sp && r->cfa_reg != USTK_CFA_RBP)
		return -1;
	if (r->rbp_rule == USTK_RBP_AT)
		w->bp = read_user(cfa + (long long)r->rbp_off);
	w->ip = read_user(cfa - 8);
	w->sp = cfa;
	return 0;
}

/* vma_of's search of the remembered mappings, a bpf_loop callback for the verifier's sake */
struct vma_search {
	unsigned long long ip;
	long long hit;
};

static long vma_search_cb(unsigned int i, struct vma_search *vs)
{
	struct walk *w = walk_state();
	unsigned long long k = opaque_index(i);

	if (!w || k >= USTK_VMAS || k >= w->nvma)
		return 1;
	if (w->vma[k].start <= vs->ip && vs->ip < w->vma[k].end) {
		vs->hit = (long long)k;
		return 1;
	}
	return 0;
}

/*
 * The mapping of ip into vi: -1 when there is none.  A stack goes back and forth between a few
 * files (the program, libc, libstdc++), and the same stacks come back: the walker remembers
 * the mappings it met and asks the kernel (bpf_find_vma: the mmap lock and a tree walk) only
 * for a new one.
 */
static int vma_of(struct walk *w, unsigned long long ip, struct vma_info *vi)
{
	struct vma_search vs = { .ip = ip, .hit = -1 };
	unsigned long long k;

	bpf_loop(USTK_VMAS, vma_search_cb, &vs, 0);
	k = opaque_index((unsigned long long)vs.hit);
	if (k < USTK_VMAS) {
		*vi = w->vma[k];
		return 0;
	}
	if (ip < w->vma_low || ip >= USER_END ||
	    bpf_find_vma(bpf_get_current_task_btf(), ip, vma_cb, vi, 0))
		return -1;
	/* replaced round robin once all are in use */
	k = opaque_index(w->vma_next++ & (USTK_VMAS - 1));
	if (k < USTK_VMAS)
		w->vma[k] = *vi;
	if (w->nvma < USTK_VMAS)
		w->nvma++;
	return 0;
}

/* The file's table entry; a file never seen before is recorded and its table requested. */
static const struct ustk_file *file_of(struct vma_info *vi, unsigned int pid)
{
	struct ustk_file_key k = { .ino = vi->ino, .dev = vi->dev };
	struct ustk_file pending = { .state = USTK_FILE_PENDING };
	const struct ustk_file *uf;
	struct ustk_req *rq;

	uf = bpf_map_lookup_elem(&sonde_uw_files, &k);
	if (uf)
		return uf;
	if (bpf_map_update_elem(&sonde_uw_files, &k, &pending, BPF_NOEXIST))
		return NULL;
	rq = bpf_ringbuf_reserve(&sonde_uw_req, sizeof(*rq), 0);
	if (rq) {
		rq->pid = pid;
		rq->dev = vi->dev;
		rq->ino = vi->ino;
		rq->start = vi->start;
		rq->end = vi->end;
		bpf_ringbuf_submit(rq, 0);
	} else {
		/* asked again by the next stack through this file */
		bpf_map_delete_elem(&sonde_uw_files, &k);
	}
	return NULL;
}

/* keep_tail's loops, as bpf_loop callbacks for the same reason as search_cb */
static long ret_cb(unsigned int i, void *unused)
{
	struct walk *w = walk_state();
	unsigned long long k = opaque_index(i);
	struct return_instance *ri;

	if (!w || !w->ri || k >= USTK_TAIL_RETS)
		return 1;
	ri = (struct return_instance *)w->ri;
	w->tail.rets[k] = read_kernel(&ri->orig_ret_vaddr);
	w->tail.nrets = k + 1;
	w->ri = read_kernel(&ri->next);
	return 0;
}

/*
 * Page by page: the top of a stack is not all present (the random gap the kernel leaves above
 * the first frame), and one read that touches a missing page fails whole.
 */
static long page_cb(unsigned int i, struct vma_info *stack)
{
	struct walk *w = walk_state();
	unsigned long long k = opaque_index(i), addr;

	if (!w || k >= USTK_TAIL_PAGES)
		return 1;
	addr = w->tail.base + k * 4096;
	if (addr >= stack->end ||
	    bpf_probe_read_user(w->tail.data + k * 4096, 4096, (const void *)addr))
		return 1;
	w->tail.len += 4096;
	return 0;
}

/*
 * The current frame's file has no table yet: keep its registers and the stack above them, so
 * the runtime can finish the walk, and stop here.
 */
static long keep_tail(struct walk *w)
{
	struct vma_info vi = {};

	if (bpf_find_vma(bpf_get_current_task_btf(), w->sp, vma_cb, &vi, 0))
		return 1;
	w->tail.ip = w->ip;
	w->tail.sp = w->sp;
	w->tail.bp = w->bp;
	w->tail.base = w->sp & ~4095ULL;
	w->tail.len = 0;
	w->tail.tramp = w->tramp;
	w->tail.nrets = 0;
	bpf_loop(USTK_TAIL_RETS, ret_cb, NULL, 0);
	bpf_loop(USTK_TAIL_PAGES, page_cb, &vi, 0);
	if (w->tail.len)
		w->st.flags |= USTK_STACK_TAIL;
	return 1;
}

static long frame_cb(unsigned int i, void *unused)
{
	struct walk *w = walk_state();
	struct vma_info vi = {};
	const struct ustk_file *uf;
	const struct ustk_row *r = NULL;
	struct ustk_frame *f;
	unsigned int n;
	int step;

	if (!w)
		return 1;
	n = w->st.nr;
	if (n)
		fix_return(w);
	if (n >= USTK_MAX_FRAMES || n >= w->limit || !w->ip)
		return 1;
	if (vma_of(w, w->ip, &vi) || !(vi.flags & VM_EXEC))
		return 1;
	f = &w->st.f[n];
	f->ip = w->ip;
	f->ino = vi.ino;
	f->dev = vi.dev;
	f->off = vi.ino ? w->ip - vi.start + (vi.pgoff << PAGE_SHIFT) : 0;
	w->st.nr = n + 1;
	w->hash = (w->hash ^ (vi.ino ? f->off : f->ip)) * USTK_HASH_MUL;
	w->hash = (w->hash ^ vi.ino) * USTK_HASH_MUL;

	if (vi.ino && ((w->mode & 3) == USTK_MODE_DWARF || n == 0)) {
		uf = file_of(&vi, bpf_get_current_pid_tgid() >> 32);
		/* a return address points after the call: look the call itself up */
		if (uf && uf->state == USTK_FILE_READY)
			r = find_row(w, uf, n ? f->off - 1 : f->off);
		else if ((!uf || uf->state == USTK_FILE_PENDING) &&
			 (w->mode & 3) == USTK_MODE_DWARF)
			return keep_tail(w);
	}
	if (r) {
		step = cfi_step(w, r);
		if (step > 0)
			return 1;
		if (step == 0)
			return 0;
	}
	if (n == 0 && (w->mode & USTK_F_ENTRY)) {
		/* at the first instruction: the return address is on top of the stack */
		w->ip = read_user(w->sp);
		w->sp += 8;
		return 0;
	}
	return fp_step(w) ? 1 : 0;
}

/*
 * Walk the current task's user stack; limit frames at most.  Returns the key of the stack in
 * sonde_uw_stacks, or 0 when there is none (a kernel thread, a full table).
 */
__attribute__((noinline)) unsigned long long sonde_ustack_capture(unsigned int mode,
								  unsigned int limit)
{
	struct walk *w = walk_state();
	struct pt_regs *regs;

	if (!w)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	if (!regs)
		return 0;
	w->ip = regs->ip;
	w->sp = regs->sp;
	w->bp = regs->bp;
	w->mode = mode;
	w->limit = limit;
	w->hash = USTK_HASH_SEED;
	task_state(w);
	w->st.nr = 0;
	w->st.limit = limit;
	w->st.flags = 0;
	bpf_loop(USTK_MAX_FRAMES, frame_cb, NULL, 0);
	if (!w->st.nr)
		return 0;
	w->hash = (w->hash ^ w->st.nr) * USTK_HASH_MUL;
	if (w->st.flags & USTK_STACK_TAIL) {
		/* the same frames so far may continue differently: a key of its own */
		w->seq++;
		w->hash = (w->hash ^ (w->seq << 8 | bpf_get_smp_processor_id())) * USTK_HASH_MUL;
		if (bpf_map_update_elem(&sonde_uw_tails, &w->hash, &w->tail, BPF_ANY))
			w->st.flags &= ~USTK_STACK_TAIL;
	}
	if (!w->hash)
		w->hash = 1;
	/* same key, same frames: an existing entry stays as it is (looked up without a lock) */
	if (!bpf_map_lookup_elem(&sonde_uw_stacks, &w->hash))
		bpf_map_update_elem(&sonde_uw_stacks, &w->hash, &w->st, BPF_NOEXIST);
	return w->hash;
}
