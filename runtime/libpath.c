/*
 * libpath.c - find the file a uprobe target names.
 *
 * Libraries are found the way the dynamic loader would: /etc/ld.so.cache first (glibc's
 * "glibc-ld.so.cache1.1" format, possibly after an old "ld.so-1.7.0" table), then the standard
 * directories.  For a running process (-p PID) what it actually mapped wins, and every path is
 * looked up through /proc/PID/root so a container's files are the ones probed; the prefix is
 * dropped when it leads to the very same inode, which keeps probe names readable.
 */
#include "runtime/libpath.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

#define CACHE_MAGIC_NEW "glibc-ld.so.cache1.1"
#define CACHE_MAGIC_OLD "ld.so-1.7.0"
#define FLAG_ELF_LIBC6 0x0003
#define FLAG_X8664_LIB64 0x0300

struct cache_header_new {
	char magic[sizeof(CACHE_MAGIC_NEW) - 1];
	uint32_t nlibs;
	uint32_t len_strings;
	uint8_t flags;
	uint8_t pad[3];
	uint32_t extension_offset;
	uint32_t unused[3];
};

struct cache_entry_new {
	int32_t flags;
	uint32_t key, value;
	uint32_t osversion;
	uint64_t hwcap;
};

/* Does a file name (basename) provide library name?  "libc" matches "libc.so.6"; a name with
 * ".so" must match exactly. */
static int lib_matches(const char *name, const char *file)
{
	size_t n = strlen(name);

	if (strstr(name, ".so"))
		return strcmp(name, file) == 0;
	return strncmp(file, name, n) == 0 && strncmp(file + n, ".so", 3) == 0 &&
	       (file[n + 3] == '\0' || file[n + 3] == '.');
}

static char *rooted(const char *root, const char *path)
{
	return xasprintf("%s%s", root, path);
}

/* Pick root+path, or path alone when it is the same file (same namespace). */
static char *finish(const char *root, const char *path)
{
	char *full = rooted(root, path);
	struct stat a, b;

	if (*root && stat(full, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino) {
		free(full);
		return xstrdup(path);
	}
	return full;
}

static int exists(const char *root, const char *path)
{
	char *full = rooted(root, path);
	struct stat st;
	int r = stat(full, &st) == 0 && S_ISREG(st.st_mode);

	free(full);
	return r;
}

static char *search_cache(const char *root, const char *name)
{
	char *cpath = xasprintf("%s/etc/ld.so.cache", root), *buf = NULL, *found = NULL;
	size_t len, base = 0;
	const struct cache_header_new *h;

	if (read_file(cpath, &buf, &len))
		goto out;
	if (len >= sizeof(CACHE_MAGIC_OLD) - 1 + 4 &&
	    memcmp(buf, CACHE_MAGIC_OLD, sizeof(CACHE_MAGIC_OLD) - 1) == 0) {
		uint32_t nold;

		/* old header: magic, nlibs, then nlibs entries of 3 ints; the new table follows,
		 * 8-byte aligned */
		memcpy(&nold, buf + sizeof(CACHE_MAGIC_OLD) - 1, 4);
		base = ALIGN_UP(sizeof(CACHE_MAGIC_OLD) - 1 + 4 + (size_t)nold * 12, 8);
	}
	if (base + sizeof(*h) > len || memcmp(buf + base, CACHE_MAGIC_NEW, sizeof(CACHE_MAGIC_NEW) - 1))
		goto out;
	h = (const struct cache_header_new *)(buf + base);
	if (base + sizeof(*h) + (size_t)h->nlibs * sizeof(struct cache_entry_new) > len)
		goto out;
	for (uint32_t i = 0; i < h->nlibs && !found; i++) {
		const struct cache_entry_new *e =
			(const struct cache_entry_new *)(buf + base + sizeof(*h)) + i;
		const char *key, *val;

		if ((e->flags & 0xffff) != (FLAG_ELF_LIBC6 | FLAG_X8664_LIB64))
			continue;
		/* string offsets count from the start of the new-format header */
		if (base + e->key >= len || base + e->value >= len)
			continue;
		key = buf + base + e->key;
		val = buf + base + e->value;
		if (!memchr(key, '\0', len - base - e->key) || !memchr(val, '\0', len - base - e->value))
			continue;
		if (lib_matches(name, key) && exists(root, val))
			found = xstrdup(val);
	}
out:
	free(buf);
	free(cpath);
	return found;
}

static char *search_dirs(const char *root, const char *name)
{
	static const char *const dirs[] = { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
					    "/lib64", "/usr/lib", "/lib" };
	char *found = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(dirs) && !found; i++) {
		char *d = rooted(root, dirs[i]);
		DIR *dir = opendir(d);
		struct dirent *de;
		char *best = NULL;

		free(d);
		if (!dir)
			continue;
		/* deterministic: the shortest match ("libssl.so.3" before "libssl.so.3.0.0"), then
		 * the smallest name */
		while ((de = readdir(dir))) {
			if (!lib_matches(name, de->d_name))
				continue;
			if (!best || strlen(de->d_name) < strlen(best) ||
			    (strlen(de->d_name) == strlen(best) && strcmp(de->d_name, best) < 0)) {
				free(best);
				best = xstrdup(de->d_name);
			}
		}
		closedir(dir);
		if (best) {
			char *p = xasprintf("%s/%s", dirs[i], best);

			if (exists(root, p))
				found = p;
			else
				free(p);
			free(best);
		}
	}
	return found;
}

static char *search_maps(int pid, const char *name, int is_lib)
{
	char *mpath = xasprintf("/proc/%d/maps", pid), *buf = NULL, *found = NULL;
	size_t len;

	if (read_file(mpath, &buf, &len)) {
		free(mpath);
		return NULL;
	}
	free(mpath);
	for (char *line = strtok(buf, "\n"); line && !found; line = strtok(NULL, "\n")) {
		char *p = strchr(line, '/'), *base;

		if (!p || strstr(p, " (deleted)"))
			continue;
		base = strrchr(p, '/') + 1;
		if (is_lib ? lib_matches(name, base) : strcmp(name, base) == 0)
			found = xstrdup(p);
	}
	free(buf);
	return found;
}

static char *search_path(const char *name)
{
	const char *env = getenv("PATH");
	char *copy, *save = NULL, *found = NULL;

	copy = xstrdup(env ? env : "/usr/local/bin:/usr/bin:/bin");
	for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", *d ? d : ".", name);

		if (access(p, X_OK) == 0 && exists("", p))
			found = p;
		else
			free(p);
	}
	free(copy);
	return found;
}

int libpath_resolve(const char *name, int pid, char **path)
{
	char root[64] = "";
	char *found = NULL;
	int is_lib;

	if (!name || !*name)
		return -EINVAL;
	if (pid > 0)
		snprintf(root, sizeof(root), "/proc/%d/root", pid);

	if (strchr(name, '/')) {
		if (pid > 0 && name[0] == '/') {
			if (!exists(root, name))
				return -ENOENT;
			*path = finish(root, name);
			return 0;
		}
		if (!exists("", name))
			return -ENOENT;
		*path = xstrdup(name);
		return 0;
	}

	is_lib = strncmp(name, "lib", 3) == 0 || strstr(name, ".so") != NULL;
	if (pid > 0 && (found = search_maps(pid, name, is_lib)) && exists(root, found)) {
		*path = finish(root, found);
		free(found);
		return 0;
	}
	if (pid > 0)
		free(found);
	if (!is_lib) {
		found = search_path(name);
		if (!found)
			return -ENOENT;
		*path = found;
		return 0;
	}
	found = search_cache(root, name);
	if (!found)
		found = search_dirs(root, name);
	if (!found)
		return -ENOENT;
	*path = pid > 0 ? finish(root, found) : xstrdup(found);
	free(found);
	return 0;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_unique(char ***paths, size_t *n, size_t *cap, char *p)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*paths)[i], p) == 0) {
			free(p);
			return;
		}
	}
	xgrow((void **)paths, cap, *n + 1, sizeof(**paths));
	(*paths)[(*n)++] = p;
}

int libpath_glob(const char *pattern, int pid, char ***paths, size_t *n)
{
	size_t cap = 0;

	*paths = NULL;
	*n = 0;
	if (pid > 0) {
		char root[64], *mpath = xasprintf("/proc/%d/maps", pid), *buf = NULL, *save = NULL;
		bool by_path = strchr(pattern, '/') != NULL;

		snprintf(root, sizeof(root), "/proc/%d/root", pid);
		if (read_file(mpath, &buf, NULL)) {
			free(mpath);
			return -ESRCH;
		}
		free(mpath);
		for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *p = strchr(line, '/');

			if (!p || strstr(p, " (deleted)"))
				continue;
			if (!glob_match(pattern, by_path ? p : strrchr(p, '/') + 1) || !exists(root, p))
				continue;
			add_unique(paths, n, &cap, finish(root, p));
		}
		free(buf);
	} else {
		glob_t g;

		if (glob(pattern, 0, NULL, &g) == 0) {
			for (size_t i = 0; i < g.gl_pathc; i++)
				if (exists("", g.gl_pathv[i]))
					add_unique(paths, n, &cap, xstrdup(g.gl_pathv[i]));
		}
		globfree(&g);
	}
	if (*n)
		qsort(*paths, *n, sizeof(**paths), cmp_path);
	return *n ? 0 : -ENOENT;
}

void libpath_free_list(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}
