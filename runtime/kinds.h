/*
 * kinds.h - the table of value kinds with their own printed form (struct value_kind in
 * common/types.h): what a builtin that makes one calls, and where the runtime finds a row.
 */
#ifndef SONDE_KINDS_H
#define SONDE_KINDS_H

#include "common/types.h"

/* kind's row, NULL when kind has no printed form of its own (ints, strings, maps, ...). */
const struct value_kind *kind_find(enum type_kind kind);
/* A new type of value kind kind (one with a row): its size and row set. */
struct type *kind_type(enum type_kind kind);

#endif
