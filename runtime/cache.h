/*
 * cache.h - sonde's cache directory (SONDE_CACHE_DIR): where it is, and files in it written
 * atomically and read only when they are the user's own.
 */
#ifndef SONDE_CACHE_H
#define SONDE_CACHE_H

#include <stddef.h>

/* The cache directory (allocated), or NULL when there is none (SONDE_CACHE_DIR="" or
 * SONDE_CACHE=0). */
char *cache_dir(void);

/* Create dir and its parents (0755, the last 0700): 0 or -errno.  dir is restored. */
int cache_mkdir(char *dir);

/* An fd on file, if it is a regular file of the user's, not writable by others, at most max
 * bytes (its size in *size); else -errno. */
int cache_open(const char *file, size_t max, size_t *size);
/* The entry's first line, its newline included, into head (NUL-terminated): its length in
 * *hlen; -EINVAL when the file does not start with a line shorter than cap. */
int cache_read_header(int fd, char *head, size_t cap, size_t *hlen);

struct cache_part {
	const void *data;
	size_t len;
};

/* file (in dir, created if need be) as the concatenation of parts, through a temporary file
 * and rename(2); 0 or -errno, said with -v only. */
int cache_write(char *dir, const char *file, const struct cache_part *parts, size_t nparts);

/* Keep the newest keep files (by mtime) of dir whose names start with prefix: remove the rest. */
void cache_trim(const char *dir, const char *prefix, size_t keep);

/* What identifies this build of sonde: its build id (else its inode, size and mtime) in buf;
 * its length, 0 when there is nothing. */
size_t cache_self_id(unsigned char *buf, size_t cap);

#endif
