/* fuzz_audit.c - libFuzzer harness for the audit recovery reader. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../broker/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[32] = { 7 };
	struct audit_scan sc;
	int r = audit_scan((const char *)data, size, key, &sc);

	/* What it calls good must lie inside the input, and end a line. */
	if (sc.good_len > size || (sc.good_len > 0 && data[sc.good_len - 1] != '\n'))
		__builtin_trap();
	if (r == 0 && (sc.good_len != size || sc.bad_seq != 0))
		__builtin_trap();
	return 0;
}
