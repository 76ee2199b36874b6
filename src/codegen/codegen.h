/* codegen.h - compile a checked script into a BPF ELF object held in memory. */
#ifndef SONDE_CODEGEN_H
#define SONDE_CODEGEN_H

#include <stddef.h>
#include <stdio.h>

#include "script.h"

/* The BPF map name of a script map (index id). */
void codegen_map_name(const struct map_info *mi, char *buf, size_t len);

struct codegen_opts {
	FILE *dump_ir;		/* -d ir: print the optimized IR here */
	uint32_t ringbuf_pages;
	FILE *dump_asm;		/* -d asm: print the BPF assembly here */
};

/* 0 and a malloc'd object, or -errno (reported). */
int codegen_object(struct script *s, const struct codegen_opts *opts, void **obj, size_t *size);

#endif
