/*
 * elf.h - ELF symbols and uprobe file offsets (see elf.c and DESIGN.md "Uprobe offsets").
 *
 * An elf_file is one opened binary: its program headers (the only source of file offsets) and
 * a function-symbol table taken from its .symtab, or, when it is stripped, from a separate
 * debug file, plus its .dynsym.  Everything returns 0 or -errno; -ENOENT means "not found".
 */
#ifndef SONDE_ELF_H
#define SONDE_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_file;

struct elf_sym {
	const char *name;	/* without any @VERSION suffix */
	const char *demangled;	/* NULL if not a C++ name (or demangling is disabled) */
	uint64_t vaddr;		/* st_value: a link-time virtual address, NOT a file offset */
	uint64_t size;		/* 0 when unknown */
};

/* Open path (kept open until elf_close).  -ENOEXEC if it is not an ELF file. */
int elf_open(const char *path, struct elf_file **out);
void elf_close(struct elf_file *ef);

/*
 * Function symbols (STT_FUNC and STT_GNU_IFUNC, defined ones only), .symtab first then .dynsym,
 * each name once (a global or default-version definition wins over a weak or hidden-version one).
 * A nonzero return of cb stops the walk and is returned.
 */
int elf_sym_foreach(struct elf_file *ef, int (*cb)(const struct elf_sym *sym, void *ctx), void *ctx);

/*
 * Look a function up by exact name: the symbol name ("_ZN2Ns3Cls1fEi", "malloc"; "name@VER"
 * also accepted), else its demangled name ("Ns::Cls::f(int)"), else the demangled name without
 * its parameter list ("Ns::Cls::f") when that names one address.  -ENOENT if nothing matches,
 * -ENOTUNIQ if the demangled name denotes several functions at different addresses.
 */
int elf_sym_find(struct elf_file *ef, const char *name, struct elf_sym *out);
/* Any defined symbol (variables too) by its exact name: its vaddr.  -ENOENT if none. */
int elf_object_find(struct elf_file *ef, const char *name, uint64_t *vaddr, uint64_t *size);

/* The PT_LOAD rule: -ENOENT if no segment holds the address (or offset). */
int elf_vaddr_to_offset(struct elf_file *ef, uint64_t vaddr, uint64_t *off);
int elf_offset_to_vaddr(struct elf_file *ef, uint64_t off, uint64_t *vaddr);

/*
 * The file offset of name+add, ready for a uprobe.  -ERANGE if add >= the symbol's size (when
 * the size is known), -ENOENT / -ENOTUNIQ as elf_sym_find, -ENOENT if no segment holds it.
 */
int elf_sym_offset(struct elf_file *ef, const char *name, uint64_t add, uint64_t *off);

/* The function symbol containing vaddr, and vaddr's distance from its start.  -ENOENT if none. */
int elf_sym_at(struct elf_file *ef, uint64_t vaddr, struct elf_sym *out, uint64_t *delta);

/*
 * The source file and line of vaddr from DWARF line tables (the binary's own, or its debug
 * file's).  *file is malloc'ed.  -ENOENT without line information for vaddr, -ENOTSUP when sonde
 * was built without libdw.
 */
int elf_addr_to_line(struct elf_file *ef, uint64_t vaddr, char **file, int *line);
/* Call cb with the first address of each block of code of FILE:LINE (DWARF line table):
 * 0, -ENOENT (no code there), -ENODATA (no DWARF), -ENOTSUP (built without libdw). */
int elf_line_foreach(struct elf_file *ef, const char *file, int line,
		     int (*cb)(uint64_t vaddr, void *arg), void *arg);
/* Call cb with the entry of every inlined copy of function name (DWARF inline information):
 * how many, -ENODATA (no DWARF) or -ENOTSUP (built without libdw).  In inlines.c: an index of
 * every copy, built once per DWARF file and cached by build id. */
int elf_inline_foreach(struct elf_file *ef, const char *name, int (*cb)(uint64_t vaddr, void *arg),
		       void *arg);
/* The ELF file whose DWARF elf_dwarf() reads (the debug file when there is one), found without
 * reading the DWARF: its path and open fd.  -ENOTSUP when built without libdw. */
int elf_dwarf_file(struct elf_file *ef, const char **path, int *fd);
/* inlines.c's per-file index: where elf.c keeps it, and how elf_close frees it */
struct elf_inlines;
struct elf_inlines **elf_inlines_slot(struct elf_file *ef);
void elf_inlines_free(struct elf_inlines *ix);

/* One inlined call at an address: the inlined function and where in it the address is. */
struct elf_inline {
	char *name;		/* demangled */
	const char *file;	/* NULL when unknown */
	int line;
};
/*
 * The calls inlined at vaddr, innermost first, then (name NULL) the place in the function
 * they are inlined into, from DWARF (the binary's or its debug file's);
 * cb returning non-zero stops.  The count, -ENOENT without DWARF for vaddr.
 */
int elf_inlines_at(struct elf_file *ef, uint64_t vaddr,
		       int (*cb)(const struct elf_inline *in, void *ctx), void *ctx);

/*
 * The DWARF of the binary (libdw's Dwarf), or of its separate debug file when the binary has
 * none (found as for symbols, see elf_set_debug_file).  Owned by ef; NULL without debug info or
 * when sonde was built without libdw.
 */
struct Dwarf;
struct Dwarf *elf_dwarf(struct elf_file *ef);

bool elf_is_pie_or_dyn(struct elf_file *ef);
/* Lower-case hex of the NT_GNU_BUILD_ID note, or NULL if there is none. */
const char *elf_build_id(struct elf_file *ef);
const char *elf_path(struct elf_file *ef);
/* The file the symbols came from when it is not the binary itself (a debug file), else NULL. */
const char *elf_debug_path(struct elf_file *ef);

/*
 * The raw contents and address of a section of the real binary (e.g. ".note.stapsdt").
 * data stays valid until elf_close.  -ENOENT if there is no such section (or it has no bits).
 */
int elf_section(struct elf_file *ef, const char *name, const void **data, size_t *size, uint64_t *addr);

/* Read len bytes at file offset off of the real binary.  -EIO on a short read. */
int elf_read(struct elf_file *ef, uint64_t off, void *buf, size_t len);

/*
 * Separate debug files, consulted only for a binary without .symtab, in this order: the file named
 * by elf_set_debug_file (sonde --debug-file) if its build id matches (or the binary has none),
 * ROOT/.build-id/xx/rest.debug, then .gnu_debuglink (CRC checked) in the binary's directory, its
 * .debug/ subdirectory and ROOT/<binary's directory>/.  elf_set_debug_root
 * replaces /usr/lib/debug as the root of the .build-id/ tree and of the .gnu_debuglink search.
 * Both copy their argument; NULL restores the default.  They affect later elf_open calls.
 */
void elf_set_debug_file(const char *path);
void elf_set_debug_root(const char *dir);

#endif
