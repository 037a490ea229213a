/*
 * check_sshcert.c - the sshcert kind: its scope grammar, the certificate
 * it encodes (read back by a parser of this file's own and by ssh-keygen),
 * its KRL (checked by ssh-keygen -Q), the CA key formats, and how policy
 * matches its lists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "errors.h"
#include "../../plugins/sshcert/krl.h"
#include "../../plugins/sshcert/sshcert.h"
#include "../../policy/policy.h"
#include "check.h"

/* A real ed25519 key line (ssh-keygen -t ed25519), comment and all. */
#define KEY "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG82IlQnzvC1ooC7u76RpBi11hubuio8Vl6kfuN47C9E"

static bool
have_ssh_keygen(void)
{
	return system("command -v ssh-keygen >/dev/null 2>&1") == 0;
}

START_TEST(test_canonicalize)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "{\"public_key\":\"" KEY " me@host\",\"principals\":\"git\"}",
		  "{\"extensions\":[],\"principals\":[\"git\"],\"public_key\":\"" KEY "\"}" },
		{ "{\"public_key\":\"" KEY "\",\"principals\":[\"git\",\"deploy\",\"git\"],"
		  "\"extensions\":[\"permit-pty\",\"permit-X11-forwarding\",\"permit-pty\"]}",
		  "{\"extensions\":[\"permit-X11-forwarding\",\"permit-pty\"],"
		  "\"principals\":[\"deploy\",\"git\"],\"public_key\":\"" KEY "\"}" },
		{ "{\"public_key\":\"" KEY "\",\"principals\":[\"git\"],\"extensions\":[],"
		  "\"force_command\":\"git-upload-pack '/srv/x'\","
		  "\"source_address\":\"192.0.2.7,10.0.0.0/8,2001:DB8::/32,10.0.0.0/8\"}",
		  "{\"extensions\":[],\"force_command\":\"git-upload-pack '/srv/x'\","
		  "\"principals\":[\"git\"],\"public_key\":\"" KEY "\","
		  "\"source_address\":[\"10.0.0.0/8\",\"192.0.2.7\",\"2001:db8::/32\"]}" },
		{ "{\"public_key\":\"" KEY "\",\"principals\":[\"a_b.c@d-e+f\"],"
		  "\"source_address\":[\"::1\",\"0.0.0.0/0\"],\"extensions\":\"no-touch-required\"}",
		  "{\"extensions\":[\"no-touch-required\"],\"principals\":[\"a_b.c@d-e+f\"],"
		  "\"public_key\":\"" KEY "\",\"source_address\":[\"0.0.0.0/0\",\"::1\"]}" },
	};
	char out[2048], again[2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(canon_with(&sshcert_grammar, cases[i].in, out, sizeof(out)), 0);
		ck_assert_str_eq(out, cases[i].out);
		/* Idempotent: the canonical form is its own canonical form. */
		ck_assert_int_eq(canon_with(&sshcert_grammar, out, again, sizeof(again)), 0);
		ck_assert_str_eq(again, out);
	}
}
END_TEST

START_TEST(test_refused)
{
	static const char *const bad[] = {
		"[]",
		"{\"principals\":[\"git\"]}",
		"{\"public_key\":\"" KEY "\"}",
		"{\"public_key\":\"" KEY "\",\"principals\":[]}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"\"}",
		"{\"public_key\":\"" KEY "\",\"principals\":[\"*\"]}",
		"{\"public_key\":\"" KEY "\",\"principals\":[\"git,root\"]}",
		"{\"public_key\":\"" KEY "\",\"principals\":[\"-oProxyCommand\"]}",
		"{\"public_key\":\"" KEY "\",\"principals\":[\"git\\nroot\"]}",
		"{\"public_key\":\"" KEY "\",\"principals\":[\"gi\\u00e9t\"]}",
		"{\"public_key\":\"" KEY "\",\"principals\":[1]}",
		"{\"public_key\":\"" KEY "\",\"principals\":{\"a\":\"b\"}}",
		"{\"public_key\":\"" KEY "\",\"principals\":[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]}",
		"{\"public_key\":\"" KEY "\",\"principals\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\","
		    "\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"extensions\":[\"permit-all\"]}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"extensions\":[\"Permit-pty\"]}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"critical_options\":{}}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"verify-required\":\"\"}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"force_command\":\"\"}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"force_command\":\"ls\\nrm\"}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"force_command\":\"ls\\t-l\"}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"force_command\":\"l\\u00e9\"}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"force_command\":7}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"source_address\":\"\"}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"source_address\":\"10.0.0.1,\"}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"source_address\":\"host.example\"}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"source_address\":\"10.0.0.0/33\"}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"source_address\":\"10.0.0.0/08\"}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"source_address\":\"10.1.0.0/8\"}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"source_address\":\"10.0.0.0/-1\"}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"source_address\":\"::1/129\"}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"source_address\":\"10.0.0.1 \"}",
		"{\"public_key\":\"" KEY "\",\"principals\":\"git\",\"source_address\":[]}",
		/* Keys: malformed, bad base64, other types, a key hidden under a label. */
		"{\"public_key\":\"ssh-ed25519\",\"principals\":\"git\"}",
		"{\"public_key\":\"ssh-ed25519 \",\"principals\":\"git\"}",
		"{\"public_key\":\"ssh-ed25519 AAAA!!!!\",\"principals\":\"git\"}",
		"{\"public_key\":\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG82IlQnzvC1ooC7u76RpBi11hubuio8Vl6kfuN47C9\",\"principals\":\"git\"}",
		"{\"public_key\":\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG82IlQnzvC1ooC7u76RpBi11hubuio8Vl6kfuN47C9EAA==\",\"principals\":\"git\"}",
		"{\"public_key\":\"ssh-ed25519 bm90IGEga2V5\",\"principals\":\"git\"}",
		"{\"public_key\":\"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ\",\"principals\":\"git\"}",
		"{\"public_key\":\"ecdsa-sha2-nistp256 AAAAE2VjZHNh\",\"principals\":\"git\"}",
		"{\"public_key\":\"ssh-ed25519-cert-v01@openssh.com AAAA\",\"principals\":\"git\"}",
		"{\"public_key\":\"" KEY "\\n\",\"principals\":\"git\"}",
		"{\"public_key\":\"" KEY " caf\\u00e9\",\"principals\":\"git\"}",
		"{\"public_key\":7,\"principals\":\"git\"}",
	};
	char out[2048];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(canon_with(&sshcert_grammar, bad[i], out, sizeof(out)) == WRIT_ESCOPE,
		    "accepted: %s", bad[i]);
}
END_TEST

/* The error names the key type, and empty principals say why. */
START_TEST(test_messages)
{
	char err[WRIT_ERRLEN] = "";
	json_t *s, *out = NULL;

	s = json_pack("{ssss}", "public_key", "ssh-rsa AAAAB3NzaC1yc2E", "principals", "git");
	ck_assert_int_eq(sshcert_canonicalize(s, &out, err), WRIT_ESCOPE);
	ck_assert_msg(strstr(err, "unsupported key type 'ssh-rsa'") != NULL, "%s", err);
	json_decref(s);
	s = json_pack("{sss[]}", "public_key", KEY, "principals");
	ck_assert_int_eq(sshcert_canonicalize(s, &out, err), WRIT_ESCOPE);
	ck_assert_msg(strstr(err, "valid for all") != NULL, "%s", err);
	json_decref(s);
}
END_TEST

/*
 * A parser of this test's own, field by field as PROTOCOL.certkeys lists
 * them, independent of sshcert_parse_line: the encoder is checked against
 * the spec, not against itself.
 */
struct rd {
	const unsigned char *p;
	size_t n;
};

static uint32_t
rd_u32(struct rd *r)
{
	uint32_t v;

	ck_assert_uint_ge(r->n, 4);
	v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->n -= 4;
	return v;
}

static uint64_t
rd_u64(struct rd *r)
{
	uint64_t hi = rd_u32(r);

	return hi << 32 | rd_u32(r);
}

static struct rd
rd_str(struct rd *r)
{
	uint32_t len = rd_u32(r);
	struct rd s = { r->p, len };

	ck_assert_uint_ge(r->n, len);
	r->p += len;
	r->n -= len;
	return s;
}

static bool
rd_is(struct rd s, const char *want)
{
	return s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

/* The names in a critical options or extensions field, "name=value,...". */
static void
rd_options(struct rd f, char *out, size_t size, bool wrapped)
{
	out[0] = '\0';
	while (f.n > 0) {
		struct rd name = rd_str(&f), data = rd_str(&f), v = data;

		/* NB. a critical option's value is a string inside the data string. */
		if (wrapped && data.n > 0) {
			v = rd_str(&data);
			ck_assert_uint_eq(data.n, 0);
		}
		snprintf(out + strlen(out), size - strlen(out), "%s%.*s=%.*s",
		    out[0] ? "," : "", (int)name.n, name.p, (int)v.n, v.p);
	}
}

START_TEST(test_encode)
{
	unsigned char ca_pk[32], ca_sk[64], nonce[32], agent_pk[32], agent_sk[64];
	struct sshcert_info info = { 0 }, back;
	struct wire_buf b = { 0 };
	char line[4096], opts[512], exts[512], err[WRIT_ERRLEN];
	json_t *in, *scope = NULL;
	struct rd r, f, sig;
	const unsigned char *signed_end;
	char saved;

	crypto_sign_keypair(ca_pk, ca_sk);
	crypto_sign_keypair(agent_pk, agent_sk);
	randombytes_buf(nonce, sizeof(nonce));
	{
		/* The agent's key as a .pub line. */
		struct wire_buf k = { 0 };

		wire_put_cstring(&k, "ssh-ed25519");
		wire_put_string(&k, agent_pk, 32);
		snprintf(line, sizeof(line), "ssh-ed25519 ");
		sodium_bin2base64(line + 12, sizeof(line) - 12, k.p, k.len,
		    sodium_base64_VARIANT_ORIGINAL);
		wire_free(&k);
	}
	in = json_pack("{sss[ss]sss[ss]s[sss]}", "public_key", line, "principals", "git",
	    "deploy", "force_command", "/usr/bin/git-shell -c 'x'", "source_address",
	    "10.0.0.0/8", "192.0.2.1", "extensions", "permit-pty", "permit-X11-forwarding",
	    "permit-agent-forwarding");
	ck_assert_int_eq(sshcert_canonicalize(in, &scope, err), 0);
	memcpy(info.pk, agent_pk, 32);
	info.serial = 0x0123456789abcdefULL;
	snprintf(info.key_id, sizeof(info.key_id), "writ:s1:w1");
	info.valid_after = 1700000000;
	info.valid_before = 1700000600;
	ck_assert_int_eq(sshcert_encode(scope, &info, nonce, ca_sk, ca_pk, &b), 0);

	r = (struct rd){ b.p, b.len };
	ck_assert(rd_is(rd_str(&r), "ssh-ed25519-cert-v01@openssh.com"));
	f = rd_str(&r);
	ck_assert(f.n == 32 && memcmp(f.p, nonce, 32) == 0);
	f = rd_str(&r);
	ck_assert(f.n == 32 && memcmp(f.p, agent_pk, 32) == 0);
	ck_assert(rd_u64(&r) == 0x0123456789abcdefULL);
	ck_assert_uint_eq(rd_u32(&r), 1);		/* SSH_CERT_TYPE_USER */
	ck_assert(rd_is(rd_str(&r), "writ:s1:w1"));
	f = rd_str(&r);					/* principals, sorted */
	ck_assert(rd_is(rd_str(&f), "deploy"));
	ck_assert(rd_is(rd_str(&f), "git"));
	ck_assert_uint_eq(f.n, 0);
	ck_assert(rd_u64(&r) == 1700000000);
	ck_assert(rd_u64(&r) == 1700000600);
	rd_options(rd_str(&r), opts, sizeof(opts), true);
	ck_assert_str_eq(opts, "force-command=/usr/bin/git-shell -c 'x',"
	    "source-address=10.0.0.0/8,192.0.2.1");
	rd_options(rd_str(&r), exts, sizeof(exts), false);
	/* Lexically by name, as OpenSSH sorts them ('X' before 'a'). */
	ck_assert_str_eq(exts, "permit-X11-forwarding=,permit-agent-forwarding=,permit-pty=");
	ck_assert_uint_eq(rd_str(&r).n, 0);		/* reserved */
	f = rd_str(&r);					/* signature key */
	ck_assert(rd_is(rd_str(&f), "ssh-ed25519"));
	ck_assert(rd_is(rd_str(&f), "") == false);
	signed_end = r.p;
	sig = rd_str(&r);
	ck_assert_uint_eq(r.n, 0);
	ck_assert(rd_is(rd_str(&sig), "ssh-ed25519"));
	f = rd_str(&sig);
	ck_assert_uint_eq(f.n, 64);
	/* The signature covers everything before it. */
	ck_assert_int_eq(crypto_sign_verify_detached(f.p, b.p, (size_t)(signed_end - b.p), ca_pk), 0);

	/* Round trip through the kind's own parser, as revoke reads it. */
	snprintf(line, sizeof(line), "ssh-ed25519-cert-v01@openssh.com ");
	sodium_bin2base64(line + strlen(line), sizeof(line) - strlen(line), b.p, b.len,
	    sodium_base64_VARIANT_ORIGINAL);
	strcat(line, " writ:w1");
	ck_assert_int_eq(sshcert_parse_line(line, strlen(line), &back), 0);
	ck_assert(back.serial == info.serial && back.valid_before == info.valid_before &&
	    back.valid_after == info.valid_after && back.type == 1);
	ck_assert(memcmp(back.ca, ca_pk, 32) == 0 && memcmp(back.pk, agent_pk, 32) == 0);
	ck_assert_str_eq(back.key_id, "writ:s1:w1");
	/* One flipped byte anywhere signed and the signature fails. */
	saved = line[60];
	line[60] = saved == 'A' ? 'B' : 'A';
	ck_assert_int_ne(sshcert_parse_line(line, strlen(line), &back), 0);
	line[60] = saved;

	/* ssh-keygen -L reads it the same way. */
	if (have_ssh_keygen()) {
		char dir[] = "/tmp/check_sshcert.XXXXXX", cmd[512];
		FILE *fp;

		ck_assert(mkdtemp(dir) != NULL);
		snprintf(cmd, sizeof(cmd), "%s/c-cert.pub", dir);
		fp = fopen(cmd, "w");
		fprintf(fp, "%s\n", line);
		fclose(fp);
		snprintf(cmd, sizeof(cmd), "ssh-keygen -L -f %s/c-cert.pub > %s/L 2>&1 && "
		    "grep -q 'Serial: 81985529216486895$' %s/L && "
		    "grep -q 'Key ID: \"writ:s1:w1\"' %s/L && "
		    "grep -q 'force-command /usr/bin/git-shell -c .x.' %s/L && "
		    "grep -q 'source-address 10.0.0.0/8,192.0.2.1' %s/L && "
		    "grep -q 'permit-agent-forwarding' %s/L && "
		    "grep -q 'user certificate' %s/L", dir, dir, dir, dir, dir, dir, dir, dir);
		ck_assert_msg(system(cmd) == 0, "ssh-keygen -L disagrees: see %s/L", dir);
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		ck_assert_int_eq(system(cmd), 0);
	}
	wire_free(&b);
	json_decref(in);
	json_decref(scope);
}
END_TEST

/* Write a certificate of serial (signed by ca) to path, for ssh-keygen -Q. */
static void
write_cert(const char *path, uint64_t serial, const unsigned char ca_pk[32],
    const unsigned char ca_sk[64])
{
	struct sshcert_info info = { .serial = serial, .valid_after = 0,
	    .valid_before = 4000000000LL };
	unsigned char nonce[32] = { 1 };
	struct wire_buf b = { 0 };
	json_t *scope = json_pack("{s[s]s[]}", "principals", "git", "extensions");
	char line[2048];
	FILE *f;

	snprintf(info.key_id, sizeof(info.key_id), "k%llu", (unsigned long long)serial);
	randombytes_buf(info.pk, sizeof(info.pk));
	ck_assert_int_eq(sshcert_encode(scope, &info, nonce, ca_sk, ca_pk, &b), 0);
	snprintf(line, sizeof(line), "ssh-ed25519-cert-v01@openssh.com ");
	sodium_bin2base64(line + strlen(line), sizeof(line) - strlen(line), b.p, b.len,
	    sodium_base64_VARIANT_ORIGINAL);
	ck_assert((f = fopen(path, "w")) != NULL);
	fprintf(f, "%s\n", line);
	fclose(f);
	wire_free(&b);
	json_decref(scope);
}

/* Does ssh-keygen -Q find the certificate at cert revoked by the KRL at krl? */
static bool
keygen_revoked(const char *krl, const char *cert)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "ssh-keygen -Q -f %s %s 2>/dev/null | grep -q ': REVOKED$'",
	    krl, cert);
	return system(cmd) == 0;
}

START_TEST(test_krl)
{
	unsigned char ca_pk[32], ca_sk[64], ca2_pk[32], ca2_sk[64];
	char dir[] = "/tmp/check_krl.XXXXXX", path[256], c1[256], c2[256], c3[256],
	    err[WRIT_ERRLEN], cmd[512];
	struct krl_entry e[3];
	struct wire_buf b = { 0 };
	int64_t now = (int64_t)time(NULL);
	struct krl k;
	struct stat st1, st2;
	FILE *f;

	if (!have_ssh_keygen())
		return;
	crypto_sign_keypair(ca_pk, ca_sk);
	crypto_sign_keypair(ca2_pk, ca2_sk);
	ck_assert(mkdtemp(dir) != NULL);
	snprintf(c1, sizeof(c1), "%s/c1-cert.pub", dir);
	snprintf(c2, sizeof(c2), "%s/c2-cert.pub", dir);
	snprintf(c3, sizeof(c3), "%s/c3-cert.pub", dir);
	write_cert(c1, 7, ca_pk, ca_sk);
	write_cert(c2, 0xfedcba9876543210ULL, ca_pk, ca_sk);
	write_cert(c3, 7, ca2_pk, ca2_sk);

	/* krl_encode alone: serial 7 of CA 1 revoked, the rest not. */
	memcpy(e[0].ca, ca_pk, 32);
	e[0].serial = 7;
	e[0].valid_before = now + 600;
	ck_assert_int_eq(krl_encode(e, 1, 3, now, &b), 0);
	snprintf(path, sizeof(path), "%s/plain.krl", dir);
	ck_assert((f = fopen(path, "w")) != NULL);
	fwrite(b.p, 1, b.len, f);
	fclose(f);
	wire_free(&b);
	ck_assert(keygen_revoked(path, c1));
	ck_assert(!keygen_revoked(path, c2));
	ck_assert_msg(!keygen_revoked(path, c3), "a serial of another CA is not revoked");
	/* Two CAs, one section each; an empty KRL revokes nothing but parses. */
	memcpy(e[1].ca, ca2_pk, 32);
	e[1].serial = 7;
	e[1].valid_before = now + 600;
	memcpy(e[2].ca, ca_pk, 32);
	e[2].serial = 0xfedcba9876543210ULL;
	e[2].valid_before = now + 600;
	ck_assert_int_eq(krl_encode(e, 3, 4, now, &b), 0);
	f = fopen(path, "w");
	fwrite(b.p, 1, b.len, f);
	fclose(f);
	wire_free(&b);
	ck_assert(keygen_revoked(path, c1) && keygen_revoked(path, c2) && keygen_revoked(path, c3));
	ck_assert_int_eq(krl_encode(e, 0, 5, now, &b), 0);
	f = fopen(path, "w");
	fwrite(b.p, 1, b.len, f);
	fclose(f);
	wire_free(&b);
	snprintf(cmd, sizeof(cmd), "ssh-keygen -Q -f %s %s >/dev/null 2>&1", path, c1);
	ck_assert_msg(system(cmd) == 0, "ssh-keygen cannot read an empty KRL");

	/* The kept KRL: open makes it, revoke adds, reopen keeps, expiry drops. */
	snprintf(path, sizeof(path), "%s/writ.krl", dir);
	ck_assert_int_eq(krl_open(&k, path, 2, now, err), 0);
	ck_assert(!keygen_revoked(path, c1));
	ck_assert_int_eq(krl_revoke(&k, ca_pk, 7, now + 600, now, err), 0);
	ck_assert(keygen_revoked(path, c1));
	ck_assert_int_eq(krl_revoke(&k, ca_pk, 0xfedcba9876543210ULL, now + 1, now, err), 0);
	ck_assert(keygen_revoked(path, c2));
	ck_assert_int_eq(krl_revoke(&k, ca_pk, 7, now + 600, now, err), 0);
	ck_assert_uint_eq(k.n, 2);		/* once */
	krl_close(&k);
	ck_assert_int_eq(stat(path, &st1), 0);
	ck_assert_int_eq(krl_open(&k, path, 2, now, err), 0);
	ck_assert_uint_eq(k.n, 2);
	/* Nothing changed: not written again (a start costs no fsync). */
	ck_assert_int_eq(stat(path, &st2), 0);
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);
	ck_assert(keygen_revoked(path, c1) && keygen_revoked(path, c2));
	/* c2's valid_before + grace passed: pruned; c1 stays. */
	ck_assert_int_eq(krl_prune(&k, now + 3, err), 0);
	ck_assert(keygen_revoked(path, c1));
	ck_assert(!keygen_revoked(path, c2));
	krl_close(&k);
	ck_assert_int_eq(krl_open(&k, path, 2, now + 3, err), 0);
	ck_assert_uint_eq(k.n, 1);
	krl_close(&k);

	/* A KRL that is not writd's is never overwritten; a broken state stops it. */
	snprintf(path, sizeof(path), "%s/theirs.krl", dir);
	f = fopen(path, "w");
	fputs("someone else's", f);
	fclose(f);
	ck_assert_int_lt(krl_open(&k, path, 2, now, err), 0);
	ck_assert_msg(strstr(err, "is not writd's") != NULL, "%s", err);
	krl_close(&k);
	snprintf(path, sizeof(path), "%s/writ.krl.state", dir);
	f = fopen(path, "w");
	fputs("{\"version\":1,\"revoked\":[{\"ca\":\"00\",\"serial\":\"1\",\"valid_before\":1}]}", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/writ.krl", dir);
	ck_assert_int_lt(krl_open(&k, path, 2, now, err), 0);
	krl_close(&k);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* The CA from the store: a raw seed, or an OpenSSH private key file. */
START_TEST(test_ca_seed)
{
	char dir[] = "/tmp/check_ca.XXXXXX", cmd[512], buf[4096], pub[256], line[256];
	unsigned char seed[32], pk[32], sk[64], raw[32] = { 9 };
	struct wire_buf b = { 0 };
	size_t n;
	FILE *f;

	ck_assert_int_eq(sshcert_ca_seed(raw, 32, seed), 0);
	ck_assert(memcmp(seed, raw, 32) == 0);
	ck_assert_int_eq(sshcert_ca_seed(raw, 31, seed), -1);
	ck_assert_int_eq(sshcert_ca_seed((const unsigned char *)"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"
	    "-----END OPENSSH PRIVATE KEY-----\n", 76, seed), -1);
	if (!have_ssh_keygen())
		return;
	ck_assert(mkdtemp(dir) != NULL);
	snprintf(cmd, sizeof(cmd), "ssh-keygen -q -t ed25519 -N '' -C ca -f %s/ca", dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/ca", dir);
	f = fopen(cmd, "r");
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ck_assert_int_eq(sshcert_ca_seed((unsigned char *)buf, n, seed), 0);
	crypto_sign_seed_keypair(pk, sk, seed);
	wire_put_cstring(&b, "ssh-ed25519");
	wire_put_string(&b, pk, 32);
	snprintf(line, sizeof(line), "ssh-ed25519 ");
	sodium_bin2base64(line + 12, sizeof(line) - 12, b.p, b.len, sodium_base64_VARIANT_ORIGINAL);
	wire_free(&b);
	snprintf(cmd, sizeof(cmd), "%s/ca.pub", dir);
	f = fopen(cmd, "r");
	ck_assert(fgets(pub, sizeof(pub), f) != NULL);
	fclose(f);
	ck_assert_msg(strncmp(pub, line, strlen(line)) == 0, "%s vs %s", pub, line);
	/* An encrypted one is refused: writd has no passphrase for it. */
	snprintf(cmd, sizeof(cmd), "ssh-keygen -q -t ed25519 -N secret -f %s/enc", dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/enc", dir);
	f = fopen(cmd, "r");
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ck_assert_int_eq(sshcert_ca_seed((unsigned char *)buf, n, seed), -1);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Decide an sshcert request by policy text. */
static enum policy_verdict
decide(const char *ent, const char *scope_json, int64_t ttl, char rule[80])
{
	char err[WRIT_ERRLEN] = "";
	struct policy *p = NULL;
	struct policy_decision d;
	json_t *in = json_loads(scope_json, 0, NULL), *scope = NULL;
	struct policy_request q = { .kind = "sshcert", .ttl = ttl, .session = "dev",
	    .uid = 1000, .exe = "/usr/bin/writ" };

	ck_assert_msg(policy_parse(ent, strlen(ent), "ent", NULL, 0, "user", &p, err) == 0,
	    "%s", err);
	ck_assert_msg(sshcert_canonicalize(in, &scope, err) == 0, "%s", err);
	q.scope = scope;
	policy_decide(p, &q, &d);
	snprintf(rule, 80, "%s", d.rule);
	json_decref(in);
	json_decref(scope);
	policy_free(p);
	return d.verdict;
}

#define S(extra) "{\"public_key\":\"" KEY "\"," extra "}"

START_TEST(test_policy)
{
	static const char deny[] = "{\"deny\":[{\"id\":\"no-root\",\"kind\":\"sshcert\","
	    "\"scope\":{\"principals\":\"root\"}},{\"id\":\"no-fwd\",\"kind\":\"sshcert\","
	    "\"scope\":{\"extensions\":\"permit-*-forwarding\"}}]}";
	static const char limit[] = "{\"limits\":{\"sshcert\":{\"max_ttl\":\"10m\","
	    "\"extensions\":[\"permit-pty\"],\"principals\":[\"git\",\"deploy\"]}}}";
	static const char allow[] = "{\"allow\":[{\"id\":\"git\",\"kind\":\"sshcert\","
	    "\"scope\":{\"principals\":[\"git\",\"deploy\"]},\"max_ttl\":\"5m\"},"
	    "{\"id\":\"ro\",\"kind\":\"sshcert\",\"scope\":{\"principals\":\"ci\","
	    "\"force_command\":\"/usr/bin/git-shell -c **\"}}]}";
	char rule[80];

	/* A deny on one principal matches when any principal is it. */
	ck_assert_int_eq(decide(deny, S("\"principals\":[\"git\",\"root\"]"), 60, rule), POLICY_DENY);
	ck_assert_str_eq(rule, "no-root");
	ck_assert_int_eq(decide(deny, S("\"principals\":[\"git\"]"), 60, rule), POLICY_ASK);
	/* ... on extensions when any is touched; none asked touches none. */
	ck_assert_int_eq(decide(deny, S("\"principals\":\"git\",\"extensions\":"
	    "[\"permit-pty\",\"permit-agent-forwarding\"]"), 60, rule), POLICY_DENY);
	ck_assert_str_eq(rule, "no-fwd");
	ck_assert_int_eq(decide(deny, S("\"principals\":\"git\""), 60, rule), POLICY_ASK);
	/* A limit admits only when every element is within it; none is within. */
	ck_assert_int_eq(decide(limit, S("\"principals\":[\"git\",\"deploy\"]"), 60, rule), POLICY_ASK);
	ck_assert_int_eq(decide(limit, S("\"principals\":[\"git\",\"root\"]"), 60, rule), POLICY_DENY);
	ck_assert_str_eq(rule, "limits.sshcert.principals");
	ck_assert_int_eq(decide(limit, S("\"principals\":\"git\",\"extensions\":\"permit-pty\""),
	    60, rule), POLICY_ASK);
	ck_assert_int_eq(decide(limit, S("\"principals\":\"git\",\"extensions\":"
	    "[\"permit-pty\",\"permit-user-rc\"]"), 60, rule), POLICY_DENY);
	ck_assert_str_eq(rule, "limits.sshcert.extensions");
	ck_assert_int_eq(decide(limit, S("\"principals\":\"git\""), 660, rule), POLICY_DENY);
	ck_assert_str_eq(rule, "limits.sshcert.max_ttl");
	/* An allow rule: every principal within it; no extension unless named. */
	ck_assert_int_eq(decide(allow, S("\"principals\":[\"deploy\",\"git\"]"), 60, rule), POLICY_ALLOW);
	ck_assert_int_eq(decide(allow, S("\"principals\":[\"git\",\"root\"]"), 60, rule), POLICY_ASK);
	ck_assert_int_eq(decide(allow, S("\"principals\":\"git\",\"extensions\":\"permit-pty\""),
	    60, rule), POLICY_ASK);
	ck_assert_int_eq(decide(allow, S("\"principals\":\"git\""), 600, rule), POLICY_ASK);
	/* force_command only narrows: a rule without it admits one. */
	ck_assert_int_eq(decide(allow, S("\"principals\":\"git\",\"force_command\":\"true\""),
	    60, rule), POLICY_ALLOW);
	ck_assert_int_eq(decide(allow, S("\"principals\":\"git\",\"source_address\":\"10.0.0.0/8\""),
	    60, rule), POLICY_ALLOW);
	/* A rule naming it admits only its globs, spaces and all; none is not within. */
	ck_assert_int_eq(decide(allow, S("\"principals\":\"ci\",\"force_command\":"
	    "\"/usr/bin/git-shell -c git-upload-pack '/srv/x'\""), 60, rule), POLICY_ALLOW);
	ck_assert_str_eq(rule, "ro");
	ck_assert_int_eq(decide(allow, S("\"principals\":\"ci\",\"force_command\":\"/bin/sh\""),
	    60, rule), POLICY_ASK);
	ck_assert_int_eq(decide(allow, S("\"principals\":\"ci\""), 60, rule), POLICY_ASK);
}
END_TEST

/* What policy refuses in an sshcert rule: the public key, a bad glob. */
START_TEST(test_policy_refused)
{
	static const char *const bad[] = {
		"{\"deny\":[{\"kind\":\"sshcert\",\"scope\":{\"public_key\":\"*\"}}]}",
		"{\"deny\":[{\"kind\":\"sshcert\",\"scope\":{\"principals\":\"a b\"}}]}",
		"{\"deny\":[{\"kind\":\"sshcert\",\"scope\":{\"force_command\":\"a\\tb\"}}]}",
		"{\"limits\":{\"sshcert\":{\"options\":[\"x\"]}}}",
	};
	char err[WRIT_ERRLEN];
	struct policy *p = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(policy_parse(bad[i], strlen(bad[i]), "ent", NULL, 0, "user", &p,
		    err) < 0, "accepted: %s", bad[i]);
	}
}
END_TEST

Suite *
sshcert_suite(void)
{
	Suite *s = suite_create("sshcert");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_canonicalize);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_messages);
	tcase_add_test(tc, test_encode);
	tcase_add_test(tc, test_krl);
	tcase_add_test(tc, test_ca_seed);
	tcase_add_test(tc, test_policy);
	tcase_add_test(tc, test_policy_refused);
	suite_add_tcase(s, tc);
	return s;
}
