/*
 * fsutil.c - private directories and Unix listen sockets.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "errors.h"
#include "fsutil.h"

/* Most symlinks followed on one path, as the kernel's own limit. */
#define FS_MAX_SYMLINKS 40

/*
 * A POSIX access ACL as the kernel stores it in the system.posix_acl_access
 * xattr (include/uapi/linux/posix_acl_xattr.h, acl(5)): a little-endian
 * u32 version 2, then 8-byte entries {u16 tag, u16 perm, u32 id}.  Read
 * here without libacl, so writctl and writ-sandbox, which share these
 * checks, link no more than before; writd writes ACLs with libacl.
 */
#define ACL_XATTR_VERSION 2
#define ACL_TAG_USER_OBJ 0x01
#define ACL_TAG_USER 0x02
#define ACL_TAG_GROUP_OBJ 0x04
#define ACL_TAG_MASK 0x10
#define ACL_TAG_OTHER 0x20
#define ACL_PERM_X 1
/* Most ACL entries read; ext4 fits about 500 in a block. */
#define FS_MAX_ACL_ENTRIES 1024

/*
 * Is the group/other access mode shows on dir exactly what writd's
 * sessions for other uids give (session.h): named users may search it
 * (u:N:--x) and nothing more, mask --x (shown as mode 0710), the owning
 * group and others nothing?  Such a user can reach a name it already knows
 * below dir, which is 0600/0700 unless it too has an entry: it cannot list,
 * add, rename or remove anything.  Any other ACL (a group entry, a named
 * user who may read or write) is refused as a group bit is.
 */
static bool
search_only_acl(const char *dir, mode_t mode)
{
	static unsigned char buf[4 + 8 * FS_MAX_ACL_ENTRIES];
	uint16_t tag, perm;
	uint32_t v;
	ssize_t n;

	if ((mode & 077) != 010)
		return false;
	/* NB. static: writd checks at start or under its lock; the clients have one thread. */
	n = lgetxattr(dir, "system.posix_acl_access", buf, sizeof(buf));
	if (n < 4 || (n - 4) % 8 != 0)
		return false;
	memcpy(&v, buf, 4);
	if (le32toh(v) != ACL_XATTR_VERSION)
		return false;
	for (ssize_t i = 4; i < n; i += 8) {
		memcpy(&tag, buf + i, 2);
		memcpy(&perm, buf + i + 2, 2);
		tag = le16toh(tag);
		perm = le16toh(perm);
		switch (tag) {
		case ACL_TAG_USER_OBJ:
			break;
		case ACL_TAG_USER:
		case ACL_TAG_MASK:
			if ((perm & ~ACL_PERM_X) != 0)
				return false;
			break;
		case ACL_TAG_GROUP_OBJ:
		case ACL_TAG_OTHER:
			if (perm != 0)
				return false;
			break;
		default:	/* named groups, and anything unknown */
			return false;
		}
	}
	return true;
}

/*
 * One component on the way to a private directory: whoever may rename or
 * replace it can swap our directory for theirs after the checks, and learn
 * or fake every socket in it.
 */
static int
check_component(const char *path, const struct stat *st, bool (*trusted)(uid_t),
    char err[WRIT_ERRLEN])
{
	if (st->st_uid != 0 && (trusted != NULL ? !trusted(st->st_uid) : st->st_uid != geteuid())) {
		snprintf(err, WRIT_ERRLEN, "%s belongs to uid %u, who could swap what lies "
		    "under it; use a directory that only you or root own", path,
		    (unsigned)st->st_uid);
		return WRIT_EFORBIDDEN;
	}
	/* A symlink's own mode means nothing; its owner and its dir are checked. */
	if (S_ISLNK(st->st_mode))
		return 0;
	if (!S_ISDIR(st->st_mode)) {
		snprintf(err, WRIT_ERRLEN, "%s is not a directory", path);
		return WRIT_EFORBIDDEN;
	}
	/* NB. sticky (like /tmp, 1777 root): others may add names, not rename ours. */
	if ((st->st_mode & 022) != 0 && (st->st_mode & S_ISVTX) == 0) {
		snprintf(err, WRIT_ERRLEN, "%s is writable by %s (mode %04o) and not sticky: "
		    "they could swap what lies under it; chmod go-w it or use another "
		    "directory", path, (st->st_mode & 002) ? "everyone" : "its group",
		    (unsigned)(st->st_mode & 07777));
		return WRIT_EFORBIDDEN;
	}
	return 0;
}

/*
 * Check every component of dir's parent, from /, with lstat; a symlink on
 * the way is followed by hand (its target checked the same way), so no
 * directory anyone else controls lies on the path the kernel resolves.
 * With missing_ok, the walk ends at the first component that does not
 * exist yet (we are about to make it, 0700).
 */
static int
check_parents(const char *dir, int missing_ok, bool (*trusted)(uid_t), char err[WRIT_ERRLEN])
{
	char path[PATH_MAX], next[PATH_MAX], link[PATH_MAX], *base;
	struct stat st;
	int hops = 0, r, n;
	ssize_t k;

	if (lstat("/", &st) != 0) {
		snprintf(err, WRIT_ERRLEN, "/: %s", strerror(errno));
		return WRIT_EINTERNAL;
	}
	if ((r = check_component("/", &st, trusted, err)) < 0)
		return r;
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		goto toolong;
	*strrchr(path, '/') = '\0';	/* dir itself is check_dir's */
	for (size_t i = 1; path[0] != '\0'; i++) {
		char c = path[i];

		if (c != '/' && c != '\0')
			continue;
		if (path[i - 1] == '/') {	/* "//" or a trailing '/' */
			if (c == '\0')
				break;
			continue;
		}
		path[i] = '\0';
		if (lstat(path, &st) != 0) {
			if (missing_ok && errno == ENOENT)
				break;
			snprintf(err, WRIT_ERRLEN, "%s: %s", path, strerror(errno));
			return WRIT_EINTERNAL;
		}
		if ((r = check_component(path, &st, trusted, err)) < 0)
			return r;
		if (S_ISLNK(st.st_mode)) {
			if (++hops > FS_MAX_SYMLINKS ||
			    (k = readlink(path, link, sizeof(link) - 1)) <= 0) {
				snprintf(err, WRIT_ERRLEN, "%s: %s", path, hops > FS_MAX_SYMLINKS ?
				    strerror(ELOOP) : strerror(errno));
				return WRIT_EINTERNAL;
			}
			link[k] = '\0';
			/* Resolve against the link's own directory, then walk anew. */
			base = strrchr(path, '/');
			*base = '\0';
			path[i] = c;
			n = snprintf(next, sizeof(next), "%s%s%s%s", link[0] == '/' ? "" : path,
			    link[0] == '/' ? "" : "/", link, path + i);
			if (n < 0 || (size_t)n >= sizeof(next))
				goto toolong;
			memcpy(path, next, (size_t)n + 1);
			i = 0;
			continue;
		}
		path[i] = c;
		if (c == '\0')
			break;
	}
	return 0;
 toolong:
	snprintf(err, WRIT_ERRLEN, "%.200s: path too long", dir);
	return WRIT_EBADREQ;
}

static int
check_dir(const char *dir, char err[WRIT_ERRLEN])
{
	struct stat st;

	if (lstat(dir, &st) != 0) {
		snprintf(err, WRIT_ERRLEN, "%s: %s", dir, strerror(errno));
		return WRIT_EINTERNAL;
	}
	/* Someone else's or a shared directory could be swapped under us. */
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    ((st.st_mode & 077) != 0 && !search_only_acl(dir, st.st_mode))) {
		snprintf(err, WRIT_ERRLEN, "%s must be a directory (not a symlink) "
		    "owned by uid %u with mode 0700 (or 0710 from ACL entries that let "
		    "named users search it and nothing more); it is %s, owner %u, mode %04o",
		    dir, (unsigned)geteuid(), S_ISLNK(st.st_mode) ? "a symlink" :
		    S_ISDIR(st.st_mode) ? "a directory" : "not a directory",
		    (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return WRIT_EFORBIDDEN;
	}
	return check_parents(dir, 0, NULL, err);
}

int
fs_private_dir(const char *dir, int parents, char err[WRIT_ERRLEN])
{
	char path[4096];
	size_t len = strlen(dir);
	int r;

	if (len == 0 || len >= sizeof(path) || dir[0] != '/') {
		snprintf(err, WRIT_ERRLEN, "%s: not an absolute path", dir);
		return WRIT_EBADREQ;
	}
	/* Before making anything: never mkdir where someone else could steer it. */
	if ((r = check_parents(dir, 1, NULL, err)) < 0)
		return r;
	if (parents) {
		memcpy(path, dir, len + 1);
		for (char *p = path + 1; *p != '\0'; p++) {
			if (*p != '/')
				continue;
			*p = '\0';
			if (mkdir(path, 0700) != 0 && errno != EEXIST) {
				snprintf(err, WRIT_ERRLEN, "%s: %s", path, strerror(errno));
				return WRIT_EINTERNAL;
			}
			*p = '/';
		}
	}
	/* NB. made with its final mode, never chmod-ed after the fact. */
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, WRIT_ERRLEN, "%s: %s", dir, strerror(errno));
		return WRIT_EINTERNAL;
	}
	return check_dir(dir, err);
}

int
fs_check_parents(const char *dir, bool (*trusted)(uid_t uid), char err[WRIT_ERRLEN])
{
	return check_parents(dir, 0, trusted, err);
}

int
fs_check_client_dir(const char *dir, bool (*trusted)(uid_t uid), char err[WRIT_ERRLEN])
{
	char perr[WRIT_ERRLEN];
	const char *why = NULL;
	struct stat st;
	int r;

	if (dir[0] != '/') {
		snprintf(err, WRIT_ERRLEN, "%s: not an absolute path", dir);
		return WRIT_EBADREQ;
	}
	if (lstat(dir, &st) != 0) {
		snprintf(err, WRIT_ERRLEN, "%s: %s", dir, strerror(errno));
		return errno == ENOENT ? WRIT_ENOTFOUND : WRIT_EINTERNAL;
	}
	if (S_ISLNK(st.st_mode))
		why = "is a symlink, which could be pointed elsewhere; pass the real directory";
	else if (!S_ISDIR(st.st_mode))
		why = "is not a directory";
	else if (st.st_uid != 0 && !trusted(st.st_uid))
		why = "belongs to another user, who may have made it to catch what you "
		    "send; remove it (as its owner or root) and restart writd";
	else if ((st.st_mode & 077) != 0 && !search_only_acl(dir, st.st_mode))
		why = "is open to others (it must be mode 0700, or 0710 from ACL entries "
		    "that let named users search it and nothing more); chmod 700 it";
	if (why != NULL) {
		snprintf(err, WRIT_ERRLEN, "%s (owner uid %u, mode %04o) %s", dir,
		    (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), why);
		return WRIT_EFORBIDDEN;
	}
	if ((r = check_parents(dir, 0, trusted, perr)) < 0) {
		snprintf(err, WRIT_ERRLEN, "%s: %s", dir, perr);
		return r;
	}
	return 0;
}

int
fs_lock(const char *dir, int *ret_fd, char err[WRIT_ERRLEN])
{
	int dfd, fd;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(err, WRIT_ERRLEN, "%s: %s", dir, strerror(errno));
		return WRIT_EINTERNAL;
	}
	fd = openat(dfd, "writd.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	close(dfd);
	if (fd < 0) {
		snprintf(err, WRIT_ERRLEN, "%s/writd.lock: %s", dir, strerror(errno));
		return WRIT_EINTERNAL;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		snprintf(err, WRIT_ERRLEN, "%s: another writd is running with this "
		    "runtime dir", dir);
		close(fd);
		return WRIT_EBUSY;
	}
	*ret_fd = fd;
	return 0;
}

int
fs_listen_unix(const char *path, int *ret_fd, char err[WRIT_ERRLEN])
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, WRIT_ERRLEN, "socket path %s is longer than %zu bytes; "
		    "use a shorter --runtime-dir", path, sizeof(sa.sun_path) - 1);
		return WRIT_EBADREQ;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto syserr;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, WRIT_ERRLEN, "%s exists and is not a socket", path);
			close(fd);
			return WRIT_EFORBIDDEN;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN) {
			snprintf(err, WRIT_ERRLEN, "%s: another writd is listening there", path);
			close(fd);
			return WRIT_EBUSY;
		}
		close(fd);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0 || unlink(path) != 0)
			goto syserr;
	}
	/*
	 * NB. the umask leaves 0700; 0600 is what a socket needs.  The chmod
	 * races with nobody: the directory is ours alone.
	 */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0600) != 0 ||
	    listen(fd, 128) != 0)
		goto syserr;
	*ret_fd = fd;
	return 0;
 syserr:
	snprintf(err, WRIT_ERRLEN, "%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return WRIT_EINTERNAL;
}

int
fs_write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len > 0) {
		ssize_t n = write(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}
