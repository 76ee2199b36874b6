/* attach.c - the links an attach created, released together. */
#include "runtime/attach.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "common/util.h"

void attach_set_add_link(struct attach_set *set, struct bpf_link *link)
{
	xgrow((void **)&set->links, &set->cap, set->n + 1, sizeof(*set->links));
	set->links[set->n++] = link;
}

void attach_set_add_fd(struct attach_set *set, int fd)
{
	xgrow((void **)&set->fds, &set->capfds, set->nfds + 1, sizeof(*set->fds));
	set->fds[set->nfds++] = fd;
}

int attach_set_remove_link(struct attach_set *set, struct bpf_link *link)
{
	size_t i;

	for (i = 0; i < set->n && set->links[i] != link; i++)
		;
	if (i == set->n)
		return -ENOENT;
	bpf_link__destroy(link);
	memmove(&set->links[i], &set->links[i + 1], (set->n - i - 1) * sizeof(*set->links));
	set->n--;
	return 0;
}

void attach_set_release(struct attach_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		bpf_link__destroy(set->links[i]);
	for (i = 0; i < set->nfds; i++)
		close(set->fds[i]);
	free(set->links);
	free(set->fds);
	memset(set, 0, sizeof(*set));
}
