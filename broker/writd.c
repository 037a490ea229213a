/*
 * writd - the writ broker.
 *
 * Holds the long-lived credentials outside the sandbox and issues scoped,
 * short-lived writs over per-session Unix sockets, each after a fresh human
 * approval.  Only start-up may exit; see shared/DESIGN.md.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "../policy/policy.h"
#include "api.h"
#include "approval.h"
#include "record.h"
#include "config.h"
#include "confine.h"
#include "core.h"
#include "errors.h"
#include "frontconfine.h"
#include "fsutil.h"
#include "harden.h"
#include "link.h"
#include "reaper.h"
#include "restore.h"
#include "server.h"
#include "session.h"
#include "oidc.h"
#include "writs.h"
#include "minter/minter.h"
#ifdef WRIT_TEST_FRONTPROBE
#include "../tests/confine/frontprobe.h"
#endif

static const char usage[] =
"usage: writd [--config FILE] [--runtime-dir DIR] [--state-dir DIR]\n"
"             [--enterprise-policy FILE] [--policy FILE]\n"
"\n"
"The writ broker: issues scoped, short-lived credentials to sandboxed\n"
"agents over per-session Unix sockets, each after a fresh human approval.\n"
"\n"
"  --config FILE       JSON configuration (unknown keys are an error)\n"
"  --runtime-dir DIR   sockets (default $XDG_RUNTIME_DIR/writ, else /tmp/writ-UID)\n"
"  --state-dir DIR     keys and state (default $XDG_STATE_HOME/writ, else\n"
"                      ~/.local/state/writ)\n"
"  --enterprise-policy FILE  root-owned policy no user rule overrides\n"
"                      (default " WRIT_ENTERPRISE_POLICY "; absent: none)\n"
"  --policy FILE       the user's policy (default ~/.config/writ/policy.json)\n"
"  --passphrase-fd N   read the sealed store's passphrase from fd N\n"
"  --help, --version\n"
"\n"
"Runs in the foreground; SIGTERM or SIGINT stops it cleanly; SIGHUP rotates\n"
"the audit log and reloads the policy (a broken one is refused and the old\n"
"one stays).  Approve requests with `writctl watch`; create sessions with\n"
"`writctl sessions new`.\n";

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("writd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/*
 * Nothing inherited stays open but keep_fd: an fd from our parent is not
 * ours to hold.  After the config is read, which may come through a pipe.
 */
static void
close_inherited(int keep_fd)
{
	if (keep_fd > 3 && close_range(3, (unsigned int)keep_fd - 1, 0) != 0)
		die("cannot close inherited file descriptors: %s", strerror(errno));
	if (close_range(keep_fd >= 3 ? (unsigned int)keep_fd + 1 : 3, ~0U, 0) != 0)
		die("cannot close inherited file descriptors: %s", strerror(errno));
}

/* Copy an absolute path into a PATH_MAX field; -1 if it is not one. */
static int
set_path(char dst[PATH_MAX], const char *src)
{
	if (src[0] != '/' || strlen(src) >= PATH_MAX)
		return -1;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

/* Both layers, for the front end's decisions (the minter reads the enterprise's itself). */
static int
load_policy(const struct config *c, struct policy **ret, char err[WRIT_ERRLEN])
{
	return policy_load(c->policy_enterprise, c->policy_user[0] ? c->policy_user : NULL,
	    ret, err);
}

/*
 * What writctl policy check warns about, on stderr at each load: the
 * policy is in force, but admits more than it may seem to.
 */
static void
policy_warn(void *arg, enum policy_layer_id layer, const char *msg)
{
	const struct config *c = arg;

	fprintf(stderr, "writd: policy warning: %s: ", layer == POLICY_ENTERPRISE ?
	    c->policy_enterprise : c->policy_user);
	for (; *msg != '\0'; msg++)
		fputc(*msg >= 0x20 && *msg < 0x7f ? *msg : '?', stderr);
	fputc('\n', stderr);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "runtime-dir", required_argument, NULL, 'r' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "enterprise-policy", required_argument, NULL, 'e' },
		{ "policy", required_argument, NULL, 'p' },
		{ "passphrase-fd", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *runtime = NULL, *state = NULL;
	const char *ent_policy = NULL, *user_policy = NULL;
	struct policy *pol;
	struct listener *admin;
	char err[WRIT_ERRLEN], admin_path[PATH_MAX + 16], sess[PATH_MAX + 16];
	char scratch[PATH_MAX + 16];
	static struct config cfg;
	sigset_t sigs;
	int c, sig, lockfd, passfd = -1;
	char *end, *text = NULL;
	size_t len = 0;

	/* Before anything secret is in memory. */
	if (harden_process(err) < 0)
		die("%s", err);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'r': runtime = optarg; break;
		case 's': state = optarg; break;
		case 'e': ent_policy = optarg; break;
		case 'p': user_policy = optarg; break;
		case 'f':
			passfd = (int)strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || passfd < 0)
				die("--passphrase-fd takes a file descriptor number");
			break;
		case 'h': fputs(usage, stdout); return 0;
		case 'V': puts("writd " WRIT_VERSION); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (sodium_init() < 0)
		die("libsodium failed to initialise");
	/* Freed JSON may have held a token: zero it. */
	json_set_alloc_funcs(malloc, secret_zfree);

	config_defaults(&cfg);
	/* NB. the text is kept: the minter parses the very bytes read here. */
	if (config_path != NULL && (config_read(config_path, &text, &len, err) < 0 ||
	    config_parse(&cfg, text, len, config_path, err) < 0))
		die("%s", err);
	close_inherited(passfd);
	if (runtime != NULL && set_path(cfg.runtime_dir, runtime) < 0)
		die("--runtime-dir must be an absolute path");
	if (state != NULL && set_path(cfg.state_dir, state) < 0)
		die("--state-dir must be an absolute path");
	if ((ent_policy != NULL && set_path(cfg.policy_enterprise, ent_policy) < 0) ||
	    (user_policy != NULL && set_path(cfg.policy_user, user_policy) < 0))
		die("--enterprise-policy and --policy take absolute paths");
	if (config_finish(&cfg, err) < 0)
		die("%s", err);
	if (cfg.approval_command[0] != '\0' && access(cfg.approval_command, X_OK) != 0)
		die("approval.command %s: %s", cfg.approval_command, strerror(errno));
	if (load_policy(&cfg, &pol, err) < 0)
		die("policy: %s", err);
	(void)policy_lint(pol, policy_warn, &cfg);
	api_set_policy(pol);
	minter_set_ended(writs_ended);
	snprintf(admin_path, sizeof(admin_path), "%s/admin.sock", cfg.runtime_dir);
	snprintf(sess, sizeof(sess), "%s/sessions", cfg.runtime_dir);
	snprintf(scratch, sizeof(scratch), "%s/" FRONTCONFINE_SCRATCH, cfg.runtime_dir);
	if (fs_private_dir(cfg.runtime_dir, 1, err) < 0 || fs_lock(cfg.runtime_dir, &lockfd, err) < 0 ||
	    fs_private_dir(sess, 0, err) < 0 || fs_private_dir(scratch, 0, err) < 0 ||
	    fs_private_dir(cfg.state_dir, 1, err) < 0)
		die("%s", err);
	session_sweep(cfg.runtime_dir);
	/* The key side, before anything secret is loaded: it opens the store itself. */
	if (link_start(&cfg, text, len, passfd, lockfd, err) < 0)
		die("%s", err);
	free(text);
	if (passfd >= 0)
		close(passfd);
	if (geteuid() == 0)
		fprintf(stderr, "writd: warning: running as root; a dedicated user is safer "
		    "(see deploy/systemd/writd-system.service)\n");
#ifdef WRIT_TEST_FRONTPROBE
	/* The test build: as a kernel without Landlock, when the test asks. */
	if (secure_getenv("WRIT_TEST_NO_LANDLOCK") != NULL && frontprobe_no_landlock() != 0)
		die("WRIT_TEST_NO_LANDLOCK: %s", strerror(errno));
#endif
	/*
	 * For good, before any thread starts (the minter runs already, and
	 * is not confined with us): what parses a sandbox's bytes cannot
	 * reach a key, the state dir or the minter's memory (frontconfine.h).
	 */
	if ((c = frontconfine_apply(&cfg, err)) < 0)
		die("%s", err);
	if (c == CONFINE_PARTIAL)
		fprintf(stderr, "writd: warning: confined in part: %s\n", err);

	/* Signals go to this thread alone, through sigwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (link_run(err) < 0)
		die("%s", err);
	core_init(&cfg);
	approval_start();
	if (server_start(&cfg, api_dispatch, err) < 0 || reaper_start() < 0)
		die("%s", err);
	/* ci.issuers: their JWKS thread; a bad jwks_file stops writd here. */
	if (cfg.nissuers > 0 && oidc_start(cfg.issuers, cfg.nissuers, err) < 0)
		die("ci.issuers: %s", err);
	/* After the server and the reaper start: what the last run left lives on. */
	if (restore_writs() < 0)
		die(link_lost() ? "the minter went away while it brought back the last run's writs" :
		    "ledger: the restored writs' records could not be made durable");
	pthread_mutex_lock(&writd_lock);
	c = server_listen(admin_path, "admin", &admin, err);
	pthread_mutex_unlock(&writd_lock);
	if (c < 0)
		die("%s", err);
	fprintf(stderr, "writd %s: ready\n  admin socket %s\n  sessions     %s/\n"
	    "  state        %s\n  policy       %s (enterprise), %s (user)\n", WRIT_VERSION,
	    admin_path, sess, cfg.state_dir, cfg.policy_enterprise,
	    cfg.policy_user[0] ? cfg.policy_user : "none");
#ifdef WRIT_TEST_FRONTPROBE
	/* The test build's hook (tests/confine/frontprobe.h): never in the installed writd. */
	frontprobe_start(cfg.runtime_dir);
#endif

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			/*
			 * As logrotate expects: a new audit file, whatever
			 * becomes of the policy.  Then, all or nothing: a
			 * broken file leaves the old policy in force.
			 */
			if (minter_audit_rotate("signal") == 0)
				fprintf(stderr, "writd: the audit log is broken: not rotated\n");
			if (load_policy(&cfg, &pol, err) < 0) {
				fprintf(stderr, "writd: policy not reloaded, the old one stays: %s\n", err);
				continue;
			}
			/* NB. the minter's enterprise layer first: both, or neither. */
			if (minter_reload(err) < 0) {
				policy_free(pol);
				fprintf(stderr, "writd: policy not reloaded, the old one stays: %s\n", err);
				continue;
			}
			(void)policy_lint(pol, policy_warn, &cfg);
			policy_free(api_set_policy(pol));
			audit_log("policy_reloaded", NULL);
			fprintf(stderr, "writd: policy reloaded\n");
			continue;
		}
		break;
	}
	if (!link_lost())
		fprintf(stderr, "writd: stopping (signal %d)\n", sig);
	/* NB. and with it the minter (minter_stop: STOP, then its exit). */
	server_stop();
	/* After the server: no oidc_verify runs now. */
	oidc_stop();
	reaper_stop();
	unlink(admin_path);
	policy_free(api_set_policy(NULL));
	config_free(&cfg);
	close(lockfd);
	return link_lost() ? 1 : 0;
}
