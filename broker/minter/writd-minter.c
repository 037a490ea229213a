/*
 * writd-minter - writd's key side: the secret store, the kinds' keys and
 * minting, the audit journal and the ledger (issue 16).
 *
 * writd, the front end, starts it before it holds anything secret, and
 * talks to it over one socketpair in the request table's messages
 * (proto.h) alone; minter.h is what it may ask.  The front end parses
 * everything sandboxes send; this process parses only the table, checks
 * every request again as if a compromised front end sent it, and keeps
 * every key to itself.  Not to be run by hand:
 *
 *	fd 3			the channel (a SOCK_STREAM socket)
 *	--config-fd N		the configuration text writd read, if any
 *	--passphrase-fd N	the sealed store's passphrase, if any
 *	--lock-fd N		writd's lock on its runtime directory: held
 *				here too, so that no other writd starts
 *				while this one still writes the logs
 *	--runtime-dir, --state-dir, --enterprise-policy, --policy
 *				as writd resolved them
 *
 * How it ends.  STOP: the clean stop (minter_stop: every writ revoked,
 * the logs closed), exit 0.  The channel's end (the front end died):
 * what is appended is made durable and nothing is revoked, as after a
 * crash (the next start brings the writs back from the ledger), exit 1.
 * A message the table refuses (one the channel's end cuts short too):
 * the front end is compromised; FATAL, then the clean stop (revoking
 * what it obtained), exit 1.  Signals that stop a process are blocked:
 * the front end says when to stop (a service manager's SIGTERM to the
 * whole group reaches both).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sodium.h>

#include "../../plugins/kind.h"
#include "../../policy/policy.h"
#include "audit.h"
#include "../config.h"
#include "../core.h"
#include "ledger.h"
#include "upstream.h"
#include "harden.h"
#include "minter.h"
#include "serve.h"
#include "store.h"

/* The channel's fd, as writd passes it. */
#define MINTER_CHANNEL_FD 3

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("writd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(1);
}

static int
fd_arg(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 0 || v > 1024)
		die("minter: a file descriptor number is expected, not '%s'", s);
	return (int)v;
}

static void
path_arg(char dst[PATH_MAX], const char *src)
{
	if (src[0] != '/' || strlen(src) >= PATH_MAX)
		die("minter: '%s' is not an absolute path", src);
	memcpy(dst, src, strlen(src) + 1);
}

/* The configuration text writd read, from fd: parsed as writd parsed it. */
static void
read_config(struct config *cfg, int fd)
{
	char *buf = malloc(WRIT_MAX_CONFIG + 1), err[WRIT_ERRLEN];
	size_t len = 0;
	ssize_t n;

	if (buf == NULL)
		die("minter: out of memory");
	while (len < WRIT_MAX_CONFIG + 1 &&
	    ((n = read(fd, buf + len, WRIT_MAX_CONFIG + 1 - len)) > 0 ||
	    (n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	close(fd);
	if (config_parse(cfg, buf, len, "the configuration", err) < 0)
		die("minter: %s", err);
	free(buf);
}

/*
 * While the store asks the terminal for its passphrase: ^C there kills
 * writd (its signals are not blocked yet; ours are), and this process
 * would go on reading the terminal, echo off, holding the lock.  Before
 * HELLO the front end sends nothing, so anything to read on the channel
 * is its end: then the terminal's modes are put back, and we exit.
 */
static pthread_t front_watch;
static atomic_bool asked;
static int tty_fd = -1;
static struct termios tty_modes;

static void *
watch_main(void *arg)
{
	struct pollfd p = { .fd = MINTER_CHANNEL_FD, .events = POLLIN | POLLRDHUP };

	(void)arg;
	while (!atomic_load(&asked))
		if (poll(&p, 1, 100) > 0) {
			if (tty_fd >= 0)
				(void)tcsetattr(tty_fd, TCSAFLUSH, &tty_modes);
			fputs("\nwritd: minter: the front end is gone\n", stderr);
			_exit(1);
		}
	return NULL;
}

/* The minter's clock: ends writs at their expiry, watches the logs' syncs. */
static pthread_t ticker;
static bool ticker_stopping;

static void *
ticker_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&writd_lock);
	while (!ticker_stopping) {
		int64_t now, next, e;
		bool busy;

		/* NB. unlocked: custody kicks the alarm under writd_lock. */
		pthread_mutex_unlock(&writd_lock);
		e = minter_tick(now_real(), &busy);
		pthread_mutex_lock(&writd_lock);
		if (ticker_stopping)
			break;
		now = now_mono();
		next = busy ? now + 1 : now + 3600;
		/* A second after the next writ's expiry: its token is dead then. */
		if (e != INT64_MAX && now + (e - now_real()) + 1 < next)
			next = now + (e - now_real()) + 1;
		core_nap(next, now);
	}
	pthread_mutex_unlock(&writd_lock);
	return NULL;
}

static void
ticker_stop(void)
{
	pthread_mutex_lock(&writd_lock);
	ticker_stopping = true;
	core_kick();
	pthread_mutex_unlock(&writd_lock);
	pthread_join(ticker, NULL);
}

static pthread_mutex_t flush_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flush_cond = PTHREAD_COND_INITIALIZER;
static bool flushed;

static void
on_flushed(void *arg, bool ok)
{
	(void)arg;
	(void)ok;
	pthread_mutex_lock(&flush_lock);
	flushed = true;
	pthread_cond_signal(&flush_cond);
	pthread_mutex_unlock(&flush_lock);
}

/*
 * The front end died: what is appended becomes durable (each log's
 * watchdog bounds a hung sync), nothing is revoked, and the process ends
 * as after a crash.
 */
static void __attribute__((noreturn))
lost(void)
{
	audit_wait(audit_appended(), on_flushed, NULL);
	pthread_mutex_lock(&flush_lock);
	while (!flushed)
		pthread_cond_wait(&flush_cond, &flush_lock);
	pthread_mutex_unlock(&flush_lock);
	(void)ledger_flush();
	fprintf(stderr, "writd: minter: the front end is gone; writs live on in the "
	    "ledger until the next start\n");
	_exit(1);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config-fd", required_argument, NULL, 'c' },
		{ "passphrase-fd", required_argument, NULL, 'f' },
		{ "lock-fd", required_argument, NULL, 'l' },
		{ "runtime-dir", required_argument, NULL, 'r' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "enterprise-policy", required_argument, NULL, 'e' },
		{ "policy", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	static struct config cfg;
	json_t *kconf[WRIT_MAX_KINDS] = { NULL };
	struct kind_env env = { .secret_get = store_get, .secret_put = store_put,
	    .secret_own = store_own };
	char err[WRIT_ERRLEN];
	struct policy *ent;
	enum serve_end end;
	sigset_t sigs;
	int c, passfd = -1, lockfd = -1, configfd = -1;

	if (harden_process(err) < 0)
		die("minter: %s", err);
	/* The front end says when to stop; nothing else does. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	config_defaults(&cfg);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': configfd = fd_arg(optarg); break;
		case 'f': passfd = fd_arg(optarg); break;
		case 'l': lockfd = fd_arg(optarg); break;
		case 'r': path_arg(cfg.runtime_dir, optarg); break;
		case 's': path_arg(cfg.state_dir, optarg); break;
		case 'e': path_arg(cfg.policy_enterprise, optarg); break;
		case 'p': path_arg(cfg.policy_user, optarg); break;
		default:
			fputs("usage: writd-minter (started by writd, not by hand)\n", stderr);
			return 2;
		}
	}
	if (optind != argc || isatty(MINTER_CHANNEL_FD) || fcntl(MINTER_CHANNEL_FD, F_GETFD) < 0) {
		fputs("usage: writd-minter (started by writd, not by hand)\n", stderr);
		return 2;
	}
	if (sodium_init() < 0)
		die("minter: libsodium failed to initialise");
	json_set_alloc_funcs(malloc, secret_zfree);
	if (configfd >= 0) {
		/* NB. the flags' paths win over the file's, as in writd. */
		struct config flags = cfg;

		config_defaults(&cfg);
		read_config(&cfg, configfd);
		memcpy(cfg.runtime_dir, flags.runtime_dir, PATH_MAX);
		memcpy(cfg.state_dir, flags.state_dir, PATH_MAX);
		if (flags.policy_enterprise[0] != '\0')
			memcpy(cfg.policy_enterprise, flags.policy_enterprise, PATH_MAX);
		if (flags.policy_user[0] != '\0')
			memcpy(cfg.policy_user, flags.policy_user, PATH_MAX);
	}
	if (cfg.runtime_dir[0] == '\0' || cfg.state_dir[0] == '\0')
		die("minter: --runtime-dir and --state-dir are needed");
	if (config_finish(&cfg, err) < 0)
		die("%s", err);
	/* The enterprise layer alone: what MINT's checks hold every order to. */
	if (policy_load(cfg.policy_enterprise, NULL, &ent, err) < 0)
		die("policy: %s", err);
	minter_set_limits(ent);
	core_init(&cfg);

	if (passfd < 0 && cfg.store_passphrase) {
		if ((tty_fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) >= 0 &&
		    tcgetattr(tty_fd, &tty_modes) != 0) {
			close(tty_fd);
			tty_fd = -1;
		}
		if (pthread_create(&front_watch, NULL, watch_main, NULL) != 0)
			die("minter: cannot watch the front end");
	}
	if (store_open(&cfg, passfd, err) < 0)
		die("secret store: %s", err);
	if (passfd < 0 && cfg.store_passphrase) {
		atomic_store(&asked, true);
		pthread_join(front_watch, NULL);
		if (tty_fd >= 0)
			close(tty_fd);
	}
	if (passfd >= 0)
		close(passfd);
	audit_configure(&cfg.audit);
	if (cfg.audit_syslog)
		audit_mirror_syslog();
	if (audit_open(cfg.state_dir, err) < 0)
		die("audit log: %s", err);
	env.state_dir = cfg.state_dir;
	for (size_t i = 0; writ_kinds[i] != NULL; i++)
		kconf[i] = cfg.kinds[i].config;
	if (kinds_init(kconf, &env, err) < 0)
		die("%s", err);
	if (upstream_start() < 0)
		die("minter: cannot start the upstream workers");
	/* After the workers: what the last run left is revoked or kept (RESTORE). */
	if (ledger_open(cfg.state_dir, cfg.audit.ledger_lag, err) < 0)
		die("ledger: %s", err);
	if (pthread_create(&ticker, NULL, ticker_main, NULL) != 0)
		die("minter: cannot start its clock");
	if (serve_start(MINTER_CHANNEL_FD) < 0)
		die("minter: cannot start its writer");

	end = serve_run();
	if (end == SERVE_LOST)
		lost();
	if (end == SERVE_REFUSED) {
		/* What a compromised front end obtained ends now. */
		serve_fatal("the front end sent a message the request table refuses");
		minter_stop_because("the front end broke the request table");
	}
	serve_stop();
	ticker_stop();
	audit_close();
	ledger_close();
	policy_free(minter_set_limits(NULL));
	kinds_fini();
	store_close();
	config_free(&cfg);
	if (lockfd >= 0)
		close(lockfd);
	return end == SERVE_STOPPED ? 0 : 1;
}
