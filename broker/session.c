/*
 * session.c - sandbox sessions and their sockets.
 */
#include <acl/libacl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "approval.h"
#include "record.h"
#include "config.h"
#include "core.h"
#include "errors.h"
#include "fsutil.h"
#include "id.h"
#include "peer.h"
#include "server.h"
#include "session.h"
#include "writs.h"

static struct session *sessions;
static unsigned int nsessions;

static int
valid_workspace(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= 4096 || s[0] != '/')
		return 0;
	/* Shown to the approver: printable ASCII only. */
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f)
			return 0;
	return 1;
}

/*
 * What identifies a job run compactly, for every audit record of its
 * session: the issuer, the subject (GitHub's and GitLab's name the
 * repository or project and the ref) and the run's ids.
 */
static json_t *
identity_of(const json_t *claims)
{
	static const char *const keep[] = { "iss", "sub", "run_id", "run_attempt",
	    "pipeline_id", "job_id", NULL };
	json_t *id = json_object(), *v;

	for (size_t i = 0; keep[i] != NULL && id != NULL; i++)
		if ((v = json_object_get(claims, keep[i])) != NULL)
			json_object_set_new(id, keep[i], json_deep_copy(v));
	return id;
}

/*
 * Give uid perm (ACL_EXECUTE, or ACL_READ | ACL_WRITE) on path; with perm 0
 * take its entry away, and with uid (uid_t)-1 and perm 0 every named
 * user's.  The mask is recomputed; an ACL left with no named entry loses
 * its mask too, so the mode is the plain one again.  Returns 0 or -1 with
 * errno (EOPNOTSUPP: the filesystem has no ACLs).
 */
static int
acl_for_uid(const char *path, uid_t uid, acl_perm_t perm)
{
	acl_entry_t e, mask = NULL;
	acl_permset_t ps;
	acl_tag_t tag;
	bool named = false;
	uid_t *q;
	acl_t acl;
	int r = -1, id, k;

	if ((acl = acl_get_file(path, ACL_TYPE_ACCESS)) == NULL)
		return -1;
 again:
	for (id = ACL_FIRST_ENTRY; (k = acl_get_entry(acl, id, &e)) == 1; id = ACL_NEXT_ENTRY) {
		if (acl_get_tag_type(e, &tag) != 0)
			goto out;
		if (tag != ACL_USER)
			continue;
		if ((q = acl_get_qualifier(e)) == NULL)
			goto out;
		k = *q == uid || (uid == (uid_t)-1 && perm == 0);
		acl_free(q);
		if (!k)
			continue;
		/* NB. an iteration does not survive a delete: start it again. */
		if (acl_delete_entry(acl, e) != 0)
			goto out;
		goto again;
	}
	if (k < 0)
		goto out;
	if (perm != 0 && (acl_create_entry(&acl, &e) != 0 || acl_set_tag_type(e, ACL_USER) != 0 ||
	    acl_set_qualifier(e, &uid) != 0 || acl_get_permset(e, &ps) != 0 ||
	    acl_clear_perms(ps) != 0 || acl_add_perm(ps, perm) != 0))
		goto out;
	for (id = ACL_FIRST_ENTRY; acl_get_entry(acl, id, &e) == 1; id = ACL_NEXT_ENTRY) {
		if (acl_get_tag_type(e, &tag) != 0)
			goto out;
		if (tag == ACL_MASK)
			mask = e;
		else if (tag == ACL_USER || tag == ACL_GROUP)
			named = true;
	}
	if (named ? acl_calc_mask(&acl) != 0 : mask != NULL && acl_delete_entry(acl, mask) != 0)
		goto out;
	r = acl_set_file(path, ACL_TYPE_ACCESS, acl);
 out:
	acl_free(acl);
	return r;
}

/* Whether an open session other than except is for uid. */
static bool
uid_in_use(uid_t uid, const struct session *except)
{
	for (struct session *s = sessions; s != NULL; s = s->next)
		if (s != except && !s->closed && s->for_uid && s->uid == uid)
			return true;
	return false;
}

/*
 * Take uid's entries off the runtime dir and sessions/ once no open
 * session is for it.  NB. a failure leaves only search (x) on writd's own
 * directories, whose names below are private or unguessable; the next
 * start sweeps it.
 */
static void
uid_release(uid_t uid, const struct session *except)
{
	char path[4096];

	if (uid_in_use(uid, except))
		return;
	snprintf(path, sizeof(path), "%s/sessions", writd_cfg->runtime_dir);
	(void)acl_for_uid(path, uid, 0);
	(void)acl_for_uid(writd_cfg->runtime_dir, uid, 0);
}

/*
 * Let s->uid connect to s's socket: search on every directory writd owns
 * on the way (the runtime dir's parents are the admin's: root's /run, or a
 * dir that uid can already search), write on the socket (connect(2) needs
 * it).  The session's own dir first: a filesystem without ACLs is found
 * there, before a shared directory is touched.  On failure the caller
 * removes the socket and the session's dir; the shared dirs are cleaned
 * here.
 */
static int
grant_uid(struct session *s, bool socket_made, char err[WRIT_ERRLEN])
{
	char path[4096];
	const char *what;

	if (!socket_made) {
		what = s->dir;
		if (acl_for_uid(s->dir, s->uid, ACL_EXECUTE) != 0)
			goto fail;
		return 0;
	}
	snprintf(path, sizeof(path), "%s/sessions", writd_cfg->runtime_dir);
	if (acl_for_uid((what = s->sock), s->uid, ACL_READ | ACL_WRITE) != 0 ||
	    acl_for_uid((what = path), s->uid, ACL_EXECUTE) != 0 ||
	    acl_for_uid((what = writd_cfg->runtime_dir), s->uid, ACL_EXECUTE) != 0) {
		uid_release(s->uid, NULL);
		goto fail;
	}
	return 0;
 fail:
	if (errno == EOPNOTSUPP) {
		snprintf(err, WRIT_ERRLEN, "field 'uid': the filesystem of %s does not "
		    "support POSIX ACLs, which let uid %u use the session's socket; "
		    "put the runtime dir on one that does (tmpfs, ext4, xfs)", what,
		    (unsigned)s->uid);
		return WRIT_EBADREQ;
	}
	snprintf(err, WRIT_ERRLEN, "%s: an ACL entry for uid %u: %s", what, (unsigned)s->uid,
	    strerror(errno));
	return WRIT_EINTERNAL;
}

int
session_create(const char *name, const char *workspace, pid_t pid,
    json_t *claims, int64_t expires_at, long long uid, struct session **ret,
    char err[WRIT_ERRLEN])
{
	struct session *s;
	int r;

	if (!session_name_valid(name)) {
		snprintf(err, WRIT_ERRLEN, "field 'name' must be 1-%d characters of "
		    "[A-Za-z0-9._-], not starting with '.' or '-'", WRIT_MAX_SESSION_NAME);
		return WRIT_EBADREQ;
	}
	if (workspace != NULL && !valid_workspace(workspace)) {
		snprintf(err, WRIT_ERRLEN, "field 'workspace' must be an absolute path "
		    "of printable ASCII");
		return WRIT_EBADREQ;
	}
	/* NB. uid_t is 32 bits; (uid_t)-1 means "no change" to chown and is no one. */
	if (uid >= 0 && (uid >= (long long)UINT32_MAX || (uid_t)uid == geteuid())) {
		snprintf(err, WRIT_ERRLEN, "field 'uid' must be a uid (0-%u) other than "
		    "writd's own (%u)", UINT32_MAX - 1, (unsigned)geteuid());
		return WRIT_EBADREQ;
	}
	if (nsessions >= writd_cfg->max_sessions) {
		snprintf(err, WRIT_ERRLEN, "writd already has %u sessions (limits.max_sessions)",
		    nsessions);
		return WRIT_ESESSIONS;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL || (workspace != NULL && (s->workspace = strdup(workspace)) == NULL)) {
		free(s);
		return WRIT_ENOMEM;
	}
	s->pidfd = -1;
	if (uid >= 0) {
		s->for_uid = true;
		s->uid = (uid_t)uid;
	}
	if (claims != NULL) {
		s->claims = json_incref(claims);
		s->expires_at = expires_at;
		if ((s->identity = identity_of(claims)) == NULL) {
			r = WRIT_ENOMEM;
			goto fail;
		}
	}
	if (pid > 0) {
		s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (s->pidfd < 0) {
			snprintf(err, WRIT_ERRLEN, "field 'pid': no process %d to tie the session to",
			    (int)pid);
			r = WRIT_EBADREQ;
			goto fail;
		}
		s->pid = pid;
		/* Unknown (0): a restart then keeps its writs to their expiry. */
		(void)peer_start_time(pid, &s->pid_start);
	}
	random_id(s->id);
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->created_at = now_real();
	s->refs = 1;
	if ((size_t)snprintf(s->dir, sizeof(s->dir), "%s/sessions/%s",
	    writd_cfg->runtime_dir, s->id) >= sizeof(s->dir) ||
	    (size_t)snprintf(s->sock, sizeof(s->sock), "%s/agent.sock", s->dir) >= sizeof(s->sock)) {
		snprintf(err, WRIT_ERRLEN, "the runtime dir path is too long for a "
		    "session socket; use a shorter --runtime-dir");
		r = WRIT_EBADREQ;
		goto fail;
	}
	if ((r = fs_private_dir(s->dir, 0, err)) < 0)
		goto fail;
	if ((s->for_uid && (r = grant_uid(s, false, err)) < 0) ||
	    (r = server_listen(s->sock, s->id, &s->listener, err)) < 0) {
		rmdir(s->dir);
		goto fail;
	}
	if (s->for_uid && (r = grant_uid(s, true, err)) < 0) {
		server_unlisten(s->listener);
		unlink(s->sock);
		rmdir(s->dir);
		goto fail;
	}
	if (s->pidfd >= 0)
		server_watch_session(s->pidfd, true);
	s->next = sessions;
	sessions = s;
	nsessions++;
	*ret = s;
	return 0;
 fail:
	if (s->pidfd >= 0)
		close(s->pidfd);
	json_decref(s->claims);
	json_decref(s->identity);
	free(s->workspace);
	free(s);
	return r;
}

int
session_restore(const char *id, const char *name, pid_t pid, uint64_t pid_start,
    bool same_boot, struct session **ret, bool *ret_gone)
{
	struct session *s = session_find(id);
	uint64_t start;

	*ret_gone = false;
	if (s != NULL) {
		*ret = s;
		return 0;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return WRIT_ENOMEM;
	snprintf(s->id, sizeof(s->id), "%s", id);
	/* The name reaches terminals: only one that session_create would take. */
	snprintf(s->name, sizeof(s->name), "%s", session_name_valid(name) ? name : "restored");
	s->created_at = now_real();
	s->refs = 1;
	s->restored = true;
	s->pidfd = -1;
	if (pid > 0) {
		/* NB. open the pidfd first: then the check is of the process it names. */
		s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (!same_boot || s->pidfd < 0 || peer_start_time(pid, &start) < 0 ||
		    start != pid_start)
			*ret_gone = true;
		else {
			s->pid = pid;
			s->pid_start = pid_start;
			server_watch_session(s->pidfd, true);
		}
		if (*ret_gone && s->pidfd >= 0) {
			close(s->pidfd);
			s->pidfd = -1;
		}
	}
	s->next = sessions;
	sessions = s;
	nsessions++;
	*ret = s;
	return 0;
}

void
session_idle(struct session *s)
{
	struct writ *none = NULL;

	if (!s->restored || s->closed || s->live > 0)
		return;
	audit_log("session_closed", json_pack("{ssss}", "session", s->id, "why",
	    "the last writ it had before writd restarted is gone"));
	session_close(s, WRIT_ECLOSED, &none);
}

struct session *
session_by_pidfd(int pidfd)
{
	for (struct session *s = sessions; s != NULL; s = s->next)
		if (s->pidfd == pidfd)
			return s;
	return NULL;
}

struct session *
session_find(const char *id)
{
	for (struct session *s = sessions; s != NULL; s = s->next)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

void
session_close(struct session *s, int code, struct writ **revoke)
{
	struct session **pp;

	if (s->closed)
		return;
	s->closed = true;
	/* NB. before it is gone: every refusal is in a record (refusals.h). */
	session_refusals_flush(s);
	approval_cancel(s, code);
	writs_take_session(s, revoke);
	server_unlisten(s->listener);
	s->listener = NULL;
	if (s->pidfd >= 0) {
		server_watch_session(s->pidfd, false);
		close(s->pidfd);
		s->pidfd = -1;
	}
	if (!s->restored) {
		unlink(s->sock);
		rmdir(s->dir);
	}
	for (pp = &sessions; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	nsessions--;
	if (s->for_uid)
		uid_release(s->uid, s);
	session_unref(s);
}

unsigned int
session_expire(int64_t now, struct writ **revoke)
{
	unsigned int n = 0;

	for (struct session *s = sessions, *next; s != NULL; s = next) {
		next = s->next;
		/* NB. one second early, never late: the reaper may wake a second after. */
		if (s->expires_at == 0 || s->expires_at > now + 1)
			continue;
		audit_log("session_closed", session_audit(s, json_pack("{ssss}", "session", s->id,
		    "why", "its job's identity token expired (exp + the issuer's grace)")));
		session_close(s, WRIT_ECLOSED, revoke);
		n++;
	}
	return n;
}

int64_t
session_next_expiry(void)
{
	int64_t e = INT64_MAX;

	for (struct session *s = sessions; s != NULL; s = s->next)
		if (s->expires_at > 0 && s->expires_at < e)
			e = s->expires_at;
	return e;
}

json_t *
session_audit(const struct session *s, json_t *fields)
{
	/* A copy: the record is written, and freed, outside writd_lock. */
	if (fields != NULL && s != NULL && s->identity != NULL)
		json_object_set_new(fields, "identity", json_deep_copy(s->identity));
	return fields;
}

void
session_close_all(int code, struct writ **revoke)
{
	while (sessions != NULL)
		session_close(sessions, code, revoke);
}

void
session_ref(struct session *s)
{
	s->refs++;
}

void
session_unref(struct session *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	json_decref(s->claims);
	json_decref(s->identity);
	free(s->workspace);
	free(s);
}

bool
session_denied(struct session *s, int64_t now)
{
	unsigned int m = writd_cfg->cooldown_after, hits = 0;

	s->denials[s->ndenials++ % m] = now;
	for (unsigned int i = 0; i < m && i < s->ndenials; i++)
		if (now - s->denials[i] <= writd_cfg->cooldown_window)
			hits++;
	if (hits < m)
		return false;
	/* A session the person keeps saying no to is likely being abused. */
	s->cooldown_until = now + writd_cfg->cooldown;
	s->ndenials = 0;
	return true;
}

int64_t
session_cooling(const struct session *s, int64_t now)
{
	return s->cooldown_until > now ? s->cooldown_until - now : 0;
}

void
session_refusals_flush(struct session *s)
{
	json_t *counts = refusals_take_counts(&s->refused), *c;
	size_t i;

	json_array_foreach(counts, i, c) {
		json_object_set_new(c, "session", json_string(s->id));
		json_object_set_new(c, "session_name", json_string(s->name));
		audit_log("requests_refused", session_audit(s, json_incref(c)));
	}
	json_decref(counts);
}

/* Write the counts when they have waited long enough. */
static void
flush_due(struct session *s, int64_t now)
{
	if (refusals_due(&s->refused, now))
		session_refusals_flush(s);
}

int64_t
session_refusals_tick(int64_t now)
{
	int64_t next = INT64_MAX, e;

	for (struct session *s = sessions; s != NULL; s = s->next) {
		flush_due(s, now);
		if ((e = refusals_next_due(&s->refused)) < next)
			next = e;
	}
	return next;
}

bool
session_refused(struct session *s, const struct refusal *what)
{
	int64_t now = now_mono();

	bool counted_before = s->refused.nkeys > 0, written;

	flush_due(s, now);
	written = refusals_add(&s->refused, what, now, now_real());
	/* The first count: the reaper writes it in time if no refusal does. */
	if (!written && !counted_before)
		core_kick_at(now_real() + (refusals_next_due(&s->refused) - now));
	return written;
}

bool
session_refusal_room(struct session *s)
{
	int64_t now = now_mono();

	flush_due(s, now);
	return refusals_room(&s->refused, now);
}

json_t *
session_json(const struct session *s)
{
	json_t *j = json_pack("{sssssososIsisisosbss}", "id", s->id, "name", s->name,
	    "workspace", s->workspace ? json_string(s->workspace) : json_null(),
	    "socket", s->restored ? json_null() : json_string(s->sock),
	    "created_at", (json_int_t)s->created_at,
	    "pending", (int)s->pending, "live", (int)s->live,
	    "pid", s->pidfd >= 0 ? json_integer(s->pid) : json_null(),
	    "restored", s->restored, "via", s->spool ? "spool" : "socket");

	/* The other uid that may use its socket. */
	if (j != NULL && s->for_uid)
		json_object_set_new(j, "uid", json_integer(s->uid));
	/* A job's: who it is, as its token proved, and when it ends. */
	if (j != NULL && s->claims != NULL) {
		json_object_set_new(j, "identity", json_string("verified"));
		json_object_set_new(j, "claims", json_deep_copy(s->claims));
		json_object_set_new(j, "expires_at", json_integer(s->expires_at));
	}
	return j;
}

json_t *
session_list(void)
{
	json_t *a = json_array();

	for (struct session *s = sessions; s != NULL && a != NULL; s = s->next)
		json_array_append_new(a, session_json(s));
	return a;
}

void
session_sweep(const char *runtime_dir)
{
	char path[4096], sub[64];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/sessions", runtime_dir);
	/*
	 * A crashed run's entries for other uids: no session is open yet.  NB.
	 * every named user's goes, so these two dirs are writd's alone to share.
	 */
	(void)acl_for_uid(path, (uid_t)-1, 0);
	(void)acl_for_uid(runtime_dir, (uid_t)-1, 0);
	d = opendir(path);
	if (d == NULL)
		return;
	/* Sessions do not outlive writd: their sockets would lead nowhere. */
	while ((e = readdir(d)) != NULL) {
		if (!id_valid(e->d_name))
			continue;
		snprintf(sub, sizeof(sub), "%.32s/agent.sock", e->d_name);
		unlinkat(dirfd(d), sub, 0);
		unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}
