/* sonde-test-client: drives tests/e2e/run.sh's connections.
 *
 *   sonde-test-client ADDR PORT N [LOCAL_PORT]
 *
 * Connects N times to ADDR (an IPv4 or IPv6 literal, loopback in the tests) on PORT, sends
 * "ping N\n" and waits for the echo.  With LOCAL_PORT the i-th connection is bound to local port
 * LOCAL_PORT + i first, so the server-side accept4() peer port is known in advance.  Prints
 * "local PORT" for each connection; exits 1 on the first failure. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int one_connection(const char *addr, int port, int lport, int i)
{
	struct sockaddr_storage peer, local;
	socklen_t plen, llen = sizeof(local);
	char msg[64], buf[64];
	int fd, family, one = 1, n, len;

	memset(&peer, 0, sizeof(peer));
	memset(&local, 0, sizeof(local));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *p = (struct sockaddr_in6 *)&peer, *l = (struct sockaddr_in6 *)&local;

		family = AF_INET6;
		p->sin6_family = l->sin6_family = AF_INET6;
		p->sin6_port = htons(port);
		l->sin6_port = htons(lport);
		if (inet_pton(AF_INET6, addr, &p->sin6_addr) != 1)
			return -EINVAL;
		l->sin6_addr = p->sin6_addr;
		plen = sizeof(*p);
	} else {
		struct sockaddr_in *p = (struct sockaddr_in *)&peer, *l = (struct sockaddr_in *)&local;

		family = AF_INET;
		p->sin_family = l->sin_family = AF_INET;
		p->sin_port = htons(port);
		l->sin_port = htons(lport);
		if (inet_pton(AF_INET, addr, &p->sin_addr) != 1)
			return -EINVAL;
		l->sin_addr = p->sin_addr;
		plen = sizeof(*p);
	}
	fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	if (lport) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&local, plen) < 0)
			goto fail;
	}
	if (connect(fd, (struct sockaddr *)&peer, plen) < 0)
		goto fail;
	if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0)
		goto fail;
	len = snprintf(msg, sizeof(msg), "ping %d\n", i);
	if (write(fd, msg, len) != len)
		goto fail;
	n = read(fd, buf, sizeof(buf));
	if (n != len || memcmp(buf, msg, len) != 0) {
		close(fd);
		return -EPROTO;
	}
	printf("local %d\n", family == AF_INET ? ntohs(((struct sockaddr_in *)&local)->sin_port)
					       : ntohs(((struct sockaddr_in6 *)&local)->sin6_port));
	close(fd);
	return 0;
fail:
	n = -errno;
	close(fd);
	return n;
}

int main(int argc, char **argv)
{
	int port, n, lport = 0, err;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: sonde-test-client ADDR PORT N [LOCAL_PORT]\n");
		return 2;
	}
	port = atoi(argv[2]);
	n = atoi(argv[3]);
	if (argc == 5)
		lport = atoi(argv[4]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < n; i++) {
		err = one_connection(argv[1], port, lport ? lport + i : 0, i);
		if (err < 0) {
			fprintf(stderr, "sonde-test-client: connection %d to %s port %d: %s\n", i,
				argv[1], port, strerror(-err));
			return 1;
		}
	}
	return 0;
}
