/*
 * sema.c - the semantic pass: attach points expanded through their probe type, identifiers
 * resolved (builtins, macros, enum constants), every expression typed, maps given one key and
 * value type, printf-like calls checked against their format.
 *
 * It runs twice over the program.  Maps are global and may be read in one probe and assigned in
 * a later one, so the first pass only infers map types (quietly); the second pass reports
 * errors with those types known and assigns ids to formats.
 *
 * The pass is split by job under src/sema/ (see sema_impl.h for the map of its modules).
 */
#include "sema_impl.h"

#include <errno.h>
#include <stdarg.h>

#include "decls.h"
#include "diag.h"

void sema_error(struct sema *se, const struct loc *loc, const char *fmt, ...)
{
	va_list ap;

	se->errors++;
	if (!se->final)
		return;
	va_start(ap, fmt);
	diag_verror(loc, fmt, ap);
	va_end(ap);
}
int sema_run(struct script *s)
{
	struct sema se = { .s = s };
	size_t i;

	if (decls_apply(s) | sema_expand_probes(s) || diag_error_count())
		return -EINVAL;
	if (s->opts.listing)
		return 0;
	/* Pass 1 infers map types quietly; pass 2 reports. */
	for (se.final = false;; se.final = true) {
		se.errors = 0;
		for (i = 0; i < s->prog.nprobes; i++)
			sema_check_probe(&se, s->prog.probes[i]);
		if (se.final)
			break;
	}
	if (diag_error_count())
		return -EINVAL;
	for (i = 0; i < s->nmaps; i++) {
		struct map_info *mi = s->maps[i];

		if (!mi->value) {
			diag_error(&mi->loc, "Undefined map: %s", mi->name);
			return -EINVAL;
		}
		mi->percpu = type_is_aggregation(mi->value);
	}
	if (decls_check(s))
		return -EINVAL;
	sema_build_progs(s);
	return 0;
}
