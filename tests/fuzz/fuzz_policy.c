/* fuzz_policy.c - libFuzzer harness for the policy parser and decider. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <jansson.h>

#include "../../broker/sjson.h"
#include "../../policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[WRIT_ERRLEN];
	struct policy *p = NULL;
	size_t half = size / 2;

	/* The input is the enterprise file; its second half also the user's. */
	if (policy_parse((const char *)data, size, "ent", (const char *)data + half,
	    size - half, "user", &p, err) == 0) {
		json_t *scope = json_pack("{ss}", "aud", "api.example.com");
		struct policy_request q = { .kind = "jwt", .scope = scope, .ttl = 300,
		    .session = "s", .workspace = "/w", .uid = 1, .exe = "/bin/x", .live = 1 };
		struct policy_decision d;

		policy_decide(p, &q, &d);
		json_decref(policy_decision_json(&d));
		json_decref(scope);
		policy_free(p);
	} else if (memchr(err, '\0', sizeof(err)) == NULL)
		__builtin_trap();	/* messages are always terminated */
	return 0;
}
