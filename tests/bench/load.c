/*
 * load.c - a closed-loop load generator for writd over a Unix socket.
 *
 * usage: load SOCKET CLIENTS SECONDS BODY
 * Each client keeps one HTTP/1.1 keep-alive connection and POSTs BODY to
 * /v1/writs as soon as the previous answer is complete.  Prints requests/s,
 * the share answered 201, and latency percentiles.  One thread, epoll.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 1024
#define MAX_SAMPLES (4 * 1024 * 1024)

struct client {
	int fd;
	char buf[16384];
	size_t got;
	double sent;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static struct client cl[MAX_CLIENTS];
	static double lat[MAX_SAMPLES];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char req[4096];
	size_t nlat = 0, ok = 0, total = 0;
	int n, reqlen, ep, clients;
	double end, start;

	if (argc != 5) {
		fprintf(stderr, "usage: load SOCKET CLIENTS SECONDS BODY\n");
		return 2;
	}
	clients = atoi(argv[2]);
	if (clients < 1 || clients > MAX_CLIENTS || strlen(argv[1]) >= sizeof(sa.sun_path))
		return 2;
	memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
	reqlen = snprintf(req, sizeof(req), "POST /v1/writs HTTP/1.1\r\nHost: writ\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	    strlen(argv[4]), argv[4]);
	ep = epoll_create1(0);
	for (int i = 0; i < clients; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

		cl[i].fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(cl[i].fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			perror("connect");
			return 1;
		}
		epoll_ctl(ep, EPOLL_CTL_ADD, cl[i].fd, &ev);
	}
	start = now();
	end = start + atof(argv[3]);
	for (int i = 0; i < clients; i++) {
		cl[i].sent = now();
		if (write(cl[i].fd, req, (size_t)reqlen) != reqlen)
			return 1;
	}
	while (now() < end) {
		struct epoll_event evs[64];

		n = epoll_wait(ep, evs, 64, 100);
		for (int k = 0; k < n; k++) {
			struct client *c = &cl[evs[k].data.u32];
			ssize_t r = read(c->fd, c->buf + c->got, sizeof(c->buf) - c->got - 1);
			char *hdr_end, *cl_hdr;

			if (r <= 0) {
				fprintf(stderr, "load: connection closed by writd\n");
				return 1;
			}
			c->got += (size_t)r;
			c->buf[c->got] = '\0';
			hdr_end = strstr(c->buf, "\r\n\r\n");
			cl_hdr = strcasestr(c->buf, "Content-Length:");
			if (hdr_end == NULL || cl_hdr == NULL ||
			    c->got < (size_t)(hdr_end + 4 - c->buf) + (size_t)atoi(cl_hdr + 15))
				continue;
			total++;
			if (strncmp(c->buf, "HTTP/1.1 201", 12) == 0)
				ok++;
			if (nlat < MAX_SAMPLES)
				lat[nlat++] = now() - c->sent;
			c->got = 0;
			c->sent = now();
			if (write(c->fd, req, (size_t)reqlen) != reqlen)
				return 1;
		}
	}
	qsort(lat, nlat, sizeof(lat[0]), cmp);
	printf("clients %d: %.0f requests/s, %.1f%% answered 201, p50 %.2f ms, p99 %.2f ms\n",
	    clients, (double)total / (now() - start), total ? 100.0 * (double)ok / (double)total : 0,
	    nlat ? lat[nlat / 2] * 1e3 : 0, nlat ? lat[nlat * 99 / 100] * 1e3 : 0);
	return ok > 0 ? 0 : 1;
}
