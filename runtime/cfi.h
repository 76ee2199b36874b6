/* cfi.h - a binary's .eh_frame compiled into unwind rows for the BPF stack walker. */
#ifndef SONDE_CFI_H
#define SONDE_CFI_H

#include <stddef.h>

#include "bpf/ustack.h"

/*
 * The unwind rows of the ELF file at path, sorted by file offset (malloc'ed).  0, -ENOENT when
 * the file has no .eh_frame_hdr / .eh_frame, -ENOEXEC when it is not ELF, or -errno.
 */
int cfi_build(const char *path, struct ustk_row **rows, size_t *n);

/* cfi_build's rows through the cache directory (cfi_cache.c): read back when the file and
 * sonde are the ones they were compiled from, else compiled and kept. */
int cfi_load(const char *path, struct ustk_row **rows, size_t *n);

#endif
