/*
 * preprocess.h - the script's preprocessor: shebang, #include, #define, conditionals and the
 * top-level C definitions that precede the first probe.
 *
 * preprocess() runs before the lexer.  It returns the script with everything it consumed
 * replaced by spaces (newlines kept), so the lexer sees only probes at their original
 * line:column.  Constants are then looked up by name with pp_lookup; C types through
 * cdecl.h.
 */
#ifndef SONDE_PREPROCESS_H
#define SONDE_PREPROCESS_H

#include <stddef.h>
#include <stdint.h>

/* From -I DIR and --include FILE, in command-line order. */
struct pp_options {
	const char **include_dirs;
	size_t ninclude_dirs;
	const char **include_files;
	size_t ninclude_files;
};

/*
 * 0, or -EINVAL after reporting located errors through diag_error (the caller has done
 * diag_set_source).  *out is always set on success and is the caller's to free.
 * A header that cannot be found is not an error: sonde falls back on its built-in
 * constants (the machine may have no kernel headers); -v says which header was missing.
 */
int preprocess(const char *src, const struct pp_options *opts, char **out);

enum pp_kind { PP_INT, PP_STR };

struct pp_macro {
	enum pp_kind kind;
	int64_t value;		/* PP_INT */
	char *str;		/* PP_STR: the string's value, escapes decoded */
};

/*
 * A constant by name: the script's #defines first, then headers' macros and enum constants,
 * then the script's enum constants (cdecl), then sonde's built-in kernel constants (AF_INET,
 * SO_REUSEPORT, ECONNREFUSED, ...).
 * -ENOENT if there is no such constant, or its macro is not a constant (function-like,
 * a type, ...).  *out stays valid until pp_cleanup.
 */
int pp_lookup(const char *name, const struct pp_macro **out);

/*
 * Evaluate a C integer constant expression (casts, suffixes, the C operators, ?:,
 * sizeof(type)) whose identifiers are macros, enum constants or built-in constants.
 * 0, or -EINVAL.
 */
int pp_eval(const char *expr, int64_t *out);

/* Frees every macro, header and C definition (cdecl_cleanup); types stay in their arena. */
void pp_cleanup(void);

/* kconsts.c: the built-in table, sorted by name.  0 or -ENOENT. */
int kconst_lookup(const char *name, int64_t *value);
size_t kconst_count(void);
const char *kconst_name(size_t i);

#endif
