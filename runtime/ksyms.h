/*
 * ksyms.h - kernel symbols from /proc/kallsyms, for kstack/ksym output and address lookups.
 */
#ifndef SONDE_KSYMS_H
#define SONDE_KSYMS_H

#include <stdint.h>

struct strbuf;

/*
 * Append the symbol holding addr as bpftrace prints it in a kstack: "name+off" (off in
 * decimal), or the address as "0x..." when no symbol precedes it.  0, or -errno when
 * /proc/kallsyms cannot be read (the address is still written).
 */
int ksyms_resolve(uint64_t addr, struct strbuf *out);
/* Only the name (bpftrace's ksym()), or "0x..." when unknown. */
int ksyms_resolve_name(uint64_t addr, struct strbuf *out);
/* The address of a kernel symbol; -ENOENT if there is none (or addresses are hidden). */
int ksyms_addr(const char *name, uint64_t *addr);
/* Kernel text symbols matching glob, by name, each once; a nonzero cb return stops. */
int ksyms_foreach_function(const char *glob, int (*cb)(const char *name, void *ctx), void *ctx);
void ksyms_cleanup(void);

#endif
