/*
 * inlines.c - the inlined copies of a function: a uprobe on a function fires in every copy the
 * compiler inlined into another function (DW_TAG_inlined_subroutine), as bpftrace 0.24 does.
 *
 * Why an index and a cache: finding the copies of one name walks every DIE of the DWARF, and
 * libdw's dwarf_begin_elf first decompresses every debug section.  For libc's debug file
 * (libc6-dbg: 9 MB of DWARF once decompressed, 350,000 DIEs) that is ~110 ms on a quiet
 * machine and a second under load, for every `uprobe:libc:f`.  So the walk records the copies
 * of every name at once (the index, kept with the elf_file for the run), and the index is
 * written to a cache file named by the binary's build id, whose header names the DWARF file it
 * was read from with its size and mtime: a rebuilt or reinstalled debug file does not match
 * and is walked again.  A run with a matching cache reads ~100 KB and decompresses nothing.
 *
 * The cache directory and its rules are cache.c's.  A cache file not owned by the user,
 * writable by others or malformed is ignored (and rewritten); failing to write one only costs
 * the next run the walk.  A binary without a build id is walked every time.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "runtime/elf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "runtime/cache.h"
#include "util.h"

#ifdef HAVE_LIBDW
#include <dwarf.h>
#include <elfutils/libdw.h>

#define CACHE_MAGIC "sonde-inlines 1\n"

struct inline_ent {
	char *name;		/* the abstract origin's DW_AT_name */
	uint64_t vaddr;		/* the copy's entry pc */
};

struct elf_inlines {
	struct inline_ent *v;
	size_t n, cap;
};

void elf_inlines_free(struct elf_inlines *ix)
{
	size_t i;

	if (!ix)
		return;
	for (i = 0; i < ix->n; i++)
		free(ix->v[i].name);
	free(ix->v);
	free(ix);
}

static void push(struct elf_inlines *ix, const char *name, size_t len, uint64_t vaddr)
{
	if (ix->n == ix->cap) {
		ix->cap = ix->cap ? 2 * ix->cap : 256;
		ix->v = xrealloc(ix->v, ix->cap * sizeof(*ix->v));
	}
	ix->v[ix->n].name = xstrndup(name, len);
	ix->v[ix->n++].vaddr = vaddr;
}

static const char *origin_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	Dwarf_Die origin;

	if (!dwarf_attr_integrate(die, DW_AT_abstract_origin, &a) || !dwarf_formref_die(&a, &origin))
		return NULL;
	return dwarf_diename(&origin);
}

/* Depth-first over a DIE's children: every DW_TAG_inlined_subroutine with a named origin. */
static void walk(Dwarf_Die *parent, struct elf_inlines *ix, int depth)
{
	Dwarf_Die child;

	if (depth > 64 || dwarf_child(parent, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child);

		if (tag == DW_TAG_inlined_subroutine) {
			const char *n = origin_name(&child);
			Dwarf_Addr pc;

			if (n && dwarf_entrypc(&child, &pc) == 0)
				push(ix, n, strlen(n), pc);
		}
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
		    tag == DW_TAG_lexical_block || tag == DW_TAG_namespace ||
		    tag == DW_TAG_class_type || tag == DW_TAG_structure_type)
			walk(&child, ix, depth + 1);
	} while (dwarf_siblingof(&child, &child) == 0);
}

static struct elf_inlines *build(Dwarf *dw)
{
	struct elf_inlines *ix = xcalloc(1, sizeof(*ix));
	Dwarf_Off o = 0, next;
	size_t hsize;

	while (dwarf_nextcu(dw, o, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;

		if (dwarf_offdie(dw, o + hsize, &cu))
			walk(&cu, ix, 0);
		o = next;
	}
	return ix;
}

/* The header that ties a cache file to the DWARF file it was read from. */
static char *cache_header(struct elf_file *ef)
{
	const char *path;
	struct stat st;
	int fd;

	if (elf_dwarf_file(ef, &path, &fd) || fstat(fd, &st))
		return NULL;
	return xasprintf(CACHE_MAGIC "dwarf %lld %lld.%09ld %s\n", (long long)st.st_size,
			 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, path);
}

/* The index from a cache file whose header is hdr; NULL when there is none that matches. */
static struct elf_inlines *index_read(const char *file, const char *hdr)
{
	struct elf_inlines *ix = NULL;
	char *text = NULL, *p, *end;
	size_t hlen = strlen(hdr), size;
	ssize_t got;
	int fd = cache_open(file, 64 << 20, &size);

	if (fd < 0)
		return NULL;
	if (size < hlen)
		goto out;
	text = xmalloc(size + 1);
	got = read(fd, text, size);
	if (got != (ssize_t)size || memcmp(text, hdr, hlen) != 0)
		goto out;
	text[got] = '\0';
	ix = xcalloc(1, sizeof(*ix));
	for (p = text + hlen; *p; p = end + 1) {
		char *sp;
		uint64_t v;

		end = strchr(p, '\n');
		errno = 0;
		v = strtoull(p, &sp, 16);
		if (!end || errno || sp == p || *sp != ' ' || sp + 1 >= end) {
			elf_inlines_free(ix);	/* not what index_write writes */
			ix = NULL;
			break;
		}
		push(ix, sp + 1, (size_t)(end - sp - 1), v);
	}
out:
	free(text);
	close(fd);
	return ix;
}

/* Written whole to a temporary file, then renamed: a reader never sees half a file. */
static void index_write(char *dir, const char *file, const char *hdr, const struct elf_inlines *ix)
{
	char *tmp = xasprintf("%s.%d.tmp", file, (int)getpid());
	FILE *f = NULL;
	size_t i;
	int fd, err = cache_mkdir(dir);

	if (err)
		goto fail;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	fputs(hdr, f);
	for (i = 0; i < ix->n; i++)
		fprintf(f, "%" PRIx64 " %s\n", ix->v[i].vaddr, ix->v[i].name);
	errno = 0;
	if (ferror(f) | fclose(f) || rename(tmp, file)) {
		err = errno ? -errno : -EIO;
		unlink(tmp);
		goto fail;
	}
	free(tmp);
	return;
fail:
	diag_verbose("cannot write the inline cache %s: %s\n", file, strerror(-err));
	free(tmp);
}

static struct elf_inlines *index_of(struct elf_file *ef)
{
	struct elf_inlines **slot = elf_inlines_slot(ef);
	const char *bid = elf_build_id(ef);
	char *dir = bid ? cache_dir() : NULL, *hdr = dir ? cache_header(ef) : NULL, *file = NULL;
	Dwarf *dw;

	if (*slot)
		goto out;
	if (hdr) {
		file = xasprintf("%s/inlines-%s", dir, bid);
		*slot = index_read(file, hdr);
		if (*slot)
			goto out;
	}
	dw = elf_dwarf(ef);
	if (!dw)
		goto out;
	*slot = build(dw);
	if (file)
		index_write(dir, file, hdr, *slot);
out:
	free(file);
	free(hdr);
	free(dir);
	return *slot;
}

int elf_inline_foreach(struct elf_file *ef, const char *name, int (*cb)(uint64_t vaddr, void *arg),
		       void *arg)
{
	struct elf_inlines *ix = index_of(ef);
	size_t i;
	int found = 0, err;

	if (!ix)
		return -ENODATA;
	for (i = 0; i < ix->n; i++) {
		if (strcmp(ix->v[i].name, name) != 0)
			continue;
		err = cb(ix->v[i].vaddr, arg);
		if (err)
			return err;
		found++;
	}
	return found;
}
#else
void elf_inlines_free(struct elf_inlines *ix)
{
}

int elf_inline_foreach(struct elf_file *ef, const char *name, int (*cb)(uint64_t vaddr, void *arg),
		       void *arg)
{
	return -ENOTSUP;
}
#endif
