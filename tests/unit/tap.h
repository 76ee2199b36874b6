/*
 * tap.h - a minimal TAP producer for sonde's unit tests (run by automake's tap-driver).
 *	plan_lazy();  ok(cond, "name");  is_str(got, want, "name");  is_int(got, want, "name");
 *	skip("reason", "name");  return done_testing();
 */
#ifndef SONDE_TAP_H
#define SONDE_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int tap_ok(int cond, const char *name)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++tap_n, name);
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}
#define ok(cond, name) tap_ok(!!(cond), name)

static inline int is_str(const char *got, const char *want, const char *name)
{
	int c = got && want && strcmp(got, want) == 0;

	tap_ok(c, name);
	if (!c)
		printf("# got:\n#   [%s]\n# want:\n#   [%s]\n", got ? got : "(null)", want ? want : "(null)");
	return c;
}

static inline int is_int(int64_t got, int64_t want, const char *name)
{
	tap_ok(got == want, name);
	if (got != want)
		printf("# got %" PRId64 ", want %" PRId64 "\n", got, want);
	return got == want;
}

static inline void skip(const char *reason, const char *name)
{
	printf("ok %d - %s # SKIP %s\n", ++tap_n, name, reason);
}

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
