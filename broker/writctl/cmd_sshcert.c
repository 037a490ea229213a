/*
 * cmd_sshcert.c - writctl sshcert init, ca, krl: the sshcert kind's CA.
 */
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>

#include "../../agent-side/libwrit.h"
#include "id.h"
#include "../../plugins/sshcert/wire.h"
#include "writctl.h"

/*
 * The sshcert kind's CA.  init makes an Ed25519 CA key,
 * stores it through writd (write-only, as every secret) and prints the
 * public line for sshd's TrustedUserCAKeys; ca prints that line again and
 * krl the path of writd's KRL (RevokedKeys), both asked of writd.
 */
static const char sshcert_usage[] =
"usage: writctl sshcert init [--name NAME]   make the SSH CA key (default name ssh-ca)\n"
"       writctl sshcert ca                   the CA's public line (TrustedUserCAKeys)\n"
"       writctl sshcert krl                  the KRL's path (RevokedKeys)\n";

/* Is secret name in writd's store?  1 yes, 0 no, else an exit status (printed). */
static int
sshcert_stored(const char *name)
{
	struct writ_resp resp;
	json_t *e;
	size_t i;
	int r, found = 0;

	if ((r = ctl_call("GET", "/v1/secrets", NULL, 200, &resp)) != 0)
		return -r;
	json_array_foreach(json_object_get(resp.body, "secrets"), i, e)
		if (json_is_string(json_object_get(e, "name")) &&
		    strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
			found = 1;
	writ_resp_free(&resp);
	return found;
}

int
cmd_sshcert_init(int argc, char **argv)
{
	unsigned char seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	const char *name = "ssh-ca";
	struct wire_buf blob = { 0 };
	struct writ_resp resp;
	char path[128], b64[128];
	int r;

	if (argc == 2 && strcmp(argv[0], "--name") == 0)
		name = argv[1];
	else if (argc != 0) {
		fputs(sshcert_usage, stderr);
		return 2;
	}
	if (!secret_name_valid(name)) {
		fputs("writctl: a secret name is 1-64 characters of [A-Za-z0-9._-]\n", stderr);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	/* NB. never over a CA servers already trust: their certificates would all die. */
	if ((r = sshcert_stored(name)) != 0) {
		if (r == 1)
			fprintf(stderr, "writctl: %s is already in the store; `writctl sshcert ca` "
			    "prints its public line (to replace it: `writctl secret rm %s`, then "
			    "init, then restart writd)\n", name, name);
		return r == 1 ? 1 : -r;
	}
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(sk, sizeof(sk));
	snprintf(path, sizeof(path), "/v1/secrets/%s", name);
	r = writ_http(ctl_admin, "PUT", path, (const char *)seed, sizeof(seed), WRIT_SHORT_TIMEOUT, &resp);
	sodium_memzero(seed, sizeof(seed));
	if (r < 0 || resp.status != 200) {
		r = ctl_fail(r, &resp);
		writ_resp_free(&resp);
		return r;
	}
	writ_resp_free(&resp);
	wire_put_cstring(&blob, "ssh-ed25519");
	wire_put_string(&blob, pk, sizeof(pk));
	if (blob.err)
		return 1;
	sodium_bin2base64(b64, sizeof(b64), blob.p, blob.len, sodium_base64_VARIANT_ORIGINAL);
	wire_free(&blob);
	fprintf(stderr, "stored the SSH CA key as %s; trust it on a server with "
	    "TrustedUserCAKeys (the line below) and RevokedKeys (`writctl sshcert krl`)\n", name);
	printf("ssh-ed25519 %s writ-ca\n", b64);
	return 0;
}

/* GET /v1/sshcert and print its member key (a string), or say why there is none. */
static int
sshcert_show(int argc, const char *key)
{
	struct writ_resp resp;
	const char *v;
	int r;

	if (argc != 0) {
		fputs(sshcert_usage, stderr);
		return 2;
	}
	if ((r = ctl_call("GET", "/v1/sshcert", NULL, 200, &resp)) != 0)
		return r;
	v = json_string_value(json_object_get(resp.body, key));
	if (v == NULL)
		fputs("writctl: writd has no SSH CA key yet: `writctl sshcert init` makes one\n",
		    stderr);
	else
		puts(v);
	writ_resp_free(&resp);
	return v == NULL ? 1 : 0;
}

int
cmd_sshcert_ca(int argc, char **argv)
{
	(void)argv;
	return sshcert_show(argc, "ca");
}

int
cmd_sshcert_krl(int argc, char **argv)
{
	(void)argv;
	return sshcert_show(argc, "krl");
}
