/*
 * cdecl.h - C declarations (struct, union, enum, typedef) written in scripts, laid out for
 * x86-64 SysV: natural alignment, padding, bitfields, anonymous members, packed records.
 *
 * Plain char arrays become type_string(N), as bpftrace reads them as strings.  Function
 * pointers are void *.  A struct or union the script names but does not define is asked of
 * the record resolver (the lead plugs in BTF), or else stays an incomplete record.
 */
#ifndef SONDE_CDECL_H
#define SONDE_CDECL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "types.h"

/* fn returns 0 and sets *out, or -ENOENT. */
void cdecl_set_record_resolver(int (*fn)(const char *name, bool is_union, struct record **out));

/*
 * Parse consecutive top-level definitions at the start of text, whose first character is at
 * *start (line and column in the script, for diagnostics).  Stops before the first token that
 * does not begin a definition (the first probe); the `;` after a struct, union or enum
 * definition may be omitted.  *consumed gets the length of what was parsed.  0, or -EINVAL
 * after diag_error.
 */
int cdecl_parse_definitions(const char *text, const struct loc *start, size_t *consumed);

/* Lookups among the script's definitions: 0 or -ENOENT. */
int cdecl_find_record(const char *name, bool is_union, struct record **out);
int cdecl_find_typedef(const char *name, struct type **out);
int cdecl_find_enum_value(const char *name, int64_t *out);

/*
 * A type name: "struct sockaddr *", "unsigned long", "const char *", "u32", "char [16]".
 * Silent: -ENOENT for an unknown type name, -EINVAL for anything else that is not a type.
 */
int cdecl_parse_type(const char *text, struct type **out);

/* Alignment of a type under x86-64 SysV (records: their largest member's; packed: 1). */
uint32_t cdecl_type_align(const struct type *t);

/* Forget every definition (the types themselves live in the types arena). */
void cdecl_cleanup(void);

#endif
