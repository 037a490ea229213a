/*
 * scope.c - the sshcert kind's scope grammar (scope.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "errors.h"
#include "scope.h"
#include "wire.h"

#define KEY_TYPE "ssh-ed25519"

/* OpenSSH's user certificate extensions (PROTOCOL.certkeys), as it spells them. */
static const char *const extension_names[] = {
	"no-touch-required", "permit-X11-forwarding", "permit-agent-forwarding",
	"permit-port-forwarding", "permit-pty", "permit-user-rc", NULL,
};

/*
 * Principals and extensions are sets: a request naming one names it, so
 * policy matches each element (a deny when any is touched, a limit or an
 * allow only when every one is within).  force_command is free text.
 * public_key is left out on purpose (scope.h).
 */
const struct kind_key sshcert_scope_keys[] = {
	{ "principals", NULL, 0 },
	{ "force_command", NULL, KIND_KEY_TEXT | KIND_KEY_NARROWS },
	{ "source_address", NULL, KIND_KEY_NARROWS },
	{ "extensions", NULL, KIND_KEY_SET },
	{ NULL, NULL, 0 },
};

/* Printable ASCII only, nothing else: no control characters, no UTF-8. */
static bool
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* str_set's room: every set is at most as long as the principals'. */
_Static_assert(WRIT_SSHCERT_MAX_SOURCES <= WRIT_SSHCERT_MAX_PRINCIPALS, "str_set's room");

/* One item's check: 0 and its canonical form in out, or -1 with a message. */
typedef int (*item_fn)(const char *in, char out[128], char err[WRIT_ERRLEN]);

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * v (a string, or an array of 0..max strings when empty_ok, else 1..max)
 * as a sorted array of each item's canonical form, without repeats.
 * Returns 0 and a new array, or WRIT_ESCOPE / WRIT_ENOMEM with a message.
 */
static int
str_set(const json_t *v, const char *key, size_t max, bool empty_ok, item_fn check,
    json_t **ret, char err[WRIT_ERRLEN])
{
	char items[WRIT_SSHCERT_MAX_PRINCIPALS][128], *sorted[WRIT_SSHCERT_MAX_PRINCIPALS];
	size_t n = 0, i;
	json_t *out, *x;

	if (json_is_string(v)) {
		if (check(json_string_value(v), items[0], err) < 0)
			return WRIT_ESCOPE;
		n = 1;
	} else if (json_is_array(v)) {
		/* NB. principals: OpenSSH reads none as every user. */
		if (!empty_ok && json_array_size(v) == 0) {
			snprintf(err, WRIT_ERRLEN, "scope.%s must name at least one: OpenSSH "
			    "takes a certificate without %s as valid for all", key, key);
			return WRIT_ESCOPE;
		}
		if (json_array_size(v) > max) {
			snprintf(err, WRIT_ERRLEN, "scope.%s: %s1 to %zu names", key,
			    empty_ok ? "0 or " : "", max);
			return WRIT_ESCOPE;
		}
		json_array_foreach(v, i, x) {
			if (!json_is_string(x)) {
				snprintf(err, WRIT_ERRLEN, "scope.%s[%zu]: not a string", key, i);
				return WRIT_ESCOPE;
			}
			if (check(json_string_value(x), items[n], err) < 0)
				return WRIT_ESCOPE;
			n++;
		}
	} else {
		snprintf(err, WRIT_ERRLEN, "scope.%s: a string or an array of strings", key);
		return WRIT_ESCOPE;
	}
	for (i = 0; i < n; i++)
		sorted[i] = items[i];
	qsort(sorted, n, sizeof(sorted[0]), cmp_str);
	if ((out = json_array()) == NULL)
		return WRIT_ENOMEM;
	for (i = 0; i < n; i++)
		if ((i == 0 || strcmp(sorted[i - 1], sorted[i]) != 0) &&
		    json_array_append_new(out, json_string(sorted[i])) != 0) {
			json_decref(out);
			return WRIT_ENOMEM;
		}
	*ret = out;
	return 0;
}

/*
 * A user name: 1..WRIT_SSHCERT_MAX_PRINCIPAL of [A-Za-z0-9._@+-], starting
 * with a letter, a digit or '_'.  No wildcard (sshd compares principals
 * exactly; a '*' would only confuse the person approving), no ',' (the
 * separator of principal lists in sshd_config and ssh-keygen).
 */
static int
principal_ok(const char *s, char out[128], char err[WRIT_ERRLEN])
{
	size_t n = strlen(s);
	char q[52];

	if (n == 0 || n > WRIT_SSHCERT_MAX_PRINCIPAL || strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@+-") != n || strchr("._@+-", s[0]) != NULL) {
		sjson_quote(q, s);
		snprintf(err, WRIT_ERRLEN, "scope.principals: '%s' is not a user name: 1-%d "
		    "characters of [A-Za-z0-9._@+-], starting with a letter, digit or '_'",
		    q, WRIT_SSHCERT_MAX_PRINCIPAL);
		return -1;
	}
	memcpy(out, s, n + 1);
	return 0;
}

static int
extension_ok(const char *s, char out[128], char err[WRIT_ERRLEN])
{
	char q[52];

	for (size_t i = 0; extension_names[i] != NULL; i++)
		if (strcmp(s, extension_names[i]) == 0) {
			snprintf(out, 128, "%s", s);
			return 0;
		}
	sjson_quote(q, s);
	snprintf(err, WRIT_ERRLEN, "scope.extensions: unknown extension '%s' (known: "
	    "permit-pty, permit-port-forwarding, permit-agent-forwarding, "
	    "permit-X11-forwarding, permit-user-rc, no-touch-required)", q);
	return -1;
}

/*
 * An IPv4 or IPv6 address, or a CIDR block "addr/len" whose host bits are
 * clear, as inet_ntop writes it.  NB. sshd refuses the whole certificate
 * for one entry it cannot parse; writ refuses the request instead.
 */
static int
address_ok(const char *s, char out[128], char err[WRIT_ERRLEN])
{
	unsigned char a[16];
	char addr[64], text[INET6_ADDRSTRLEN], q[52];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	int af, bits = -1, max;

	if (alen == 0 || alen >= sizeof(addr))
		goto bad;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	af = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	max = af == AF_INET ? 32 : 128;
	if (inet_pton(af, addr, a) != 1)
		goto bad;
	if (slash != NULL) {
		const char *p = slash + 1;
		size_t d = strspn(p, "0123456789");

		/* Digits only, no sign, no leading zero: "/08" is not "/8" to every reader. */
		if (d == 0 || d > 3 || p[d] != '\0' || (p[0] == '0' && d > 1))
			goto bad;
		for (bits = 0; *p != '\0'; p++)
			bits = bits * 10 + (*p - '0');
		if (bits > max)
			goto bad;
		for (int i = bits; i < max; i++)
			if (a[i / 8] & (0x80 >> (i % 8))) {
				sjson_quote(q, s);
				snprintf(err, WRIT_ERRLEN, "scope.source_address: '%s' has host "
				    "bits set; write the network address of the block", q);
				return -1;
			}
	}
	if (inet_ntop(af, a, text, sizeof(text)) == NULL)
		goto bad;
	if (bits >= 0)
		snprintf(out, 128, "%s/%d", text, bits);
	else
		snprintf(out, 128, "%s", text);
	return 0;
 bad:
	sjson_quote(q, s);
	snprintf(err, WRIT_ERRLEN, "scope.source_address: '%s' is not an IPv4 or IPv6 "
	    "address or CIDR block (a comma-separated list: \"10.0.0.0/8,192.0.2.1\")", q);
	return -1;
}

/* "a,b,c" split into an array of strings (each checked by address_ok later). */
static json_t *
split_commas(const char *s)
{
	json_t *a = json_array();
	const char *p = s;

	while (a != NULL) {
		size_t n = strcspn(p, ",");

		if (json_array_append_new(a, json_stringn(p, n)) != 0) {
			json_decref(a);
			return NULL;
		}
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	return a;
}

/*
 * The raw Ed25519 key of "ssh-ed25519 BASE64 [comment]" into pk, and the
 * canonical line (type, one space, base64 as writ encodes it) into canon.
 */
static int
parse_key_line(const char *line, unsigned char pk[WRIT_SSHCERT_PKLEN], char canon[128],
    char err[WRIT_ERRLEN])
{
	unsigned char blob[128];
	char type[64], q[52];
	const char *b64, *end;
	size_t tlen, blen, rawlen;
	struct wire_reader r;
	const unsigned char *t, *k;
	size_t tl, kl;

	if (strlen(line) > WRIT_SSHCERT_MAX_KEYLINE || !printable(line)) {
		snprintf(err, WRIT_ERRLEN, "scope.public_key: one line of printable ASCII, "
		    "at most %d bytes, as in id_ed25519.pub", WRIT_SSHCERT_MAX_KEYLINE);
		return -1;
	}
	tlen = strcspn(line, " ");
	if (tlen == 0 || tlen >= sizeof(type) || line[tlen] != ' ') {
		snprintf(err, WRIT_ERRLEN, "scope.public_key: not an OpenSSH public key line "
		    "(\"ssh-ed25519 AAAA... comment\", the contents of id_ed25519.pub)");
		return -1;
	}
	memcpy(type, line, tlen);
	type[tlen] = '\0';
	if (strcmp(type, KEY_TYPE) != 0) {
		sjson_quote(q, type);
		snprintf(err, WRIT_ERRLEN, "scope.public_key: unsupported key type '%s': writ "
		    "certifies ssh-ed25519 keys only (make one with ssh-keygen -t ed25519)", q);
		return -1;
	}
	b64 = line + tlen + strspn(line + tlen, " ");
	blen = strcspn(b64, " ");
	/* An ed25519 blob is 51 bytes: anything much longer is another key. */
	if (blen > 4 * sizeof(blob) / 3) {
		snprintf(err, WRIT_ERRLEN, "scope.public_key: the base64 does not hold an "
		    "ssh-ed25519 key (it is too long for one)");
		return -1;
	}
	if (blen == 0 || sodium_base642bin(blob, sizeof(blob), b64, blen, NULL, &rawlen, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != b64 + blen) {
		snprintf(err, WRIT_ERRLEN, "scope.public_key: the key is not valid base64");
		return -1;
	}
	/* The blob: string "ssh-ed25519", string pk (32 bytes), nothing after. */
	r = (struct wire_reader){ blob, rawlen };
	if (wire_get_string(&r, &t, &tl) < 0 || wire_get_string(&r, &k, &kl) < 0 ||
	    r.len != 0 || tl != strlen(KEY_TYPE) || memcmp(t, KEY_TYPE, tl) != 0 ||
	    kl != WRIT_SSHCERT_PKLEN) {
		snprintf(err, WRIT_ERRLEN, "scope.public_key: the base64 does not hold an "
		    "ssh-ed25519 key (a 32-byte key after its type)");
		return -1;
	}
	memcpy(pk, k, WRIT_SSHCERT_PKLEN);
	snprintf(canon, 128, KEY_TYPE " ");
	sodium_bin2base64(canon + strlen(canon), 128 - strlen(canon), blob, rawlen,
	    sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

int
sshcert_public_key(const char *line, unsigned char pk[WRIT_SSHCERT_PKLEN])
{
	char canon[128], err[WRIT_ERRLEN];

	return parse_key_line(line, pk, canon, err);
}

int
sshcert_canonicalize(const json_t *scope, json_t **ret_scope, char err[WRIT_ERRLEN])
{
	static const char *const keys[] = { "public_key", "principals", "force_command",
	    "source_address", "extensions", NULL };
	unsigned char pk[WRIT_SSHCERT_PKLEN];
	char canon[128];
	const char *key, *cmd;
	const json_t *v;
	json_t *out = NULL, *set = NULL, *split = NULL;
	int r;

	if (!json_is_object(scope)) {
		snprintf(err, WRIT_ERRLEN, "scope must be an object such as {\"public_key\": "
		    "\"ssh-ed25519 AAAA...\", \"principals\": [\"git\"]}");
		return WRIT_ESCOPE;
	}
	if (sjson_only_keys(scope, keys, "scope", err) < 0 ||
	    sjson_string(scope, "public_key", true, &key, err) < 0 ||
	    sjson_string(scope, "force_command", false, &cmd, err) < 0)
		return WRIT_ESCOPE;
	if (parse_key_line(key, pk, canon, err) < 0)
		return WRIT_ESCOPE;
	if ((out = json_pack("{ss}", "public_key", canon)) == NULL)
		return WRIT_ENOMEM;
	if ((v = json_object_get(scope, "principals")) == NULL) {
		snprintf(err, WRIT_ERRLEN, "scope.principals is required: the user names the "
		    "certificate is for (OpenSSH takes one without any as valid for all)");
		r = WRIT_ESCOPE;
		goto fail;
	}
	if ((r = str_set(v, "principals", WRIT_SSHCERT_MAX_PRINCIPALS, false, principal_ok,
	    &set, err)) < 0)
		goto fail;
	json_object_set_new(out, "principals", set);
	if (cmd != NULL) {
		if (cmd[0] == '\0' || strlen(cmd) > WRIT_SSHCERT_MAX_COMMAND || !printable(cmd)) {
			snprintf(err, WRIT_ERRLEN, "scope.force_command: 1-%d characters of "
			    "printable ASCII (no control characters or newlines)",
			    WRIT_SSHCERT_MAX_COMMAND);
			r = WRIT_ESCOPE;
			goto fail;
		}
		json_object_set_new(out, "force_command", json_string(cmd));
	}
	if ((v = json_object_get(scope, "source_address")) != NULL) {
		if (json_is_string(v)) {
			if (strlen(json_string_value(v)) > WRIT_SSHCERT_MAX_SOURCES * 50 ||
			    (split = split_commas(json_string_value(v))) == NULL) {
				snprintf(err, WRIT_ERRLEN, "scope.source_address: too long");
				r = WRIT_ESCOPE;
				goto fail;
			}
			v = split;
		}
		if ((r = str_set(v, "source_address", WRIT_SSHCERT_MAX_SOURCES, false,
		    address_ok, &set, err)) < 0)
			goto fail;
		json_object_set_new(out, "source_address", set);
	}
	v = json_object_get(scope, "extensions");
	if (v == NULL)
		set = json_array();
	else if ((r = str_set(v, "extensions", WRIT_SSHCERT_MAX_PRINCIPALS, true,
	    extension_ok, &set, err)) < 0)
		goto fail;
	if (set == NULL) {
		r = WRIT_ENOMEM;
		goto fail;
	}
	json_object_set_new(out, "extensions", set);
	json_decref(split);
	*ret_scope = out;
	return 0;
 fail:
	json_decref(split);
	json_decref(out);
	return r;
}

const struct kind_grammar sshcert_grammar = {
	.name = "sshcert",
	.scope_keys = sshcert_scope_keys,
	.canonicalize = sshcert_canonicalize,
};
