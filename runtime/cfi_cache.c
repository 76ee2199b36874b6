/*
 * cfi_cache.c - unwind tables kept in the cache directory (cache.c), by file.
 *
 * Compiling libc's .eh_frame into rows (cfi.c) takes 10-16 ms, and a script that takes user
 * stacks compiles it at every start.  The rows of a file are kept as cfi-DEV-INODE; the header
 * ties them to the file's size, mtime and ctime (no write to the file, nor a replacement of it,
 * keeps its ctime) and to the build of sonde that compiled them, and holds a checksum of the
 * rows.  An entry that does not match in all of them is compiled again and rewritten.
 */
#include "runtime/cfi.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/diag.h"
#include "common/util.h"
#include "runtime/cache.h"

#define CFI_MAGIC "sonde-cfi 1"
#define CFI_KEEP 256
#define CFI_MAX_ROWS (16u << 20)

static uint64_t rows_sum(const struct ustk_row *rows, size_t n)
{
	const unsigned char *p = (const unsigned char *)rows;
	size_t i, len = n * sizeof(*rows);
	uint64_t h = 0x9e3779b97f4a7c15ULL, w;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h ^ len;
}

/* The header without the row count and checksum: what the file must be for these rows. */
static char *header_prefix(const struct stat *st)
{
	unsigned char id[64];
	size_t len = cache_self_id(id, sizeof(id)), i;
	struct strbuf sb;

	if (!len)
		return NULL;
	sb_init(&sb);
	sb_puts(&sb, CFI_MAGIC " ");
	for (i = 0; i < len; i++)
		sb_printf(&sb, "%02x", id[i]);
	sb_printf(&sb, " %lld %lld.%09ld %lld.%09ld ", (long long)st->st_size,
		  (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec,
		  st->st_ctim.tv_nsec);
	return sb_steal(&sb);
}

static int read_entry(const char *file, const char *prefix, struct ustk_row **rows, size_t *n)
{
	char head[512];
	size_t fsize, plen = strlen(prefix), hlen, count;
	uint64_t sum;
	struct ustk_row *v = NULL;
	int fd = cache_open(file, (size_t)CFI_MAX_ROWS * sizeof(**rows) + sizeof(head), &fsize);
	int err = -EINVAL;

	if (fd < 0)
		return fd;
	if (cache_read_header(fd, head, sizeof(head), &hlen) || strncmp(head, prefix, plen) != 0 ||
	    sscanf(head + plen, "%zu %" SCNx64, &count, &sum) != 2)
		goto out;
	if (!count || count > CFI_MAX_ROWS || hlen + count * sizeof(*v) != fsize)
		goto out;
	v = xmalloc(count * sizeof(*v));
	if (pread(fd, v, count * sizeof(*v), (off_t)hlen) != (ssize_t)(count * sizeof(*v)) ||
	    rows_sum(v, count) != sum)
		goto out;
	*rows = v;
	*n = count;
	v = NULL;
	err = 0;
	futimens(fd, NULL);
out:
	free(v);
	close(fd);
	return err;
}

int cfi_load(const char *path, struct ustk_row **rows, size_t *n)
{
	char *dir = cache_dir(), *file = NULL, *prefix = NULL, *hdr;
	struct cache_part parts[2];
	struct stat st;
	int err;

	if (!dir || stat(path, &st) || !S_ISREG(st.st_mode) || !(prefix = header_prefix(&st))) {
		free(dir);
		return cfi_build(path, rows, n);
	}
	file = xasprintf("%s/cfi-%llx-%llx", dir, (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
	err = read_entry(file, prefix, rows, n);
	if (err == 0) {
		diag_verbose("unwind table cache: hit %s for %s\n", file, path);
		goto out;
	}
	if (err != -ENOENT)
		diag_verbose("unwind table cache: %s is not a valid entry, compiling\n", file);
	err = cfi_build(path, rows, n);
	if (err || !*n)
		goto out;
	hdr = xasprintf("%s%zu %016" PRIx64 "\n", prefix, *n, rows_sum(*rows, *n));
	parts[0] = (struct cache_part){ hdr, strlen(hdr) };
	parts[1] = (struct cache_part){ *rows, *n * sizeof(**rows) };
	if (cache_write(dir, file, parts, 2) == 0)
		cache_trim(dir, "cfi-", CFI_KEEP);
	free(hdr);
out:
	free(prefix);
	free(file);
	free(dir);
	return err;
}
