/*
 * spin_getpid.c - load generator for tests/reliability: call getpid(2) in a tight loop (the raw
 * syscall, so no libc caching) for argv[1] seconds, to make sys_enter_getpid fire very often.
 */
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 10.0;
	struct timespec start, now;
	unsigned long n = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		syscall(SYS_getpid);
		if (++n % 4096 == 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((double)(now.tv_sec - start.tv_sec) +
			    (double)(now.tv_nsec - start.tv_nsec) / 1e9 >= secs)
				break;
		}
	}
	return 0;
}
