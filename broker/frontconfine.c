/*
 * frontconfine.c - the front end's rules (frontconfine.h), made from its
 * config and handed to confine_front.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "confine.h"
#include "errors.h"
#include "frontconfine.h"

/* Programs an approver runs: read and run, where they are directories of their own. */
static const char *const sys_exec[] = { "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
    "/libx32", NULL };

/* The rules being made, and the paths they name. */
struct rules {
	struct confine_path paths[CONFINE_MAX_PATHS];
	char names[CONFINE_MAX_PATHS][PATH_MAX];
	const char *hidden[2];
	uint16_t ports[CONFINE_MAX_PORTS];
	struct confine_rules r;
};

/* Add path with access.  Returns 0, or WRIT_EBADREQ when the rules are full. */
static int
add(struct rules *rs, const char *path, unsigned int access, char err[WRIT_ERRLEN])
{
	size_t n = rs->r.npaths;
	char real[PATH_MAX];

	/* Resolved where it can be (a "..", a link): confine_front refuses a path not plain. */
	if (realpath(path, real) != NULL)
		path = real;
	if (n == CONFINE_MAX_PATHS) {
		snprintf(err, WRIT_ERRLEN, "confine: more than %d paths to keep (at %s)",
		    CONFINE_MAX_PATHS, path);
		return WRIT_EBADREQ;
	}
	snprintf(rs->names[n], PATH_MAX, "%s", path);
	rs->paths[n] = (struct confine_path){ rs->names[n], access };
	rs->r.npaths++;
	return 0;
}

/* Does path reach a hidden one? */
static bool
reaches_hidden(const struct rules *rs, const char *path)
{
	for (size_t i = 0; i < rs->r.nhidden; i++)
		if (confine_path_reaches(path, rs->hidden[i]))
			return true;
	return false;
}

/*
 * A file read again later (a policy, a JWKS): its directory, so that a
 * new file renamed over it is read too, unless that reaches what is
 * hidden; then the file itself.  A file not there is left out (it is
 * never read then); one that cannot be kept readable is said on stderr.
 */
static int
add_file(struct rules *rs, const char *what, const char *file, char err[WRIT_ERRLEN])
{
	char dir[PATH_MAX], real[PATH_MAX], *slash;
	struct stat st;

	if (file[0] != '/' || stat(file, &st) != 0 || realpath(file, real) == NULL)
		return 0;
	file = real;
	snprintf(dir, sizeof(dir), "%s", file);
	if ((slash = strrchr(dir, '/')) != NULL)
		slash[slash == dir ? 1 : 0] = '\0';
	if (!reaches_hidden(rs, dir))
		return add(rs, dir, CONFINE_READ, err);
	if (!reaches_hidden(rs, file))
		return add(rs, file, CONFINE_READ, err);
	fprintf(stderr, "writd: warning: %s %s lies in the state directory, which the front "
	    "end may not read: it is not read again\n", what, file);
	return 0;
}

/* A directory of its own (not a link into /usr, as merged /usr makes /bin). */
static bool
own_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * The TCP port of an https URL ("https://host[:port]/..."), and whether
 * its host is a name to resolve.  Returns 0, or WRIT_EBADREQ.
 */
static int
url_port(const char *url, uint16_t *ret_port, bool *ret_name, char err[WRIT_ERRLEN])
{
	char host[256], addr[16];
	const char *a = url + strlen("https://"), *end = a + strcspn(a, "/?#"), *at, *colon;
	size_t n;
	long port = 443;

	/* userinfo@host: the host is after the last '@'. */
	for (at = a; (at = memchr(at, '@', (size_t)(end - at))) != NULL; a = ++at)
		;
	if (*a == '[') {
		colon = memchr(a, ']', (size_t)(end - a));
		if (colon == NULL)
			goto bad;
		n = (size_t)(colon - a - 1);
		colon = colon + 1 < end && colon[1] == ':' ? colon + 1 : NULL;
		a++;
	} else {
		colon = memchr(a, ':', (size_t)(end - a));
		n = (size_t)((colon != NULL ? colon : end) - a);
	}
	if (n == 0 || n >= sizeof(host))
		goto bad;
	memcpy(host, a, n);
	host[n] = '\0';
	if (colon != NULL) {
		char *e;

		port = strtol(colon + 1, &e, 10);
		if (e != end || e == colon + 1 || port < 1 || port > 65535)
			goto bad;
	}
	*ret_port = (uint16_t)port;
	*ret_name = inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1;
	return 0;
 bad:
	snprintf(err, WRIT_ERRLEN, "confine: ci.issuers: %.200s: no host and port to let "
	    "TCP through to", url);
	return WRIT_EBADREQ;
}

/* Let TCP through to port (once). */
static int
add_port(struct rules *rs, uint16_t port, char err[WRIT_ERRLEN])
{
	for (size_t i = 0; i < rs->r.ntcp_connect; i++)
		if (rs->ports[i] == port)
			return 0;
	if (rs->r.ntcp_connect == CONFINE_MAX_PORTS) {
		snprintf(err, WRIT_ERRLEN, "confine: ci.issuers: more than %d TCP ports",
		    CONFINE_MAX_PORTS);
		return WRIT_EBADREQ;
	}
	rs->ports[rs->r.ntcp_connect++] = port;
	return 0;
}

/* ci.issuers: their files, read; their URLs' ports, and DNS for a name. */
static int
add_issuers(struct rules *rs, const struct config *cfg, char err[WRIT_ERRLEN])
{
	bool names = false;
	int r;

	for (unsigned int i = 0; i < cfg->nissuers; i++) {
		const struct oidc_issuer *is = &cfg->issuers[i];
		uint16_t port;
		bool name;

		if ((r = add_file(rs, "ci.issuers jwks_file", is->jwks_file, err)) < 0 ||
		    (r = add_file(rs, "ci.issuers ca_file", is->ca_file, err)) < 0)
			return r;
		if (is->jwks_url[0] == '\0')
			continue;
		if ((r = url_port(is->jwks_url, &port, &name, err)) < 0 ||
		    (r = add_port(rs, port, err)) < 0)
			return r;
		names |= name;
	}
	if (names) {
		char conf[PATH_MAX];

		/* NB. DNS answers too large for UDP come over TCP. */
		if ((r = add_port(rs, 53, err)) < 0)
			return r;
		/* A stub resolver's file lives elsewhere (/run/systemd/resolve). */
		if (realpath("/etc/resolv.conf", conf) != NULL &&
		    strncmp(conf, "/etc/", 5) != 0 &&
		    (r = add_file(rs, "the resolver's", conf, err)) < 0)
			return r;
	}
	return 0;
}

int
frontconfine_apply(const struct config *cfg, char err[WRIT_ERRLEN])
{
	static struct rules rs;
	static char state[PATH_MAX], sealed[PATH_MAX + 32], xreal[PATH_MAX];
	const char *xauth = secure_getenv("XAUTHORITY");
	int r;

	memset(&rs, 0, sizeof(rs));
	rs.r.paths = rs.paths;
	rs.r.hidden = rs.hidden;
	rs.r.tcp_connect = rs.ports;
	rs.r.keep_caps = 0;
	/* Resolved, as the rules' paths are (writd made it: it exists). */
	if (realpath(cfg->state_dir, state) == NULL)
		snprintf(state, sizeof(state), "%s", cfg->state_dir);
	snprintf(sealed, sizeof(sealed), "%s/secrets.sealed", state);
	rs.hidden[rs.r.nhidden++] = state;
	rs.hidden[rs.r.nhidden++] = sealed;

	if ((r = add(&rs, cfg->runtime_dir, CONFINE_WRITE, err)) < 0 ||
	    (r = add(&rs, "/proc", CONFINE_READ, err)) < 0 ||
	    (r = add(&rs, "/etc", CONFINE_READ, err)) < 0 ||
	    (r = add(&rs, "/dev/null", CONFINE_READ | CONFINE_WRITE, err)) < 0)
		return r;
	for (size_t i = 0; sys_exec[i] != NULL; i++)
		if (own_dir(sys_exec[i]) &&
		    (r = add(&rs, sys_exec[i], CONFINE_READ | CONFINE_EXEC, err)) < 0)
			return r;
	if ((r = add(&rs, "/dev/urandom", CONFINE_READ, err)) < 0 ||
	    (access("/dev/tty", F_OK) == 0 &&
	    (r = add(&rs, "/dev/tty", CONFINE_READ | CONFINE_WRITE | CONFINE_IOCTL, err)) < 0))
		return r;
#ifdef WRIT_SAN_DIR
	/* SAN=1 builds only: where sanitizer reports go (tests/shims/sanopts.c). */
	if (access(WRIT_SAN_DIR, F_OK) == 0 && (r = add(&rs, WRIT_SAN_DIR, CONFINE_WRITE, err)) < 0)
		return r;
#endif
	if (cfg->approval_command[0] != '\0' &&
	    (r = add(&rs, cfg->approval_command, CONFINE_READ | CONFINE_EXEC, err)) < 0)
		return r;
	/* A desktop approver's X11 cookie (approver.c passes XAUTHORITY on). */
	if (xauth != NULL && xauth[0] == '/' && realpath(xauth, xreal) != NULL &&
	    !reaches_hidden(&rs, xreal) && (r = add(&rs, xreal, CONFINE_READ, err)) < 0)
		return r;
	if ((r = add_file(&rs, "the enterprise policy", cfg->policy_enterprise, err)) < 0 ||
	    (cfg->policy_user[0] != '\0' &&
	    (r = add_file(&rs, "the user policy", cfg->policy_user, err)) < 0) ||
	    (r = add_issuers(&rs, cfg, err)) < 0)
		return r;
	return confine_front(&rs.r, err);
}
