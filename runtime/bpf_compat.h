/*
 * bpf_compat.h - the UAPI of kernel 6.6+ that Debian 12's headers (6.1) and libbpf 1.1 lack:
 * the uprobe multi-link.  Used only after the run-time feature probe says the kernel has it.
 */
#ifndef SONDE_BPF_COMPAT_H
#define SONDE_BPF_COMPAT_H

#include <stdint.h>

#define SONDE_BPF_TRACE_UPROBE_MULTI 48		/* enum bpf_attach_type */
#define SONDE_BPF_F_UPROBE_MULTI_RETURN 1U
#define SONDE_BPF_LINK_CREATE 28		/* enum bpf_cmd */

/* union bpf_attr's link_create for BPF_TRACE_UPROBE_MULTI */
struct sonde_link_create_uprobe_multi {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t umflags;
	uint32_t pid;
	uint32_t pad[13];	/* the rest of union bpf_attr, zeroed */
};

#endif
