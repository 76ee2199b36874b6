/*
 * value.h - a value in user space, decoded from what a BPF program reported and ready to
 * print.  Value kinds (stacks, usym, inet, username, ...) are turned into VAL_STR by their
 * row's text hook (runtime/kinds.c) before they reach printf rendering or map output, so the
 * renderers only know integers, strings, tuples and buf() bytes (VAL_BUF, which may hold
 * NULs; VAL_STR of the same bytes also works when there are none), and the text's form.
 * Integer map keys are 64-bit in bpftrace: give them sign- or zero-extended as the script's
 * type says.
 */
#ifndef SONDE_VALUE_H
#define SONDE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/types.h"

enum val_kind {
	VAL_NONE = 0,
	VAL_INT,	/* signed 64-bit */
	VAL_UINT,	/* unsigned 64-bit */
	VAL_STR,	/* NUL-terminated, owned */
	VAL_TUPLE,	/* elems[n], owned */
	VAL_BUF,	/* buf(): buf.data[buf.len], owned, may hold NUL bytes */
	VAL_RECORD,	/* a struct/union value: tuple.elems[i] is rec->fields[i] */
	VAL_ARRAY,	/* a C array value: tuple.elems[nelems] */
};

struct record;

struct val {
	enum val_kind kind;
	/*
	 * VAL_STR of a value kind: its row's form, how the text is laid out in maps, keys and
	 * JSON.  FORM_STACK text is one frame a line without indent.
	 */
	enum value_form form;
	const struct record *rec;	/* VAL_RECORD: field names (the type arena owns it) */
	union {
		int64_t i;
		uint64_t u;
		char *s;
		struct {
			struct val *elems;
			size_t n;
		} tuple;
		struct {
			unsigned char *data;
			size_t len;
		} buf;
	};
};

void val_free(struct val *v);		/* frees contents, not v itself */
struct val val_int(int64_t i);
struct val val_uint(uint64_t u);
struct val val_str(const char *s);	/* copies s */
struct val val_str_own(char *s);	/* takes s */
struct val val_buf(const void *data, size_t len);	/* copies data */
struct val val_tuple(size_t n);		/* n zeroed (VAL_NONE) elements to fill in */
/* VAL_RECORD / VAL_ARRAY with n zeroed elements, laid out as a tuple's. */
struct val val_elems(enum val_kind kind, size_t n);
struct val val_copy(const struct val *v);	/* deep copy */

#endif
