/*
 * script.h - a compiled script: the tree plus everything sema decided about it (maps, format
 * strings, programs to build) and the options that shape it.  Shared by sema, codegen and the
 * runtime, which decodes events and maps with the same types.
 */
#ifndef SONDE_SCRIPT_H
#define SONDE_SCRIPT_H

#include <stdbool.h>
#include <stdint.h>

#include "ast.h"
#include "probes/probe.h"
#include "types.h"

/* Events sent through the ring buffer: a header, then the payload laid out as fmts[id].args. */
enum event_kind {
	EV_PRINTF = 1,
	EV_EXIT,
	EV_PRINT_MAP,	/* payload: u64 top, u64 div */
	EV_CLEAR_MAP,
	EV_ZERO_MAP,
	EV_TIME,	/* fmts[id].fmt is the strftime format */
	EV_CAT,
	EV_SYSTEM,
	EV_PRINT_VALUE,	/* print(expr) */
	EV_JOIN,	/* payload: char[16][strlen]; fmts[id].fmt is the separator */
	EV_MAP_FULL,	/* id: the map that refused a new key (sent once per map) */
	EV_HELPER_ERROR,	/* -k: payload: s64 helper return; fmts[id]: helper name, loc */
};

struct event_hdr {
	uint32_t kind;
	uint32_t id;
};

/* Indexes in the globals array map, written by user space before attaching. */
enum {
	GLOBAL_START_NS = 0,
	GLOBAL_COUNT = 2,
};

enum map_decl_kind {
	MAP_DECL_NONE,
	MAP_DECL_HASH,
	MAP_DECL_LRU_HASH,
	MAP_DECL_PERCPU_HASH,
	MAP_DECL_PERCPU_LRU_HASH,
};

struct map_info {
	char *name;		/* "@x" or "@" */
	struct loc loc;		/* first use */
	int id;
	struct type *key;	/* key as stored (ints widened to 8 bytes), NULL without keys */
	uint32_t nkeys;		/* 0 without keys */
	struct type **key_parts;/* each key part as stored */
	struct type **key_shown;/* each key part as first written (for messages) */
	struct type *value;	/* value type: ints widened; aggregations by kind */
	int64_t lhist_min, lhist_max, lhist_step;
	bool percpu;		/* aggregations live in per-CPU maps */
	/* `let @m = lruhash(N);` (decls.c): kind and size; MAP_DECL_NONE for the defaults */
	enum map_decl_kind decl_kind;
	uint32_t max_entries;
	struct loc decl_loc;
};

/* printf/system/cat/time/print(value) call sites: the format and the argument layout. */
struct fmt_info {
	enum event_kind kind;
	char *fmt;
	struct type *args;	/* tuple of the arguments as sent */
	struct type **arg_types;/* the arguments' types as written (for decoding) */
	uint32_t nargs;
	struct loc loc;		/* EV_HELPER_ERROR: the call, for the warning */
};

/* One BPF program: a probe block for one attach point and one target (or all of them). */
struct prog_info {
	struct probe *probe;
	struct attach_point *ap;
	struct probe_targets *targets;	/* owned by ap->priv */
	size_t target;			/* index, or SIZE_MAX for a shared program */
	char *name;			/* BPF program name: p0_1 */
	char *probe_name;		/* for the `probe` builtin */
	struct record *args;		/* tracepoint args of this target */
	struct bpf_program *bpf;	/* set by the loader */
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
	bool helper_errors;	/* -k: warn when a map delete fails at run time */
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

/* sema.c: resolve and type the whole program; 0 or -EINVAL (errors reported). */
int sema_run(struct script *s);

#endif
