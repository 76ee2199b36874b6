/*
 * cache.c - sonde's cache directory, shared by the inline index (inlines.c) and the compiled
 * object cache (src/codegen/objcache.c).
 *
 * The directory is $SONDE_CACHE_DIR (empty: no cache), else /var/cache/sonde for root, else
 * $XDG_CACHE_HOME/sonde or ~/.cache/sonde; SONDE_CACHE=0 turns every cache off.  A file is written whole to a temporary file and
 * renamed, so a reader never sees half of one; a file not owned by the user, writable by
 * others or not a regular file is never read.  Failing to read or write only costs time: no
 * cache error fails a trace.
 */
#include "runtime/cache.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/diag.h"
#include "common/util.h"

char *cache_dir(void)
{
	const char *d = getenv("SONDE_CACHE");

	if (d && strcmp(d, "0") == 0)
		return NULL;
	d = getenv("SONDE_CACHE_DIR");
	if (d)
		return *d ? xstrdup(d) : NULL;
	if (geteuid() == 0)
		return xstrdup("/var/cache/sonde");
	d = getenv("XDG_CACHE_HOME");
	if (d && *d)
		return xasprintf("%s/sonde", d);
	d = getenv("HOME");
	return d && *d ? xasprintf("%s/.cache/sonde", d) : NULL;
}

int cache_mkdir(char *dir)
{
	char *s;

	for (s = strchr(dir + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST) {
			*s = '/';
			return -errno;
		}
		*s = '/';
	}
	return mkdir(dir, 0700) && errno != EEXIST ? -errno : 0;
}

int cache_open(const char *file, size_t max, size_t *size)
{
	struct stat st;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) || (size_t)st.st_size > max) {
		close(fd);
		return -EPERM;
	}
	*size = (size_t)st.st_size;
	return fd;
}

int cache_read_header(int fd, char *head, size_t cap, size_t *hlen)
{
	ssize_t got = pread(fd, head, cap - 1, 0);
	char *nl;

	if (got <= 0)
		return -EINVAL;
	head[got] = '\0';
	nl = strchr(head, '\n');
	if (!nl)
		return -EINVAL;
	*hlen = (size_t)(nl - head) + 1;
	return 0;
}

int cache_write(char *dir, const char *file, const struct cache_part *parts, size_t nparts)
{
	char *tmp = xasprintf("%s.%d.tmp", file, (int)getpid());
	size_t i, done;
	int fd, err = cache_mkdir(dir);

	if (err)
		goto fail;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	for (i = 0; i < nparts && !err; i++)
		for (done = 0; done < parts[i].len && !err;) {
			ssize_t w = write(fd, (const char *)parts[i].data + done, parts[i].len - done);

			if (w > 0)
				done += (size_t)w;
			else if (w == 0 || errno != EINTR)
				err = w ? -errno : -EIO;
		}
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, file))
		err = -errno;
	if (err) {
		unlink(tmp);
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	diag_verbose("cannot write the cache file %s: %s\n", file, strerror(-err));
	free(tmp);
	return err;
}

struct aged {
	char *name;
	struct timespec mtime;
};

static int older_first(const void *a, const void *b)
{
	const struct aged *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

void cache_trim(const char *dir, const char *prefix, size_t keep)
{
	struct aged *v = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;

		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 || strstr(de->d_name, ".tmp") ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		xgrow((void **)&v, &cap, n + 1, sizeof(*v));
		v[n].name = xstrdup(de->d_name);
		v[n++].mtime = st.st_mtim;
	}
	if (n > keep) {
		qsort(v, n, sizeof(*v), older_first);
		for (i = 0; i < n - keep; i++)
			unlinkat(dirfd(d), v[i].name, 0);
	}
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	closedir(d);
}

struct self_id {
	unsigned char *buf;
	size_t cap, len;
};

static int main_build_id(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct self_id *id = arg;
	int i;

	(void)size;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;

		if (ph->p_type != PT_NOTE)
			continue;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
			const char *name = p + sizeof(*n);
			const char *desc = name + ALIGN_UP(n->n_namesz, 4);

			if (desc + n->n_descsz > end)
				break;
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
			    n->n_descsz <= id->cap) {
				memcpy(id->buf, desc, n->n_descsz);
				id->len = n->n_descsz;
				return 1;
			}
			p = desc + ALIGN_UP(n->n_descsz, 4);
		}
	}
	return 1;	/* the first object is the executable: no need to look further */
}

size_t cache_self_id(unsigned char *buf, size_t cap)
{
	struct self_id id = { buf, cap, 0 };
	struct stat st;

	dl_iterate_phdr(main_build_id, &id);
	if (id.len || cap < 4 * sizeof(uint64_t))
		return id.len;
	/* no build id: the executable file as it is now */
	if (stat("/proc/self/exe", &st))
		return 0;
	uint64_t v[4] = { st.st_ino, (uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec,
			  (uint64_t)st.st_mtim.tv_nsec };
	memcpy(buf, v, sizeof(v));
	return sizeof(v);
}
