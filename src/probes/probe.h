/*
 * probe.h - the one interface every probe type implements (one file each under src/probes/).
 *
 * A probe type parses its attach points, expands wildcards into targets, describes what its
 * programs see (context layout, args, address space) and attaches a loaded program.  Adding a
 * probe type means a new file and one row in probe.c's table; codegen is not touched.
 */
#ifndef SONDE_PROBE_H
#define SONDE_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/bpf.h>

#include "ast.h"
#include "compiled.h"
#include "runtime/attach.h"

struct bpf_program;
struct bpf_link;
struct cg;
struct prog_info;

/* What a program of this probe type gets as its context. */
enum probe_ctx {
	CTX_NONE,	/* BEGIN/END: nothing */
	CTX_TRACEPOINT,	/* the tracepoint's record */
	CTX_PT_REGS,	/* uprobes, kprobes, usdt */
	CTX_PERF,	/* struct bpf_perf_event_data (starts with pt_regs) */
};

/* One concrete place a program attaches to, produced by expand. */
struct probe_target {
	char *name;		/* full probe name for the `probe` builtin, e.g. tracepoint:syscalls:sys_enter_read */
	char *path;		/* uprobe/usdt: binary; tracepoint: category */
	char *func;		/* function / tracepoint name / event */
	uint64_t offset;	/* uprobe/usdt: file offset; perf: period/frequency */
	uint64_t semaphore;	/* usdt: semaphore file offset or 0 */
	uint64_t cookie;	/* shared programs: the function's id in the script's name table */
	void *priv;		/* type-specific (usdt argument specs, ...) */
};

/* The programs built for one attach point: usually one target per program. */
struct probe_targets {
	struct probe_target *v;
	size_t n, cap;
	/* All targets share one program (uprobe wildcards over one binary: one multi-link). */
	bool shared_program;
	/*
	 * What expand could not find ("Could not resolve symbol: ..."), with no targets: a
	 * warning when other probes of the script attach, as bpftrace skips such a function
	 * (silently), the error when nothing else would (sema_expand_probes).
	 */
	char *missing;
};

struct probe_ops {
	const char *name;		/* canonical: "tracepoint" */
	const char *alias;		/* "t", or NULL */
	const char *alias2;		/* second spelling: "uretprobe" for ur, ... */
	enum probe_ctx ctx;
	enum addrspace as;		/* where pointers read by default point */
	enum bpf_prog_type prog_type;
	const char *section;		/* the programs' ELF section */
	/* A program shared by all targets (expand set shared_program): its expected attach type
	 * (enum bpf_attach_type).  Required by the types whose expand shares programs. */
	int shared_attach_type;
	enum compiled_run run;		/* COMPILED_BEGIN/END: run once, never attached */
	bool is_special;		/* BEGIN / END */
	bool no_signal;			/* signal() refused, as bpftrace refuses it (watchpoint) */
	/* -p does not filter it to the process: its programs do not run in one (interval,
	 * BEGIN/END) */
	bool any_process;
	bool is_return;			/* uretprobe/kretprobe: retval allowed */
	bool has_args;			/* arg0..argN from pt_regs */
	bool has_stack_args;		/* sargN: a function's arguments on the stack */

	/* Bytes of the type's own parse results: ap->data is allocated zeroed before parse and
	 * freed with the attach point, after free_data (if set) has freed what it points to. */
	size_t data_size;
	void (*free_data)(void *data);
	/* Is the attach point on a function's first instruction, before its frame exists? */
	bool (*at_entry)(const struct attach_point *ap);

	/* Split "type:rest" into ap's fields; 0 or -EINVAL (reported with ap->loc). */
	int (*parse)(struct attach_point *ap);
	/* Resolve ap into targets (wildcards expanded, offsets computed); errors reported. */
	int (*expand)(struct attach_point *ap, struct probe_targets *out);
	/* The `args` record (tracepoints), or NULL when the type has none. */
	struct record *(*args)(struct attach_point *ap, const struct probe_target *t);
	/* Load the value of argN (usdt: from its argument spec); NULL to use pt_regs. */
	void *(*emit_arg)(struct cg *cg, const struct probe_target *t, int n);
	/* Attach prog to the targets (all of them when shared_program, else t only). */
	int (*attach)(struct attach_point *ap, const struct probe_targets *ts,
		      const struct probe_target *t, struct bpf_program *prog, struct attach_set *set);
	/* -l: print matching probe names; verbose adds details. */
	int (*list)(const char *pattern, bool verbose, FILE *out);

	/*
	 * Two programs per target (watchpoint:FUNC+argN): when setup returns a type for ap, every
	 * target also gets a program of that type (prog_info.setup), attached at start instead of
	 * the probe's own.  Its code is the setup type's emit_setup, not the probe's body; it
	 * reports at run time (EV_WATCH) the address where attach_at then attaches the probe's
	 * program, in process pid: 0 and the link, or -errno (not reported: -ENOSPC is the
	 * runtime's message).
	 */
	const struct probe_ops *(*setup)(const struct attach_point *ap);
	void (*emit_setup)(struct cg *cg, const struct prog_info *pi);
	int (*attach_at)(struct attach_point *ap, const struct probe_target *t,
			 struct bpf_program *prog, uint64_t addr, int pid, struct bpf_link **link);
};

/* Set by main before sema: -p PID (0 when absent) and the kernel's uprobe multi-link support. */
extern int probe_pid;
extern bool probe_uprobe_multi;
extern bool probe_dry_run;	/* -d: check and compile only, nothing is attached */
/* -c CMD as given (NULL without), and the child's pid once it is forked (0 before). */
extern const char *probe_cmd;
extern int probe_child_pid;

/* perf.c: the online CPUs (/sys/devices/system/cpu/online) as a bitmap of *n; 0 or -errno. */
int perf_online_cpus(bool **online, int *n);

/* The table of probe types: lookup by name or alias. */
const struct probe_ops *probe_ops_find(const char *name);
/* Whether an attach point of prog has type a or b (before sema: from the text). */
struct program;
bool probe_program_uses(const struct program *prog, const struct probe_ops *a,
			const struct probe_ops *b);
/* Struct casts in probe p may use the DWARF types of the binaries it probes (uprobe, usdt):
 * tell runtime/dwarf_types.c which they are. */
void probe_dwarf_scope(const struct probe *p);
/* Parse the type prefix of ap->text and call its parse hook. */
int probe_parse_attach_point(struct attach_point *ap);
void probe_targets_add(struct probe_targets *ts, const char *name, const char *path,
		       const char *func, uint64_t offset);
void probe_targets_free(struct probe_targets *ts);
/*
 * -l TYPE:BINARY[:...]:PATTERN for the probe types that list a binary's contents: open BINARY (a
 * path, or a library name resolved like the dynamic loader does).  *glob is the last part, or
 * NULL for all.  1 when there is nothing to list (no binary given), 0, or -errno (reported).
 */
struct elf_file;
int probe_list_binary(const char *pattern, struct elf_file **ef, char **path, char **glob);

/* -l [pattern] over every probe type. */
int probe_list(const char *pattern, bool verbose, FILE *out);
/* Split "a:b:c" honouring quotes; returns the number of parts (at most max). */
int probe_split(const char *text, char **parts, int max);

extern const struct probe_ops probe_begin, probe_end, probe_tracepoint, probe_uprobe,
	probe_uretprobe, probe_usdt, probe_interval, probe_profile, probe_software,
	probe_hardware, probe_kprobe, probe_kretprobe, probe_watchpoint, probe_asyncwatchpoint;

#endif
