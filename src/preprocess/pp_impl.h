/*
 * pp_impl.h - what the modules of the preprocessor share (private to src/preprocess/; the
 * rest of sonde uses src/preprocess.h).
 *
 *   preprocess.c  the driver: the script's lines, the scan for directives, C definitions
 *   directives.c  one row per directive name: conditionals, #define, #undef, #include, ...
 *   include.c     the header search (-I, the file's own directory, the system directories)
 *   macros.c      the macro and constant tables, pp_lookup, enum constants of headers
 *   tokens.c      C tokens of macro bodies and #if expressions
 *   expand.c      macro expansion (object-like and function-like, # and ##)
 *   eval.c        C integer constant expressions with C's int/long/unsigned rules
 */
#ifndef SONDE_PP_IMPL_H
#define SONDE_PP_IMPL_H

#include <stdbool.h>

#include "diag.h"
#include "preprocess.h"
#include "util.h"

/* ---- macros.c: macro tables ---- */

struct macro {
	struct macro *next;
	char *name;
	char *body;		/* the replacement text; NULL for values (enums, built-ins) */
	bool funclike;		/* NAME(params) body: expanded only where it is called */
	bool variadic;		/* the last parameter is __VA_ARGS__ */
	char **params;
	size_t nparams;
	int state;		/* 0 not evaluated yet, 1 constant, -1 not a constant */
	bool busy;		/* being expanded: not expanded again inside itself */
	struct pp_macro val;
	struct loc loc;		/* script macros: where the body is */
};

#define NBUCKETS 512

struct table {
	struct macro *b[NBUCKETS];
};

extern struct table pp_script_tab;	/* the script's #defines */
extern struct table pp_header_tab;	/* headers' #defines and the compiler's predefined macros */
extern struct table pp_enum_tab;	/* headers' enum constants */
extern struct table pp_value_tab;	/* script enum and built-in values, for pp_lookup */

struct macro *pp_tab_find(struct table *t, const char *name);
/* Add or replace name; body is taken over. */
struct macro *pp_tab_set(struct table *t, const char *name, char *body);
void pp_tab_remove(struct table *t, const char *name);
/* A macro that cpp would expand: the script's first, then headers'. */
struct macro *pp_find_macro(const char *name);
bool pp_macro_defined(const char *name);
/* Evaluate m once (cached); 0, or -ENOENT when it is not a constant. */
int pp_macro_eval(struct macro *m);
/* Every #define of the script must be a constant (or empty, for #ifdef). */
int pp_check_script_macros(void);
/* What a C compiler for x86-64 Linux predefines, for headers' #if. */
void pp_predefine(void);
/* Headers: enum constants of the active C text (values may use macros and earlier ones). */
void pp_collect_enums(const char *text);
void pp_macros_cleanup(void);

/* ---- tokens.c: expression tokens ---- */

enum etok_kind { E_NUM, E_STR, E_IDENT, E_PUNCT };

struct val {
	uint64_t v;
	bool uns;
	uint8_t size;		/* 4 or 8: C's int/long */
};

struct etok {
	enum etok_kind kind;
	char *text;		/* spelling; E_STR: the decoded value */
	struct val val;		/* E_NUM */
	bool blocked;		/* E_IDENT: a macro that must not expand (inside itself) */
};

struct etoks {
	struct etok *t;
	size_t n, cap;
};

void pp_etoks_free(struct etoks *ts);
struct etok *pp_etoks_push(struct etoks *ts, enum etok_kind kind);
/* C tokens of s into ts; -EINVAL on what is not one (a float, '#', a bad escape). */
int pp_tokenize(const char *s, struct etoks *ts);
bool pp_is_punct(const struct etok *t, const char *s);

/* ---- expand.c ---- */

/*
 * Expand macros in in[] into out[].  ifmode handles `defined`.  -EINVAL when a
 * function-like macro is called (its value is not knowable here).
 */
int pp_expand(const struct etoks *in, struct etoks *out, bool ifmode, int depth);

/* ---- eval.c ---- */

/* Evaluate tokens: an integer, or (values only) a string literal.  0 or -EINVAL. */
int pp_evaluate_tokens(const struct etoks *raw, bool ifmode, struct pp_macro *out);
int pp_evaluate(const char *text, bool ifmode, struct pp_macro *out);

/* ---- preprocess.c: files ---- */

struct src {
	const char *text;	/* original text */
	char *clean;		/* comments blanked; newlines inside comments are '\v' */
	char *out;		/* the script: blanked in place; NULL for headers */
	const char *path;	/* NULL for the script */
	char *dir;		/* for #include "..." */
	int dir_index;		/* where in the search list the file was found; -1 */
	size_t *lines;		/* script: offset of each line start */
	size_t nlines;
	struct strbuf ctext;	/* headers: the active C text, for enum constants */
};

struct cond {
	bool parent_active;
	bool taken;		/* some branch was already taken */
	bool seen_else;
	struct loc loc;
};

struct pp {
	const struct pp_options *opts;
	const char **dirs;	/* the search list */
	size_t ndirs;
	int depth;
};


/* The open conditionals of a file, innermost last, and whether its lines are active. */
struct conds {
	struct cond *v;
	size_t n, cap;
	bool active;
};

struct loc pp_loc_at(const struct src *s, size_t off, size_t len);
/* Overwrite out[from, to) with spaces, newlines kept. */
void pp_blank(char *out, size_t from, size_t to);
/* Directives, conditionals and (headers) C text of one file. */
int pp_process(struct pp *pp, struct src *s);

/* ---- directives.c ---- */

/*
 * One directive.  d is its joined text after '#', dstart the offset of '#' in the file, and
 * doff the offset of d[0].  cs->active and the condition stack are updated.
 */
int pp_directive(struct pp *pp, struct src *s, const char *d, size_t dstart, size_t doff,
		 struct conds *cs);

/* ---- include.c ---- */

/* #include NAME: search and read, or note that it is missing; -ENOENT for a missing "NAME". */
int pp_include(struct pp *pp, const struct src *s, const char *name, bool quoted, bool next);
char *pp_dir_of(const char *path);
void pp_include_cleanup(void);

#endif
