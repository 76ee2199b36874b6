/* sema.h - the semantic pass's interface for builtin and probe modules. */
#ifndef SONDE_SEMA_H
#define SONDE_SEMA_H

#include "script.h"

struct var_info {
	char *name;
	struct type *type;
	struct var_info *next;
};

struct sema {
	struct script *s;
	struct probe *probe;		/* the probe being checked */
	struct attach_point *ap;	/* its first attach point */
	const struct probe_ops *ops;
	struct record *args;		/* tracepoint args record, if any */
	bool final;			/* the last pass: report errors and assign ids */
	struct var_info *vars;		/* the probe's scratch variables */
	int loop_depth;
	unsigned errors;
};

/* Type an expression; NULL after an error (already reported). */
struct type *sema_expr(struct sema *se, struct node *n);
/* Report an error in the final pass only (earlier passes only infer map types). */
void sema_error(struct sema *se, const struct loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Require an integer argument; false (reported) otherwise. */
bool sema_require_int(struct sema *se, struct node *call, struct node *arg);
/* A string literal argument (after positional substitution); NULL (reported) otherwise. */
const char *sema_literal_str(struct sema *se, struct node *call, struct node *arg);
/* An integer literal argument (after folding); false (reported) otherwise. */
bool sema_literal_int(struct sema *se, struct node *call, struct node *arg, int64_t *v);
/* The declared value type of a map, inferring it from value if not set yet. */
bool sema_map_assign(struct sema *se, struct node *map, struct type *value, const struct loc *loc);
/* Is this an integer constant (folded)?  Sets *v. */
bool sema_const_int(struct sema *se, struct node *n, int64_t *v);
/* The type used to store a value of t in a map, variable or event (ints widened). */
struct type *sema_storage_type(struct sema *se, struct type *t);

#endif
