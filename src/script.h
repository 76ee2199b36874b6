/*
 * script.h - a compiled script: the tree plus everything sema decided about it (maps, format
 * strings, programs to build) and the options that shape it.  Shared by sema and codegen; the
 * runtime sees only the struct compiled_script (common/compiled.h) that compiled_fill makes of it.
 */
#ifndef SONDE_SCRIPT_H
#define SONDE_SCRIPT_H

#include <stdbool.h>
#include <stdint.h>

#include "ast.h"
#include "compiled.h"
#include "probes/probe.h"
#include "types.h"

/* One BPF program: a probe block for one attach point and one target (or all of them). */
struct prog_info {
	struct probe *probe;
	struct attach_point *ap;
	struct probe_targets *targets;	/* owned by ap->priv */
	size_t target;			/* index, or SIZE_MAX for a shared program */
	char *name;			/* BPF program name: p0_1 */
	char *probe_name;		/* for the `probe` builtin */
	struct record *args;		/* tracepoint args of this target */
	/* A setup program (probe_ops.setup), of this type, for program `body` (its index). */
	const struct probe_ops *setup;
	size_t body;
};

struct script_options {
	char **params;		/* positional parameters $1.. */
	int nparams;
	bool unsafe;
	uint32_t strlen;	/* BPFTRACE_STRLEN, default 64 */
	uint32_t map_keys_max;	/* BPFTRACE_MAP_KEYS_MAX, default 4096 */
	uint32_t stack_max;	/* BPFTRACE_MAX_STACK (frames), default 127 */
	int ustack_unwind;	/* --ustack / SONDE_USTACK: how a plain ustack is walked */
	int pid;		/* -p */
	int cpid;		/* -c child */
	bool listing;		/* -l: expand only */
	uint32_t cat_bytes_max;	/* BPFTRACE_CAT_BYTES_MAX, default 10240 */
	/* -k: warn when a helper fails at run time (1: updates, deletes, comm, signal; -kk, 2:
	 * also reads and map lookups, which give 0 when they fail), as bpftrace 0.17 does */
	unsigned helper_errors;
};

struct script {
	struct program prog;
	struct script_options opts;

	struct map_info **maps;
	size_t nmaps, capmaps;
	struct fmt_info *fmts;
	size_t nfmts, capfmts;
	char **probe_names;
	size_t nprobe_names, capprobe_names;
	struct prog_info *progs;
	size_t nprogs, capprogs;

	bool has_begin, has_end;
	bool uses_ustack, uses_kstack;	/* set by sema: the stack machinery is only built if used */
	bool uses_dwarf_ustack;
	bool uses_syscall_names, uses_signal_names;	/* knames.c's tables */
	unsigned nattach;	/* probes to report in "Attaching N probes..." */
};

void script_init(struct script *s);
void script_free(struct script *s);
struct map_info *script_map(struct script *s, const char *name);
int script_add_fmt(struct script *s, enum event_kind kind, const char *fmt, struct type *args,
		   struct type **arg_types, uint32_t nargs);
int script_add_probe_name(struct script *s, const char *name);

/* Bytes of a map's BPF key (hist/lhist add a u64 bucket) and of its (per-CPU) value. */
uint32_t script_map_key_size(const struct map_info *mi);
uint32_t script_map_value_size(const struct map_info *mi);

/* compiled.c: the runtime's description of the script, after codegen (see common/compiled.h). */
void compiled_fill(struct compiled_script *cs, struct script *s);
void compiled_free(struct compiled_script *cs);

/* src/sema/: resolve and type the whole program; 0 or -EINVAL (errors reported). */
int sema_run(struct script *s);

#endif
