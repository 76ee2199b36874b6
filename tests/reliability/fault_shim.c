/*
 * fault_shim.c - LD_PRELOAD faults for tests/reliability, for failures a test cannot provoke
 * with real processes.  Each fault is off unless its environment variable is set:
 *
 *   SONDE_FAULT_ONLINE_CPUS=empty   /sys/devices/system/cpu/online reads as an empty file, and
 *                                   errno stays 0 (as a short read from sysfs can leave it)
 *   SONDE_FAULT_NO_MAP=NAME         libbpf has no fd for the map NAME after loading
 *   SONDE_FAULT_ATTACH_PID=PID      just before the first attach (a perf_event_open or a
 *   SONDE_FAULT_ATTACH_SIG=N        BPF_LINK_CREATE), send signal N to PID and give it
 *                                   200 ms to act on it (exit, or exec)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BPF_LINK_CREATE_CMD 28

static FILE *fault_fopen(const char *path, const char *mode,
			 FILE *(*real)(const char *, const char *))
{
	const char *f = getenv("SONDE_FAULT_ONLINE_CPUS");

	if (f && strcmp(path, "/sys/devices/system/cpu/online") == 0 && strcmp(f, "empty") == 0) {
		FILE *null = real("/dev/null", mode);

		errno = 0;
		return null;
	}
	return real(path, mode);
}

FILE *fopen(const char *path, const char *mode)
{
	static FILE *(*real)(const char *, const char *);

	if (!real)
		real = (FILE *(*)(const char *, const char *))dlsym(RTLD_NEXT, "fopen");
	return fault_fopen(path, mode, real);
}

FILE *fopen64(const char *path, const char *mode)
{
	static FILE *(*real)(const char *, const char *);

	if (!real)
		real = (FILE *(*)(const char *, const char *))dlsym(RTLD_NEXT, "fopen64");
	return fault_fopen(path, mode, real);
}

struct bpf_object;

int bpf_object__find_map_fd_by_name(const struct bpf_object *obj, const char *name)
{
	static int (*real)(const struct bpf_object *, const char *);
	const char *f = getenv("SONDE_FAULT_NO_MAP");

	if (!real)
		real = (int (*)(const struct bpf_object *, const char *))
			dlsym(RTLD_NEXT, "bpf_object__find_map_fd_by_name");
	if (f && strcmp(f, name) == 0)
		return -ENOENT;
	return real(obj, name);
}

long syscall(long n, ...)
{
	static long (*real)(long, ...);
	static int fired;
	const char *pid = getenv("SONDE_FAULT_ATTACH_PID");
	long a[6];
	va_list ap;
	int i;

	va_start(ap, n);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	if (pid && !fired && (n == SYS_perf_event_open || (n == SYS_bpf && a[0] == BPF_LINK_CREATE_CMD))) {
		const char *sig = getenv("SONDE_FAULT_ATTACH_SIG");
		struct timespec ts = { 0, 200000000 };

		fired = 1;
		kill((pid_t)atoi(pid), sig ? atoi(sig) : SIGKILL);
		nanosleep(&ts, NULL);
	}
	return real(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
