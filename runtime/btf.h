/*
 * btf.h - kernel types from the running kernel's BTF (/sys/kernel/btf/vmlinux), converted into
 * sonde's records and types (common/types.h) so scripts can dereference kernel structs.
 */
#ifndef SONDE_BTF_H
#define SONDE_BTF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct btf;
struct record;
struct type;

/* Whether kernel BTF can be loaded (quiet). */
bool btf_available(void);

/* The kernel's BTF, parsed once (quiet); NULL when the kernel has none. */
const struct btf *btf_vmlinux(void);

/*
 * btf_core.c: the BTF file libbpf relocates an object's CO-RE accesses against.  The path (a
 * memfd, created once; NULL if that fails) goes to bpf_object__open_mem(); btf_core_fill()
 * then writes into it the kernel's layout of every named struct of the object's own BTF
 * (bpf_object__btf()), when the object (obj, size: its ELF bytes) has CO-RE relocations,
 * before bpf_object__load() reads it.
 */
const char *btf_core_path(void);
int btf_core_fill(const struct btf *local, const void *obj, size_t size);
void btf_core_cleanup(void);

/*
 * A copy of the ELF object (obj, size) whose placeholder kfunc calls (USTK_KFUNC_*,
 * bpf/ustack.h) are resolved against the kernel's BTF; NULL when it has none, to be loaded as
 * it is.  The caller frees the copy after bpf_object__open_mem().
 */
void *btf_kfuncs_resolve(const void *obj, size_t size);

/*
 * The kernel struct (or union) NAME as a record: members at their byte offsets, bitfields with
 * bit_offset/bit_width (read (bit_offset + bit_width + 7) / 8 bytes at offset), anonymous
 * members with a NULL name, arrays of char as strings.  Records are shared and cached by BTF
 * id, so recursive types terminate.  -ENOENT if there is no such type; a diagnostic and -errno
 * if kernel BTF is missing.
 */
int btf_find_record(const char *name, bool is_union, struct record **out);

/* The type a kernel typedef (or base integer type) names: "u32", "pid_t", "__be16". */
int btf_find_typedef(const char *name, struct type **out);

/* The value of an enumerator of any kernel enum: "TCP_ESTABLISHED", "IPPROTO_TCP". */
int btf_find_enum_value(const char *name, int64_t *value);

/*
 * Free libbpf's BTF and the id cache (records stay in the type arena).  Call it before
 * types_free_all: the cache points into the arena.
 */
void btf_cleanup(void);
void btf_forget_types(void);

#endif
