/*
 * ast.h - the syntax tree.  The parser builds it only through the ast_* constructors; sema
 * annotates it (types, resolved builtins, maps, variables); codegen reads it.
 */
#ifndef SONDE_AST_H
#define SONDE_AST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "diag.h"
#include "types.h"

enum node_kind {
	/* expressions */
	N_INT,		/* ival */
	N_STR,		/* str, slen */
	N_IDENT,	/* str: a builtin (pid, comm, args, ...), macro or enum constant */
	N_POSITIONAL,	/* ival: $1 .. $N */
	N_POSCOUNT,	/* $# */
	N_VAR,		/* str: $name */
	N_MAP,		/* str: @name; args: key expressions (NULL for none) */
	N_CALL,		/* str: function name; args */
	N_BINOP,	/* op; a, b */
	N_UNOP,		/* op; a */
	N_TERNARY,	/* a ? b : c */
	N_FIELD,	/* a.str or a->str (arrow) */
	N_TUPLE_INDEX,	/* a.ival */
	N_INDEX,	/* a[b] */
	N_TUPLE,	/* args */
	N_CAST,		/* (cast_type) a */
	N_INCDEC,	/* op INCREMENT/DECREMENT, is_post; a is a var or map */
	N_SIZEOF,	/* sizeof(cast_type) or sizeof(a) */
	N_OFFSETOF,	/* offsetof(cast_type, str) */
	/* statements */
	N_EXPR_STMT,	/* a */
	N_ASSIGN,	/* a (var or map) op= b; op 0 for plain '=' */
	N_IF,		/* if (a) body else c (c is a statement list, maybe one N_IF) */
	N_WHILE,	/* while (a) body */
	N_UNROLL,	/* unroll (a) body */
	N_RETURN,
	N_BREAK,
	N_CONTINUE,
	N_FOR,		/* for (a : b) body over map b, or for (a : b..c) body over a range */
};

/* Operators reuse the parser's token numbers (PLUS, EQ, LAND, ...). */

struct builtin;
struct func;
struct map_info;
struct var_info;

struct node {
	enum node_kind kind;
	struct loc loc;
	struct node *next;	/* next in a list: arguments, keys, statements */

	int op;
	bool arrow;		/* N_FIELD via -> */
	bool is_post;		/* N_INCDEC */
	bool positional;	/* a literal that came from $N */
	int64_t ival;
	char *str;
	size_t slen;		/* N_STR: bytes excluding the terminating NUL */
	struct node *a, *b, *c;
	struct node *args;
	struct node *body;
	struct type *cast_type;	/* N_CAST, N_SIZEOF (type form), N_OFFSETOF */
	struct loc op_loc;	/* operator token (binop/unop), function name (call) */

	/* sema's annotations */
	struct type *type;
	const struct builtin *builtin;	/* N_IDENT resolved to a builtin variable */
	const struct func *func;	/* N_CALL resolved to a function */
	struct map_info *map;		/* N_MAP */
	struct var_info *var;		/* N_VAR */
	const struct field *field;	/* N_FIELD */
	uint32_t field_offset;		/* N_FIELD: byte offset in the record */
	int id;				/* printf/format/call-site id assigned by resources */
	bool is_const;			/* folded integer constant in ival */
};

/* One attach point as written, e.g. "uprobe:/bin/bash:readline", and its expansions. */
struct attach_point {
	char *text;
	struct loc loc;
	const struct probe_ops *ops;
	/* filled by the probe type's parse hook */
	char *provider;		/* canonical type name: "tracepoint", "uprobe", ... */
	char *target;		/* category / binary path / interval unit ... */
	char *func;		/* tracepoint name / function / ... */
	bool uses_args;		/* the probe reads `args` (uprobes then read DWARF) */
	void *data;		/* the probe type's own parse results (its ops->data_size bytes) */
	void *priv;		/* the targets expand found (struct probe_targets) */
};

struct probe {
	struct attach_point **aps;
	size_t naps;
	struct node *pred;	/* NULL when absent */
	struct node *body;	/* statement list */
	struct loc loc;
	int index;		/* position in the program */
	/* sema: the addrspace and args record when all attach points agree */
	const struct probe_ops *ops;	/* the first attach point's type */
	struct record *args;	/* tracepoint args record of the first target */
	struct record **all_args;	/* every target's args record (wildcards, lists) */
	size_t nall_args, capall_args;
	bool uses_ustack;	/* sema: the probe walks user stacks (its programs call the walker) */
};

/*
 * A top-level setting (bpftrace 0.20+): `config = { name = value; }` items and
 * `let @m = kind(size);` map declarations, kept in script order.
 */
struct decl {
	char *name;		/* config variable, or the map's "@name" */
	char *kind;		/* map declaration: "hash", "lruhash", ...; NULL for config */
	char *str;		/* config string value, or NULL */
	int64_t ival;		/* config integer value / map size */
	bool has_ival;
	struct loc loc;
	struct decl *next;
};

struct program {
	struct probe **probes;
	size_t nprobes;
	size_t cap;
	struct decl *config;	/* config = { ... } items */
	struct decl *maps;	/* let @m = ...; declarations */
};

struct node *ast_int(int64_t v, const struct loc *loc);
struct node *ast_str(char *s, size_t len, const struct loc *loc);
struct node *ast_node(enum node_kind kind, const struct loc *loc);
struct node *ast_named(enum node_kind kind, char *name, struct node *args, const struct loc *loc);
struct node *ast_binop(int op, struct node *a, struct node *b, const struct loc *loc);
struct node *ast_unop(int op, struct node *a, const struct loc *loc);
struct node *ast_ternary(struct node *a, struct node *b, struct node *c, const struct loc *loc);
struct node *ast_field(struct node *base, char *name, bool arrow, const struct loc *loc);
struct node *ast_index(struct node *base, struct node *index, const struct loc *loc);
struct node *ast_cast(struct type *t, struct node *a, const struct loc *loc);
struct node *ast_incdec(int op, bool post, struct node *a, const struct loc *loc);
struct node *ast_assign(int op, struct node *target, struct node *value, const struct loc *loc);
struct node *ast_stmt(enum node_kind kind, struct node *a, struct node *body, struct node *c,
		      const struct loc *loc);
/* Prepend n to list (statement lists are built right to left). */
struct node *ast_cons(struct node *n, struct node *list);
/* Append n to list. */
struct node *ast_append(struct node *list, struct node *n);
size_t ast_list_len(const struct node *list);

struct attach_point *ast_attach_point(char *text, const struct loc *loc);
struct probe *ast_probe(struct attach_point **aps, size_t naps, struct node *pred,
			struct node *body, const struct loc *loc);
void ast_program_add(struct program *prog, struct probe *p);
/* Append a config item (kind NULL) or a map declaration to the program. */
void ast_program_decl(struct program *prog, char *name, char *kind, char *str, int64_t ival,
		      bool has_ival, const struct loc *loc);

/* Refuse trees deeper than the passes can recurse: 0 or -E2BIG (reported). */
int ast_check_depth(const struct program *prog);
void ast_free_node(struct node *n);	/* n and everything it owns, following next */
void ast_free_attach_points(struct attach_point **aps, size_t n);
void ast_free_probe(struct probe *p);
void ast_free_program(struct program *prog);

/* An operator's spelling ("+", "<<", "&&", ...) from its token. */
const char *ast_op_name(int op);

/* -d ast: an indented dump of the tree. */
void ast_dump(const struct program *prog, FILE *f);

/* grammar/lexer.l: parse a preprocessed script into prog.  0 or -EINVAL (errors reported). */
int parse_script(const char *text, struct program *prog);

#endif
