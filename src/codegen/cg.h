/*
 * cg.h - code generation state shared by codegen.c, the irb_* helpers and builtin rows.
 *
 * Values: scalars (ints, pointers, kstack ids, ...) are i64 SSA values; aggregate values
 * (strings, tuples, ustacks, inet, ...) are pointers to type->size bytes in the program's
 * per-CPU scratch frame; records and arrays read through a pointer are lazy: the i64 address in
 * the traced memory, read field by field as they are used.
 */
#ifndef SONDE_CG_H
#define SONDE_CG_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/bpf.h>	/* helper ids: BPF_FUNC_* */
#include <llvm-c/Core.h>
#include <llvm-c/DebugInfo.h>

#include "script.h"


struct var_slot {
	const void *var;	/* struct var_info * */
	LLVMValueRef slot;	/* alloca (ints) or frame pointer (aggregates) */
	uint32_t off;		/* frame offset, when the probe keeps its variables there */
	LLVMValueRef root_alloca;	/* a shared integer's copy in the probe's own function */
};

struct cg {
	struct script *s;
	LLVMContextRef ctx;
	LLVMModuleRef mod;
	LLVMModuleRef ustack_lib;	/* the walker, read lazily, linked by cg_ustack_link_body */
	LLVMBuilderRef b;
	LLVMDIBuilderRef di;
	LLVMMetadataRef di_file, di_cu, di_int, di_ptr, di_sp;
	LLVMTypeRef i1, i8, i16, i32, i64, ptr, vd;

	LLVMValueRef *maps;		/* per map_info */
	LLVMValueRef ringbuf, scratch, stacks, globals, lost;
	LLVMValueRef full;		/* sonde_full: maps that refused a key */
	LLVMValueRef sysnames, signames;	/* knames.c: name tables, when used */

	/* the program being generated */
	struct prog_info *pi;
	size_t prog_index;
	const struct probe_target *target;	/* NULL for a shared program */
	LLVMValueRef fn, ctxv, frame;
	LLVMBasicBlockRef ret_bb, break_bb, cont_bb, init_bb;
	uint32_t frame_off, frame_max;
	uint32_t stack_used;		/* bytes of cg_slot() temporaries on the BPF stack */
	struct var_slot *vars;
	size_t nvars, capvars;
	/* a probe with a for loop keeps its variables in the frame (loops.c) */
	bool vars_in_frame;
	struct cg_var_use *uses;	/* which loop bodies use each variable (loops.c) */
	size_t nuses, capuses;
	LLVMValueRef root_frame, root_fn;
	LLVMBasicBlockRef root_init_bb;
	const struct loc *at;		/* the expression being generated: where -k points */
	LLVMValueRef lost_key_fn, lost_key;	/* the function and its sonde_lost key slot */
};

/* codegen.c */
LLVMValueRef cg_expr(struct cg *cg, struct node *n);
/* A pointer to size bytes of scratch memory, 8-byte aligned. */
LLVMValueRef cg_slot(struct cg *cg, uint32_t size);
/* The same on the BPF stack while a budget lasts, for values only accessed at 8-byte-aligned
 * offsets (the verifier rejects a misaligned stack access). */
LLVMValueRef cg_stack_slot(struct cg *cg, uint32_t size);
/* Store value v of type t at dst, converting to the storage type st (ints widen, strings pad). */
void cg_store(struct cg *cg, LLVMValueRef dst, const struct type *st, LLVMValueRef v,
	      const struct type *t);
/* Build the BPF key of a map access (with an extra u64 for hist/lhist buckets when bucket != NULL). */
LLVMValueRef cg_map_key(struct cg *cg, struct node *map, LLVMValueRef bucket);
/*
 * Reserve an event in the ring buffer (a lost one is counted and skips to *done) and write its
 * header; the caller fills payload bytes after the header, then calls cg_event_end.
 */
LLVMValueRef cg_event_begin(struct cg *cg, enum event_kind kind, int id, uint32_t payload,
			    LLVMBasicBlockRef *done);
void cg_event_end(struct cg *cg, LLVMValueRef rec, LLVMBasicBlockRef done);
/* The same for an event sent once in a while (a full map, a failed helper). */
void cg_event_end_rare(struct cg *cg, LLVMValueRef rec, LLVMBasicBlockRef done);
/* The same for an event someone waits for: the reader is woken at once. */
void cg_event_end_urgent(struct cg *cg, LLVMValueRef rec, LLVMBasicBlockRef done);
/* -k: when helper return r (i64) of call site n is negative, send it to be warned about. */
void cg_helper_error(struct cg *cg, struct node *n, LLVMValueRef r);
/*
 * -k at the expression being generated (cg->at): level 1 for helpers whose failure is a
 * surprise, 2 (-kk) for reads and lookups, whose failure gives 0.  cg_helper_check reports r
 * when it is negative; cg_helper_report reports r where the caller knows the helper failed.
 */
void cg_helper_check(struct cg *cg, unsigned level, const char *helper, LLVMValueRef r);
void cg_helper_report(struct cg *cg, unsigned level, const char *helper, LLVMValueRef r);
/* Send an event of kind/id with payload laid out as args_type from the call's arguments. */
void cg_send_event(struct cg *cg, enum event_kind kind, int id, const struct type *args_type,
		   struct node *args, struct node *call);
/* The probe's arguments: argN from pt_regs (or the probe type's hook). */
LLVMValueRef cg_arg(struct cg *cg, int n);
LLVMValueRef cg_regs_load(struct cg *cg, uint32_t offset);
/* 1 when the strings at a and b are equal in their first n bytes (or up to a NUL). */
LLVMValueRef cg_streq(struct cg *cg, LLVMValueRef a, LLVMValueRef b, uint32_t n);
void cg_program(struct cg *cg, struct prog_info *pi, size_t index);
/* Emit a statement list; a variable's storage (alloca or frame slot). */
void cg_block(struct cg *cg, struct node *list);
LLVMValueRef cg_var_slot(struct cg *cg, struct node *var);

/* loops.c: for loops and len() through BPF callbacks */
bool cg_probe_has_loop(const struct probe *p);
/* Note where the probe's variables are used; true for one used both in and out of a loop body
 * (or in two of them), which must live in the frame. */
void cg_scan_vars(struct cg *cg, const struct probe *p);
/* Around a callback helper call in the probe's own function: shared integers to the frame
 * (to_frame) or back into their allocas. */
void cg_sync_vars(struct cg *cg, bool to_frame);
bool cg_var_shared(const struct cg *cg, const void *var);
uint32_t cg_frame_alloc(struct cg *cg, uint32_t size);
void cg_for(struct cg *cg, struct node *n);
LLVMValueRef cg_map_len(struct cg *cg, struct map_info *mi, const struct loc *loc);

/* ustack.c: the user-stack walker (bpf/ustack.bpf.c): cg_ustack_link declares its entry point
 * for the programs to call (the stack's i64 key); cg_ustack_link_body links its code in, which
 * only a module that is compiled needs (not one the object cache has) */
int cg_ustack_link(struct cg *cg);
int cg_ustack_link_body(struct cg *cg);
LLVMValueRef codegen_ustack_call(struct cg *cg, bool dwarf, bool entry, uint32_t limit);

/* irb.c: small wrappers around LLVM-C so builtins never build raw helper calls */
LLVMValueRef irb_const(struct cg *cg, int64_t v);
LLVMValueRef irb_helper_call(struct cg *cg, int helper, LLVMTypeRef ret, LLVMValueRef *args,
			     unsigned nargs);
/* The same, reported by -k (level 1) or -kk (level 2) when it returns a negative value. */
LLVMValueRef irb_helper_call_checked(struct cg *cg, unsigned level, int helper, LLVMTypeRef ret,
				     LLVMValueRef *args, unsigned nargs);
LLVMValueRef irb_map_lookup(struct cg *cg, LLVMValueRef map, LLVMValueRef key);
LLVMValueRef irb_map_update(struct cg *cg, LLVMValueRef map, LLVMValueRef key, LLVMValueRef val,
			    uint64_t flags);
LLVMValueRef irb_map_delete(struct cg *cg, LLVMValueRef map, LLVMValueRef key);
/* Read size bytes from traced memory at addr (i64) in address space as into dst. */
void irb_probe_read(struct cg *cg, LLVMValueRef dst, uint32_t size, LLVMValueRef addr,
		    enum addrspace as);
void irb_probe_read_str(struct cg *cg, LLVMValueRef dst, uint32_t size, LLVMValueRef addr,
			enum addrspace as);
void irb_zero(struct cg *cg, LLVMValueRef dst, uint32_t size);
void irb_copy(struct cg *cg, LLVMValueRef dst, LLVMValueRef src, uint32_t size);
LLVMValueRef irb_gep(struct cg *cg, LLVMValueRef base, uint32_t offset);
LLVMValueRef irb_load(struct cg *cg, LLVMValueRef p, uint32_t size, bool is_signed);
void irb_store(struct cg *cg, LLVMValueRef p, LLVMValueRef v, uint32_t size);
/* i64 -> i64 extended from its low `size` bytes with the given signedness */
LLVMValueRef irb_extend(struct cg *cg, LLVMValueRef v, uint32_t size, bool is_signed);
LLVMValueRef irb_bool(struct cg *cg, LLVMValueRef v);	/* i64 != 0 as i1 */
LLVMValueRef irb_alloca(struct cg *cg, LLVMTypeRef t, const char *name);
LLVMBasicBlockRef irb_block(struct cg *cg, const char *name);
/* Is the current block already terminated (after return/break)? */
bool irb_terminated(struct cg *cg);

struct codegen_opts;
/* objcache.c: compiled objects cached by the hash of the module before its passes. */
struct objcache {
	char *dir, *file;
	uint64_t key[2];
};
/* 0 and the cached object (malloc'd); -ENOENT on a miss (then objcache_store the object);
 * -ENOTSUP when not cached (SONDE_CACHE=0, no cache directory, -c, -d). */
int objcache_lookup(struct objcache *oc, LLVMModuleRef mod, const struct script *s,
		    const struct codegen_opts *opts, void **obj, size_t *size);
void objcache_store(struct objcache *oc, const void *obj, size_t size);
void objcache_free(struct objcache *oc);

#endif
