/*
 * ref.c - the bare reference server make bench holds writd against.
 *
 * usage: ref SOCKET
 * Serves HTTP/1.1 on the Unix socket SOCKET, set up as writd sets up its
 * own: our accept loop (one thread, epoll) hands each connection to
 * libmicrohttpd with MHD_add_connection; libmicrohttpd runs a pool of
 * WRIT_HTTP_THREADS poll threads, no listen socket of its own, the same
 * per-connection memory limit.  Every POST, whatever its path, has its body
 * read, signed once with Ed25519 (libsodium, a key made at start) and is
 * answered 201 with a small JSON object carrying the signature.  Nothing
 * else: no policy, no ledger, no audit.  What writd does beyond this is
 * what the ratio in make bench measures.  Runs until killed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <microhttpd.h>
#include <sodium.h>

#include "server.h"

/* Longest body read; writd's request bodies are far smaller. */
#define REF_MAX_BODY 4096
/* Connections handed over per accept wakeup, as writd's ACCEPT_BATCH. */
#define REF_ACCEPT_BATCH 64

struct body {
	size_t len;
	char buf[REF_MAX_BODY];
};

static unsigned char sk[crypto_sign_SECRETKEYBYTES];

static enum MHD_Result
answer(struct MHD_Connection *c, unsigned int status, const char *text)
{
	struct MHD_Response *resp;
	enum MHD_Result r;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
	    MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *data, size_t *size, void **con_cls)
{
	struct body *b = *con_cls;
	unsigned char sig[crypto_sign_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	char text[256];

	(void)cls; (void)url; (void)version;
	if (strcmp(method, "POST") != 0)
		return answer(c, 405, "{\"error\":{\"code\":\"method\"}}\n");
	if (b == NULL) {
		if ((b = calloc(1, sizeof(*b))) == NULL)
			return MHD_NO;
		*con_cls = b;
		return MHD_YES;
	}
	if (*size > 0) {
		if (*size > sizeof(b->buf) - b->len)
			return MHD_NO;
		memcpy(b->buf + b->len, data, *size);
		b->len += *size;
		*size = 0;
		return MHD_YES;
	}
	crypto_sign_detached(sig, NULL, (unsigned char *)b->buf, b->len, sk);
	sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(text, sizeof(text), "{\"id\":\"ref\",\"sig\":\"%s\"}\n", b64);
	return answer(c, 201, text);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls; (void)c; (void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	struct MHD_Daemon *d;
	int lfd, ep;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: ref SOCKET\n");
		return 2;
	}
	if (sodium_init() < 0 || crypto_sign_keypair(pk, sk) != 0) {
		fprintf(stderr, "ref: libsodium failed\n");
		return 1;
	}
	memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
	umask(077);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, SOMAXCONN) != 0) {
		fprintf(stderr, "ref: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* As writd's server_start: see broker/server.c. */
	d = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_NO_LISTEN_SOCKET |
	    MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, handle, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)WRIT_HTTP_THREADS,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)4096,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WRIT_CONN_MEMORY,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	    MHD_OPTION_END);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (d == NULL || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) {
		fprintf(stderr, "ref: cannot start libmicrohttpd\n");
		return 1;
	}
	for (;;) {
		struct epoll_event evs[8];
		int n = epoll_wait(ep, evs, 8, -1);

		if (n < 0 && errno != EINTR)
			break;
		for (int k = 0; k < REF_ACCEPT_BATCH && n > 0; k++) {
			struct sockaddr_un peer = { .sun_family = AF_UNIX };
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (fd < 0)
				break;
			/* NB. libmicrohttpd closes fd itself when this fails. */
			(void)MHD_add_connection(d, fd, (struct sockaddr *)&peer,
			    (socklen_t)sizeof(peer));
		}
	}
	MHD_stop_daemon(d);
	return 1;
}
