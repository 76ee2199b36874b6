/* libpath.h - from a uprobe target as the user wrote it ("libc", "bash", "/usr/bin/x") to a file. */
#ifndef SONDE_LIBPATH_H
#define SONDE_LIBPATH_H

#include <stddef.h>

/*
 * Resolve name to an existing file; *path is malloc'ed.
 * - a name containing '/' is the path itself; with pid > 0 it is taken in the process's mount
 *   namespace (/proc/PID/root/NAME), returned without that prefix when both name the same file;
 * - a library name ("libc", "libssl", "libc.so.6": starts with "lib" or contains ".so"): with
 *   pid > 0 the files mapped by the process first; then ld.so.cache, then /lib/x86_64-linux-gnu,
 *   /usr/lib/x86_64-linux-gnu, /lib64, /usr/lib, /lib for "NAME.so*" (all under the process's
 *   root when pid > 0);
 * - any other bare name is an executable: with pid > 0 a mapped file of that name, then $PATH.
 * -ENOENT when nothing is found.
 */
int libpath_resolve(const char *name, int pid, char **path);

/*
 * The files a uprobe target with wildcards names (uprobe:/usr/lib/lib*.so:f, uprobe:*:f with
 * -p): with pid > 0 the files the process maps (its executable and libraries) whose path, or
 * base name for a pattern without '/', matches, each as libpath_resolve would return it; else
 * the regular files glob(3) finds.  *paths (sorted, each malloc'ed) and *n; -ENOENT if none.
 */
int libpath_glob(const char *pattern, int pid, char ***paths, size_t *n);
void libpath_free_list(char **paths, size_t n);

#endif
