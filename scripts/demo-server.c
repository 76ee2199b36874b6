/*
 * demo-server.c - a small TCP listener for scripts/demo, shaped like a proxy's listener setup:
 * named functions so the trace shows real call stacks (built with frame pointers).
 *
 *	demo-server PORT    listens on 127.0.0.1:PORT and [::1]:PORT, serves until SIGTERM
 *
 * It waits for a line on stdin before creating its sockets, so a tracer can attach first.
 */
#define _GNU_SOURCE	/* accept4 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int __attribute__((noinline)) bind_listener(int family, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		inet_pton(AF_INET, addr, &sin->sin_addr);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &sin6->sin6_addr);
		len = sizeof(*sin6);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 16)) {
		perror("demo-server: bind");
		exit(1);
	}
	return fd;
}

static void __attribute__((noinline)) accept_connection(int lfd)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC), one = 1;
	char buf[256];
	ssize_t n;

	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	n = read(fd, buf, sizeof(buf));
	if (n > 0 && write(fd, buf, (size_t)n) < 0)
		perror("demo-server: write");
	close(fd);
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 18080;
	struct pollfd pfd[2];
	char line[16];

	printf("%d\n", (int)getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 0;
	pfd[0].fd = bind_listener(AF_INET, "127.0.0.1", port);
	pfd[1].fd = bind_listener(AF_INET6, "::1", port);
	pfd[0].events = pfd[1].events = POLLIN;
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		if (poll(pfd, 2, -1) < 0)
			return 1;
		for (int i = 0; i < 2; i++)
			if (pfd[i].revents & POLLIN)
				accept_connection(pfd[i].fd);
	}
}
