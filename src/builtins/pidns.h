/* pidns.h - process ids as seen from sonde's own PID namespace. */
#ifndef SONDE_PIDNS_H
#define SONDE_PIDNS_H

#include <stdbool.h>

#include <llvm-c/Core.h>

struct cg;

/* Is sonde in the initial PID namespace (where namespace and host ids are the same)? */
bool pidns_is_init(void);
/* tgid << 32 | pid of the current task in sonde's PID namespace (0 outside of it). */
LLVMValueRef pidns_pid_tgid(struct cg *cg);

#endif
