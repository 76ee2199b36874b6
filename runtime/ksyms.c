/*
 * ksyms.c - /proc/kallsyms, loaded once and kept sorted two ways: by address to symbolize stack
 * frames (binary search for the last symbol at or below an address) and by name for lookups.
 *
 * Without CAP_SYSLOG the kernel shows every address as 0; such entries are dropped, so lookups
 * fail with -ENOENT and stack frames print as raw addresses rather than as wrong names.
 */
#include "runtime/ksyms.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

struct ksym {
	uint64_t addr;
	char *name;
	uint32_t seq;		/* position in kallsyms: ties keep the file's order */
	bool text;		/* t/T: preferred over data symbols at the same address */
};

static struct ksym *syms;
static size_t nsyms;
static struct ksym **by_name;
static int load_err;
static bool loaded;

static int cmp_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->text != y->text)
		return x->text ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_name(const void *a, const void *b)
{
	const struct ksym *x = *(struct ksym *const *)a, *y = *(struct ksym *const *)b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->text != y->text)
		return x->text ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int load(void)
{
	FILE *f;
	char line[512];
	size_t cap = 0, i;

	if (loaded)
		return load_err;
	loaded = true;
	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return load_err = -errno;
	while (fgets(line, sizeof(line), f)) {
		uint64_t addr;
		char type, name[256];

		if (sscanf(line, "%" SCNx64 " %c %255s", &addr, &type, name) != 3 || !addr)
			continue;
		xgrow((void **)&syms, &cap, nsyms + 1, sizeof(*syms));
		syms[nsyms].addr = addr;
		syms[nsyms].name = xstrdup(name);
		syms[nsyms].seq = nsyms;
		syms[nsyms].text = type == 't' || type == 'T';
		nsyms++;
	}
	fclose(f);
	if (!nsyms)
		return 0;
	qsort(syms, nsyms, sizeof(*syms), cmp_addr);
	by_name = xmalloc(nsyms * sizeof(*by_name));
	for (i = 0; i < nsyms; i++)
		by_name[i] = &syms[i];
	qsort(by_name, nsyms, sizeof(*by_name), cmp_name);
	return 0;
}

/* The preferred symbol at the highest address <= addr, or NULL. */
static const struct ksym *find(uint64_t addr)
{
	size_t lo = 0, hi = nsyms;

	if (!nsyms || addr < syms[0].addr)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	/* Several names at one address: the first in sort order (text, then file order). */
	while (lo > 0 && syms[lo - 1].addr == syms[lo].addr)
		lo--;
	return &syms[lo];
}

static int resolve(uint64_t addr, struct strbuf *out, bool offset)
{
	int err = load();
	const struct ksym *s = err ? NULL : find(addr);

	if (!s && !addr)
		sb_puts(out, "0");	/* as bpftrace writes it (a C++ stream's showbase) */
	else if (!s)
		sb_printf(out, "0x%" PRIx64, addr);
	else if (offset)
		sb_printf(out, "%s+%" PRIu64, s->name, addr - s->addr);
	else
		sb_puts(out, s->name);
	return err;
}

int ksyms_resolve(uint64_t addr, struct strbuf *out)
{
	return resolve(addr, out, true);
}

int ksyms_resolve_name(uint64_t addr, struct strbuf *out)
{
	return resolve(addr, out, false);
}

int ksyms_addr(const char *name, uint64_t *addr)
{
	size_t lo = 0, hi;
	int err = load();

	if (err)
		return err;
	/* Lower bound: the first (preferred) entry with this name. */
	hi = nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(by_name[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == nsyms || strcmp(by_name[lo]->name, name) != 0)
		return -ENOENT;
	*addr = by_name[lo]->addr;
	return 0;
}

int ksyms_foreach_function(const char *glob, int (*cb)(const char *name, void *ctx), void *ctx)
{
	const char *prev = NULL;
	size_t i;
	int err = load();

	if (err)
		return err;
	/* by name, each once; local clones such as "f.cold" are not probe targets */
	for (i = 0; i < nsyms; i++) {
		const struct ksym *k = by_name[i];

		if (!k->text || strchr(k->name, '.') || (prev && strcmp(prev, k->name) == 0) ||
		    !glob_match(glob, k->name))
			continue;
		prev = k->name;
		err = cb(k->name, ctx);
		if (err)
			return err;
	}
	return 0;
}

void ksyms_cleanup(void)
{
	size_t i;

	for (i = 0; i < nsyms; i++)
		free(syms[i].name);
	free(syms);
	free(by_name);
	syms = NULL;
	by_name = NULL;
	nsyms = 0;
	loaded = false;
	load_err = 0;
}
