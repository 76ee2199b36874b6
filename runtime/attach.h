/*
 * attach.h - what attaching created: libbpf links and raw link fds (uprobe multi-links), kept
 * together so that every exit path detaches all of them with one call.
 */
#ifndef SONDE_ATTACH_H
#define SONDE_ATTACH_H

#include <stddef.h>

struct bpf_link;

struct attach_set {
	struct bpf_link **links;
	size_t n, cap;
	int *fds;		/* raw link fds (uprobe multi-link) */
	size_t nfds, capfds;
	size_t skipped;		/* targets the kernel refused, warned about and left out */
};

void attach_set_add_link(struct attach_set *set, struct bpf_link *link);
void attach_set_add_fd(struct attach_set *set, int fd);
/* Destroy one link of the set and take it out; -ENOENT when it is not there. */
int attach_set_remove_link(struct attach_set *set, struct bpf_link *link);
/* Destroy every link and close every fd; the set is empty afterwards (and may be reused). */
void attach_set_release(struct attach_set *set);

#endif
