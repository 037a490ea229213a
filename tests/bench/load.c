/*
 * load.c - a closed-loop load generator for writd (or the reference server)
 * over a Unix socket.
 *
 * usage: load SOCKET CLIENTS SECONDS BODY [COUNT]
 * Each client keeps one HTTP/1.1 keep-alive connection and POSTs BODY to
 * /v1/writs as soon as the previous answer is complete, for SECONDS, or
 * until COUNT answers have come when COUNT is given.  Prints one line:
 * answers/s, the share answered 201, and the p50, p99 and p99.9 latency
 * (from the first byte sent to the last byte of the answer).  Exits 0 when
 * any answer was a 201.  One thread, epoll.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Most clients at once. */
#define MAX_CLIENTS 1024
/* Latencies kept; answers past this still count towards the rate. */
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

/* The q-quantile of n sorted samples, in milliseconds. */
static double
quantile(const double *lat, size_t n, double q)
{
	size_t i = (size_t)((double)n * q);

	if (n == 0)
		return 0;
	return lat[i < n ? i : n - 1] * 1e3;
}

/* Send the whole request; a Unix socket takes a few hundred bytes at once. */
static int
send_req(struct client *c, const char *req, size_t len)
{
	c->got = 0;
	c->sent = now();
	if (write(c->fd, req, len) != (ssize_t)len) {
		fprintf(stderr, "load: write: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static struct client cl[MAX_CLIENTS];
	static double lat[MAX_SAMPLES];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char req[4096];
	size_t nlat = 0, ok = 0, total = 0, sent = 0, count = SIZE_MAX;
	int n, reqlen, ep, clients;
	double end, start;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: load SOCKET CLIENTS SECONDS BODY [COUNT]\n");
		return 2;
	}
	clients = atoi(argv[2]);
	if (clients < 1 || clients > MAX_CLIENTS || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "load: CLIENTS is 1 to %d, SOCKET a socket's path\n", MAX_CLIENTS);
		return 2;
	}
	if (argc == 6 && (count = strtoul(argv[5], NULL, 10)) == 0) {
		fprintf(stderr, "load: COUNT is a positive number\n");
		return 2;
	}
	memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
	reqlen = snprintf(req, sizeof(req), "POST /v1/writs HTTP/1.1\r\nHost: writ\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	    strlen(argv[4]), argv[4]);
	if (reqlen < 0 || (size_t)reqlen >= sizeof(req)) {
		fprintf(stderr, "load: BODY is too long\n");
		return 2;
	}
	if ((ep = epoll_create1(0)) < 0)
		return 1;
	for (int i = 0; i < clients; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

		cl[i].fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (cl[i].fd < 0 || connect(cl[i].fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, cl[i].fd, &ev) != 0) {
			fprintf(stderr, "load: %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
	}
	start = now();
	end = start + atof(argv[3]);
	for (int i = 0; i < clients && sent < count; i++, sent++)
		if (send_req(&cl[i], req, (size_t)reqlen) < 0)
			return 1;
	while (now() < end && total < count) {
		struct epoll_event evs[64];

		n = epoll_wait(ep, evs, 64, 100);
		for (int k = 0; k < n; k++) {
			struct client *c = &cl[evs[k].data.u32];
			ssize_t r = read(c->fd, c->buf + c->got, sizeof(c->buf) - c->got - 1);
			char *hdr_end, *cl_hdr;

			if (r <= 0) {
				fprintf(stderr, "load: connection closed by the server\n");
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
			if (sent < count) {
				sent++;
				if (send_req(c, req, (size_t)reqlen) < 0)
					return 1;
			}
		}
	}
	qsort(lat, nlat, sizeof(lat[0]), cmp);
	printf("clients %d: %.0f requests/s, %zu answers, %.1f%% answered 201, "
	    "p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms\n",
	    clients, (double)total / (now() - start), total,
	    total ? 100.0 * (double)ok / (double)total : 0,
	    quantile(lat, nlat, 0.5), quantile(lat, nlat, 0.99), quantile(lat, nlat, 0.999));
	return ok > 0 ? 0 : 1;
}
