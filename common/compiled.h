/*
 * compiled.h - a compiled script as the runtime sees it: the BPF object's programs and maps and
 * the layouts of what they report, without the syntax tree or the probe types.
 *
 * The compiler fills a struct compiled_script after code generation (src/compiled.c); the runtime
 * (runtime/loader.c, events.c, decode.c, maps.c) loads, attaches, decodes and prints from it
 * alone.  The event and map layouts below are the contract between the generated code and the
 * runtime, so both sides include this header.
 */
#ifndef SONDE_COMPILED_H
#define SONDE_COMPILED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "types.h"

/* The maps every script has, besides its own; their names in the object. */
#define MAP_RINGBUF "sonde_events"
#define MAP_SCRATCH "sonde_scratch"
#define MAP_STACKS "sonde_stacks"
#define MAP_GLOBALS "sonde_globals"
#define MAP_LOST "sonde_lost"
#define MAP_FULL "sonde_full"
#define MAP_SYSNAMES "sonde_sysnames"
#define MAP_SIGNAMES "sonde_signames"

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
	EV_WATCH,	/* id: the program to attach at payload's address (struct event_watch) */
	EV_UNWATCH,	/* unwatch(addr): payload: u64 addr */
};

/* EV_WATCH: a setup program (watchpoint:FUNC+argN) found the address to watch. */
struct event_watch {
	uint64_t addr;
	uint64_t stopped;	/* the process was sent SIGSTOP: continue it once attached */
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

struct attach_set;
struct bpf_link;
struct bpf_program;

/* When a program runs: attached to its event, or once, as BEGIN or END. */
enum compiled_run {
	COMPILED_ATTACH,
	COMPILED_BEGIN,
	COMPILED_END,
};

/* One BPF program of the object. */
struct compiled_prog {
	char *name;		/* program (function) name in the object: p0_1 */
	char *section;		/* its ELF section */
	int prog_type;		/* enum bpf_prog_type */
	int attach_type;	/* enum bpf_attach_type set before load, or -1 for libbpf's own */
	enum compiled_run run;
	struct loc loc;		/* the probe in the script (a verifier rejection points here) */
	char *binary;		/* the user binary it probes (its stacks symbolize), or NULL */
	bool ustack;		/* it calls the user-stack walker (verified again in each program) */
	/* Attach the loaded program (bpf), adding what it creates to set; 0 or -errno
	 * (reported).  NULL for BEGIN/END. */
	int (*attach)(const struct compiled_prog *cp, struct attach_set *set);
	const void *attach_data;	/* the compiler's, for attach */
	/* A program attached at run time (EV_WATCH): attach at addr in process pid; 0 and the
	 * link, or -errno (not reported).  NULL for the others. */
	int (*attach_at)(const struct compiled_prog *cp, uint64_t addr, int pid,
			 struct bpf_link **link);
	struct bpf_program *bpf;	/* set by the loader */
};

/* One of the script's maps (info->id is its index). */
struct compiled_map {
	const struct map_info *info;	/* name, key and value types, aggregation kind */
	char *name;			/* in the object: m0_x */
	uint32_t key_size;		/* bytes of the BPF key (hist/lhist add a u64 bucket) */
	uint32_t value_size;		/* bytes of the value (of one CPU's copy when per-CPU) */
};

struct compiled_script {
	struct compiled_prog *progs;
	size_t nprogs;
	struct compiled_map *maps;
	size_t nmaps;
	const struct fmt_info *fmts;	/* indexed by event_hdr.id */
	size_t nfmts;
	char *const *probe_names;	/* what the `probe` builtin's index names */
	size_t nprobe_names;
	/* the options that shape decoding and the run */
	uint32_t strlen;	/* BPFTRACE_STRLEN */
	uint32_t map_keys_max;	/* BPFTRACE_MAP_KEYS_MAX */
	uint32_t stack_max;	/* BPFTRACE_MAX_STACK */
	uint32_t cat_bytes_max;	/* BPFTRACE_CAT_BYTES_MAX */
	int pid;		/* -p, 0 without */
	bool dwarf_ustack;	/* some user stack is walked with call-frame information */
	bool stops_target;	/* a program sends the target SIGSTOP: never leave it stopped */
};

#endif
