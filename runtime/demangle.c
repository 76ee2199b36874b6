/*
 * demangle.c - C++ name demangling through libstdc++ (linked with -lstdc++).
 *
 * __cxa_demangle has C linkage (it is part of the Itanium C++ ABI), so C can declare and call
 * it directly; only names starting with "_Z" are handed to it, so C names stay untouched.
 */
#include "runtime/demangle.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

char *demangle(const char *mangled)
{
	int status = 0;
	char *d, *r;

	if (!mangled || strncmp(mangled, "_Z", 2) != 0)
		return NULL;
	d = __cxa_demangle(mangled, NULL, NULL, &status);
	if (status != 0 || !d) {
		free(d);
		return NULL;
	}
	/* hand out memory from our allocator so callers free it like any other string */
	r = xstrdup(d);
	free(d);
	return r;
}

static bool env_true(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0") != 0 && strcmp(v, "false") != 0;
}

bool demangle_enabled(void)
{
	static int enabled = -1;

	if (enabled < 0)
		enabled = !(env_true("BPFTRACE_NO_CPP_DEMANGLE") || env_true("SONDE_NO_CPP_DEMANGLE"));
	return enabled;
}
