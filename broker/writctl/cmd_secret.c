/*
 * cmd_secret.c - writctl secret set, ls, rm: root credentials in writd's
 * store, write-only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "../../agent-side/libwrit.h"
#include "id.h"
#include "writctl.h"

/* Largest value writctl reads (writd's limit is WRIT_MAX_SECRET). */
#define SECRET_READ_MAX (32 * 1024)

/*
 * Read a secret value from path (refused when others could read it or it
 * is not ours: a key in such a file is already out) or stdin.
 */
static int
read_value(const char *path, unsigned char *buf, size_t *ret_len)
{
	struct stat st;
	size_t n = 0;
	int fd = 0;

	if (path != NULL) {
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			fprintf(stderr, "writctl: %s: %s\n", path, fd < 0 ? strerror(errno) :
			    "not a regular file");
			if (fd >= 0)
				close(fd);
			return 2;
		}
		if ((st.st_mode & 077) != 0 || (st.st_uid != geteuid() && st.st_uid != 0)) {
			fprintf(stderr, "writctl: %s is readable by others or not yours "
			    "(mode %04o); chmod 600 it first\n", path, (unsigned)(st.st_mode & 07777));
			close(fd);
			return 2;
		}
	}
	for (;;) {
		ssize_t k = read(fd, buf + n, SECRET_READ_MAX + 1 - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
		if (n > SECRET_READ_MAX)
			break;
	}
	if (path != NULL)
		close(fd);
	if (n == 0 || n > SECRET_READ_MAX) {
		fprintf(stderr, "writctl: a secret is 1 to %d bytes\n", SECRET_READ_MAX);
		return 2;
	}
	*ret_len = n;
	return 0;
}

int
cmd_secret_set(int argc, char **argv)
{
	unsigned char *buf;
	struct writ_resp resp;
	const char *from = NULL;
	char path[128];
	size_t len = 0;
	int r;

	/* No NAME: the whole usage. */
	if (argc == 0) {
		ctl_usage(stderr);
		return 2;
	}
	if (argc == 3 && strcmp(argv[1], "--from-file") == 0)
		from = argv[2];
	else if (argc != 1) {
		fputs("usage: writctl secret set NAME [--from-file PATH]\n", stderr);
		return 2;
	}
	if (!secret_name_valid(argv[0])) {
		fputs("writctl: a secret name is 1-64 characters of [A-Za-z0-9._-]\n", stderr);
		return 2;
	}
	/* NB. the value never touches argv or the environment. */
	buf = malloc(SECRET_READ_MAX + 1);
	if (buf == NULL)
		return 1;
	if ((r = read_value(from, buf, &len)) == 0) {
		snprintf(path, sizeof(path), "/v1/secrets/%s", argv[0]);
		r = writ_http(ctl_admin, "PUT", path, (const char *)buf, len, WRIT_SHORT_TIMEOUT, &resp);
		if (r < 0 || resp.status != 200)
			r = ctl_fail(r, &resp);
		else
			printf("stored %s (%zu bytes)\n", argv[0], len);
		writ_resp_free(&resp);
	}
	explicit_bzero(buf, SECRET_READ_MAX + 1);
	free(buf);
	return r;
}

int
cmd_secret_ls(int argc, char **argv)
{
	struct writ_resp resp;
	json_t *e;
	size_t i;
	int r;

	if (argc > 1 || (argc == 1 && strcmp(argv[0], "--json") != 0)) {
		fputs("usage: writctl secret ls [--json]\n", stderr);
		return 2;
	}
	if ((r = ctl_call("GET", "/v1/secrets", NULL, 200, &resp)) != 0)
		return r;
	if (argc == 1)
		ctl_print_json(resp.body);
	else
		json_array_foreach(json_object_get(resp.body, "secrets"), i, e) {
			time_t t = (time_t)json_integer_value(json_object_get(e, "updated_at"));
			char when[32];

			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
			printf("%-24s %6lld bytes  updated %s\n",
			    json_string_value(json_object_get(e, "name")),
			    (long long)json_integer_value(json_object_get(e, "size")), when);
		}
	writ_resp_free(&resp);
	return 0;
}

int
cmd_secret_rm(int argc, char **argv)
{
	struct writ_resp resp;
	char path[128];
	int r;

	if (argc != 1 || strlen(argv[0]) > 64 || strchr(argv[0], '/') != NULL) {
		fputs("usage: writctl secret rm NAME\n", stderr);
		return 2;
	}
	snprintf(path, sizeof(path), "/v1/secrets/%s", argv[0]);
	if ((r = ctl_call("DELETE", path, NULL, 200, &resp)) != 0)
		return r;
	printf("removed %s\n", argv[0]);
	writ_resp_free(&resp);
	return 0;
}
