/*
 * builtins.h - builtin variables and functions are table rows, never string comparisons
 * spread across passes.  Each row says how sema types a use and how codegen emits it.
 * The rows live in src/builtins/{proc,print,agg,str,stack}.c.
 */
#ifndef SONDE_BUILTINS_H
#define SONDE_BUILTINS_H

#include <stdbool.h>

#include <llvm-c/Core.h>

#include "ast.h"

struct sema;
struct cg;

/* Where a builtin may be used. */
enum {
	B_ANY = 0,
	B_REGS = 1 << 0,	/* needs pt_regs: uprobe/kprobe/usdt/profile */
	B_RETURN = 1 << 1,	/* uretprobe/kretprobe only */
	B_TRACEPOINT = 1 << 2,	/* tracepoint only */
};

struct builtin {
	const char *name;
	unsigned where;
	/* The value's type; NULL after reporting an error. */
	struct type *(*type)(struct sema *se, struct node *n);
	/* i64 for scalars, a pointer to memory for aggregate values. */
	LLVMValueRef (*emit)(struct cg *cg, struct node *n);
};

enum func_use {
	F_EXPR,		/* usable anywhere a value is */
	F_STMT,		/* returns nothing: printf, exit, ... */
	F_MAP_VALUE,	/* aggregations: only as `@m[...] = f(...)` */
};

struct func {
	const char *name;
	int min_args, max_args;
	enum func_use use;
	bool unsafe;
	/* Type the call (arguments are typed by the row); NULL after reporting. */
	struct type *(*check)(struct sema *se, struct node *call);
	/* Emit the call; for F_MAP_VALUE rows, map is the target map node. */
	LLVMValueRef (*emit)(struct cg *cg, struct node *call, struct node *map);
};

const struct builtin *builtin_find(const char *name);
const struct func *func_find(const char *name);

extern const struct builtin builtins_proc[], builtins_stack[];
extern const struct func funcs_print[], funcs_agg[], funcs_str[], funcs_stack[], funcs_proc[];
extern const struct func funcs_newer[], funcs_knames[];

/* knames.c: the name tables syscall_name() and signal_name() read */
#define KNAMES_SYSCALL_LEN 32
#define KNAMES_SYSCALL_MAX 1024
#define KNAMES_SIGNAL_LEN 16
#define KNAMES_SIGNAL_MAX 65
struct bpf_object;
struct script;
/* Fill the tables the script uses (after loading, before attaching); 0 or -errno (reported). */
int knames_fill(const struct script *s, struct bpf_object *obj);

/* newer.c: f(@m, key) as f(@m[key]) (has_key, two-argument delete); false when reported. */
bool builtins_map_key_arg(struct sema *se, struct node *n);
extern const struct func funcs_pidns[];
/* sys.c: bswap, strerror, cgroup_path, debugf, numaid, sargN */
extern const struct builtin builtins_sys[];
extern const struct func funcs_sys[];

#endif
