/*
 * uprobe_insn.h - will the kernel accept a uprobe on this x86-64 instruction?
 *
 * The kernel refuses (ENOTSUPP) a uprobe whose instruction it cannot execute out of line, and a
 * uprobe multi-link fails as a whole for one such function without saying which.  Predicting
 * the refusals from the bytes lets the multi-link be created in one attempt; the prediction is
 * only a hint: the kernel has the last word (see src/probes/uprobe.c).
 */
#ifndef SONDE_UPROBE_INSN_H
#define SONDE_UPROBE_INSN_H

#include <stddef.h>
#include <stdint.h>

/* NULL if the kernel is expected to accept a uprobe on the instruction at code[0..len); else why
 * not, in words ("a LOCK-prefixed instruction", ...). */
const char *uprobe_insn_refusal(const uint8_t *code, size_t len);

/* NULL unless the kernel would accept a uprobe on the instruction but emulate it wrongly (never
 * executing it, so the traced program computes wrong results); else why, in words. */
const char *uprobe_insn_hazard(const uint8_t *code, size_t len);

#endif
