/* decls.h - config blocks and map declarations applied to a script (decls.c). */
#ifndef SONDE_DECLS_H
#define SONDE_DECLS_H

#include <errno.h>
#include <stddef.h>

#include "script.h"

/* Before typing: config values into the options, declared kinds and sizes onto the maps. */
int decls_apply(struct script *s);
/* After typing: a per-CPU declaration needs an aggregation. */
int decls_check(struct script *s);

#endif
