/*
 * sema_impl.h - what the modules of the semantic pass share with each other (private to
 * src/sema/; builtins and probe types use src/sema.h).
 *
 *   sema.c     the pass: expansion, then two walks over the probes, then the programs
 *   probes.c   attach points expanded through their probe type; one program per target
 *   stmt.c     statements: assignments, conditions, loops
 *   expr.c     expressions: one function per node kind, dispatched by a table
 *   access.c   expressions that read into a value: fields, indexes, casts, sizeof, offsetof
 *   call.c     function calls: arity, safety and placement checks, then the builtin's check
 *   infer.c    map and variable types: keys, values, merging of string sizes
 *   resolve.c  records resolved against script definitions and BTF, constants, $N
 */
#ifndef SONDE_SEMA_IMPL_H
#define SONDE_SEMA_IMPL_H

#include "sema.h"

/* resolve.c */
/* t with its struct resolved to a complete definition (script's, else BTF's) when one exists. */
struct type *sema_resolve_type(struct type *t);
/* Turn n into an integer or string literal (an identifier or $N resolved to a constant). */
void sema_make_int(struct node *n, int64_t v);
void sema_make_str(struct node *n, const char *s);
/* $N: an integer when the parameter is numeric, a string literal otherwise. */
void sema_resolve_positional(struct sema *se, struct node *n);
/* str($N), str($N + k): a string literal; false after an error */
bool sema_fold_str_positional(struct sema *se, struct node *n);

/* infer.c */
/* Same kind of value: ints with ints, strings with strings of any size, equal tuples. */
bool sema_compatible(const struct type *a, const struct type *b);
/* Grow strings (and strings inside tuples) of a to hold b's. */
struct type *sema_merge_types(struct type *a, struct type *b);
/* Type the keys of a map access and check them against the map's key. */
bool sema_map_keys(struct sema *se, struct node *m);
struct var_info *sema_var_find(struct sema *se, const char *name);
struct var_info *sema_var_define(struct sema *se, const char *name, struct type *t);

/* expr.c, access.c, call.c: one function per expression kind */
struct type *sema_field(struct sema *se, struct node *n);
struct type *sema_tuple_index(struct sema *se, struct node *n);
struct type *sema_index(struct sema *se, struct node *n);
struct type *sema_cast(struct sema *se, struct node *n);
struct type *sema_sizeof(struct sema *se, struct node *n);
struct type *sema_offsetof(struct sema *se, struct node *n);
/* A call; is_stmt when it is a statement of its own, target the map it is assigned to. */
struct type *sema_call(struct sema *se, struct node *n, bool is_stmt, struct node *target);

/* stmt.c */
void sema_check_probe(struct sema *se, struct probe *p);

/* probes.c */
int sema_expand_probes(struct script *s);
void sema_build_progs(struct script *s);

#endif
