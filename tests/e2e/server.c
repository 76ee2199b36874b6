/* sonde-test-server: the bundled target of the end-to-end tier (tests/e2e/run.sh).
 *
 *   sonde-test-server [-w] PORT NCONN SECONDS
 *
 * Prints "pid N" first; with -w it then blocks until SIGUSR1 so a tracer can attach before any
 * socket exists.  It then opens one listener on 127.0.0.1:PORT and one on [::1]:PORT
 * (IPV6_V6ONLY), each with SO_REUSEADDR set before bind(), prints "ready PORT", and serves
 * connections from both with poll() + accept4(): TCP_NODELAY on every accepted socket, read one
 * line, echo it, close.  It exits after NCONN connections or SECONDS seconds.  The socket calls
 * sit in small named functions called from setup_listener()/serve_one() so that a frame-pointer
 * user stack taken at the syscall shows those names. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "sonde-test-server: %s: %s\n", what, strerror(errno));
	exit(1);
}

__attribute__((noinline)) static int set_int_opt(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val));
}

__attribute__((noinline)) static int bind_addr(int fd, const struct sockaddr *sa, socklen_t len)
{
	return bind(fd, sa, len);
}

__attribute__((noinline)) int setup_listener(int family, int port)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	if (set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0)
		die("setsockopt(SO_REUSEADDR)");
	if (family == AF_INET) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind_addr(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			die("bind 127.0.0.1");
	} else {
		if (set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) < 0)
			die("setsockopt(IPV6_V6ONLY)");
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(port);
		sin6.sin6_addr = in6addr_loopback;
		if (bind_addr(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0)
			die("bind ::1");
	}
	if (listen(fd, 64) < 0)
		die("listen");
	return fd;
}

__attribute__((noinline)) static int accept_peer(int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
}

__attribute__((noinline)) int serve_one(int lfd)
{
	char buf[256];
	ssize_t n, got = 0;
	int fd = accept_peer(lfd);

	if (fd < 0)
		return -1;
	if (set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1) < 0)
		die("setsockopt(TCP_NODELAY)");
	while (got < (ssize_t)sizeof(buf)) {
		n = read(fd, buf + got, sizeof(buf) - got);
		if (n <= 0)
			break;
		got += n;
		if (memchr(buf, '\n', got))
			break;
	}
	if (got > 0 && write(fd, buf, got) < 0)
		perror("sonde-test-server: write");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct pollfd pfd[2];
	int wait_signal = 0, port, nconn, secs, served = 0, sig;
	time_t deadline;
	sigset_t set;

	if (argc > 1 && strcmp(argv[1], "-w") == 0) {
		wait_signal = 1;
		argv++;
		argc--;
	}
	if (argc != 4) {
		fprintf(stderr, "usage: sonde-test-server [-w] PORT NCONN SECONDS\n");
		return 2;
	}
	port = atoi(argv[1]);
	nconn = atoi(argv[2]);
	secs = atoi(argv[3]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("pid %d\n", (int)getpid());
	if (wait_signal && sigwait(&set, &sig) != 0)
		die("sigwait");

	pfd[0].fd = setup_listener(AF_INET, port);
	pfd[1].fd = setup_listener(AF_INET6, port);
	pfd[0].events = pfd[1].events = POLLIN;
	printf("ready %d\n", port);

	deadline = time(NULL) + secs;
	while (served < nconn && time(NULL) < deadline) {
		int n = poll(pfd, 2, 100);

		if (n < 0 && errno != EINTR)
			die("poll");
		for (int i = 0; n > 0 && i < 2; i++)
			if ((pfd[i].revents & POLLIN) && serve_one(pfd[i].fd) == 0)
				served++;
	}
	printf("served %d\n", served);
	close(pfd[0].fd);
	close(pfd[1].fd);
	return served == nconn ? 0 : 1;
}
