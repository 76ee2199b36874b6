/*
 * bpf/ustack.h - the layout shared by the BPF user-stack walker (bpf/ustack.bpf.c) and the
 * runtime that feeds it unwind tables and reads its stacks (runtime/unwind.c).
 *
 * Plain fixed-width types only: this header is compiled for the BPF target and for the host.
 */
#ifndef SONDE_BPF_USTACK_H
#define SONDE_BPF_USTACK_H

#define USTK_MAX_FRAMES 127

/* Map names, as the runtime finds them in the loaded object. */
#define USTK_MAP_ROWS "sonde_uw_rows"
#define USTK_MAP_FILES "sonde_uw_files"
#define USTK_MAP_STACKS "sonde_uw_stacks"
#define USTK_MAP_REQ "sonde_uw_req"
#define USTK_MAP_TAILS "sonde_uw_tails"
#define USTK_FN_CAPTURE "sonde_ustack_capture"

/*
 * Kernel functions the walker calls, emitted as helper calls with these placeholder numbers
 * and turned into kfunc calls by the runtime (btf_kfuncs_resolve, runtime/btf_core.c) with
 * the kernel's BTF ids, or into "r0 = 0" on a kernel without the function.  libbpf would
 * resolve extern kfuncs by reading the kernel's whole BTF a second time.
 * (Literal numbers: they are spliced into the inline asm.)
 */
#define USTK_KFUNC_BASE 0x7ff51000
#define USTK_KFUNC_ITER_VMA_NEW 0x7ff51001	/* bpf_iter_task_vma_new */
#define USTK_KFUNC_ITER_VMA_NEXT 0x7ff51002	/* bpf_iter_task_vma_next */
#define USTK_KFUNC_ITER_VMA_DESTROY 0x7ff51003	/* bpf_iter_task_vma_destroy */
#define USTK_KFUNC_NAMES { NULL, "bpf_iter_task_vma_new", "bpf_iter_task_vma_next", \
			   "bpf_iter_task_vma_destroy" }

/* capture modes (the "mode" argument) */
#define USTK_MODE_FP 0		/* frame pointers; CFI only for the innermost frame */
#define USTK_MODE_DWARF 1	/* call-frame information everywhere, frame pointers as fallback */
#define USTK_F_ENTRY 4		/* flag: probe at a function's first instruction */

/*
 * One row of an unwind table: from file offset pc on (up to the next row), the canonical frame
 * address is cfa_reg + cfa_off, the return address is at CFA - 8 (always, on x86-64) and the
 * caller's rbp is unchanged or saved at CFA + rbp_off.
 */
#define USTK_CFA_RSP 0
#define USTK_CFA_RBP 1
#define USTK_CFA_PLT 2		/* PLT stub: rsp + 8, + 8 more after the push at offset 11 */
#define USTK_CFA_END 3		/* return address undefined: the outermost frame (_start) */
#define USTK_CFA_NONE 4		/* no usable rule here (gap between FDEs, unsupported expression) */

#define USTK_RBP_SAME 0
#define USTK_RBP_AT 1

struct ustk_row {
	unsigned int pc;	/* file offset */
	int cfa_off;
	short rbp_off;
	unsigned char cfa_reg;
	unsigned char rbp_rule;
	unsigned int pad;
};

/* A mapped file as the kernel identifies it: the inode and its super block's device. */
struct ustk_file_key {
	unsigned long long ino;
	unsigned int dev;	/* kernel dev_t: major << 20 | minor */
	unsigned int pad;
};

#define USTK_FILE_PENDING 0	/* seen by the walker; the runtime has been asked for its table */
#define USTK_FILE_READY 1	/* rows [start, start + len) of sonde_uw_rows */
#define USTK_FILE_NOCFI 2	/* no table (no .eh_frame, unreadable, table full) */

struct ustk_file {
	unsigned int state;
	unsigned int start;
	unsigned int len;
	unsigned int pad;
};

struct ustk_frame {
	unsigned long long ip;		/* runtime address */
	unsigned long long off;		/* file offset; meaningful when ino != 0 */
	unsigned long long ino;		/* 0: not in a file mapping (JIT code, vdso) */
	unsigned int dev;
	unsigned int pad;
};

#define USTK_STACK_TAIL 1	/* flags: the walk stopped at a file without a table yet */

/*
 * The value of sonde_uw_stacks, keyed by a 64-bit hash of the frames (USTK_HASH_* below, the
 * same in the walker and the runtime).
 */
struct ustk_stack {
	unsigned short nr;
	unsigned short limit;	/* frames asked for */
	unsigned int flags;
	struct ustk_frame f[USTK_MAX_FRAMES];
};

/*
 * When the walker meets a file whose table is not built yet, it stops there and keeps the
 * registers of that frame and the stack memory above them: the runtime finishes the walk in
 * user space with the table it builds meanwhile (runtime/unwind.c).  Same key as the stack.
 */
#define USTK_TAIL_PAGES 4
#define USTK_TAIL_BYTES (USTK_TAIL_PAGES * 4096)
#define USTK_TAIL_RETS 8

struct ustk_tail {
	unsigned long long ip, sp, bp;	/* the registers at the frame where the walk stopped */
	unsigned long long base;	/* data[] holds the memory at base..base + len */
	unsigned int len;
	unsigned int nrets;
	/* a return address equal to tramp (a pending uretprobe's) stands for rets[0], rets[1]... */
	unsigned long long tramp;
	unsigned long long rets[USTK_TAIL_RETS];
	unsigned char data[USTK_TAIL_BYTES];
};

#define USTK_HASH_SEED 0xcbf29ce484222325ULL
#define USTK_HASH_MUL 0x100000001b3ULL

/* Sent on sonde_uw_req the first time the walker meets a file: build its table. */
struct ustk_req {
	unsigned int pid;
	unsigned int dev;
	unsigned long long ino;
	unsigned long long start, end;	/* the mapping, for /proc/PID/map_files */
};

#endif
