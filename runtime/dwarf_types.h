/*
 * dwarf_types.h - C types from a traced binary's DWARF: uprobe `args`, `-lv` parameter lists,
 * and struct/union definitions for casts in uprobe probes (see dwarf_types.c).
 *
 * Files are opened once and kept until dwarf_types_cleanup; records live in the type arena.
 * Everything returns 0 or -errno: -ENODATA when the file has no debug info (neither its own nor
 * a separate debug file's), -ENOENT when DWARF has no such function or type.
 */
#ifndef SONDE_DWARF_TYPES_H
#define SONDE_DWARF_TYPES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct record;

/* The name of every uprobe args record (bpftrace prints `struct uprobe_args *`). */
#define DWARF_ARGS_RECORD "uprobe_args"

/*
 * The args record of the function whose code is at file offset off in path: one field per
 * parameter passed in an integer register (SysV x86-64: rdi, rsi, rdx, rcx, r8, r9), at that
 * register's offset in struct pt_regs, typed from DWARF.  The same record for the same function.
 */
int dwarf_types_args(const char *path, uint64_t off, struct record **out);
/* Why rec (an args record) has no field name: a message tail such as ": it is passed on the
 * stack", or "" when the function has no such parameter at all. */
const char *dwarf_types_missing_param(const struct record *rec, const char *name);
/* Whether two args records have the same parameters (names, types and registers). */
bool dwarf_types_args_equal(const struct record *a, const struct record *b);

/* -lv: the parameters of the function at vaddr in path, "    TYPE NAME" per line, with the C
 * type spelled as bpftrace 0.17 spells it.  Nothing is printed without DWARF. */
int dwarf_types_print_params(const char *path, uint64_t vaddr, FILE *out);

/*
 * Struct and union definitions are looked up in the binaries of the probe being checked: set
 * them (paths are copied; n = 0 clears), then find a definition by tag name.
 */
void dwarf_types_scope(const char *const *paths, size_t n);
int dwarf_types_find_record(const char *name, bool is_union, struct record **out);

void dwarf_types_cleanup(void);

#endif
