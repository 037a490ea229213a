/*
 * frontprobe_main.c - frontprobe.h's attempts from an unconfined process
 * (test-only, $(B)/frontprobe):
 *
 *	frontprobe MINTER_PID KEYRING STATE_DIR STORE_FILE RUNTIME_DIR CALLER_PID
 *
 * Lines on stdout, as the confined front end writes them.
 */
#include <stdio.h>
#include <stdlib.h>

#include "frontprobe.h"

int
main(int argc, char **argv)
{
	struct frontprobe_targets t = { 0 };

	if (argc != 7) {
		fprintf(stderr, "usage: frontprobe MINTER_PID KEYRING STATE_DIR STORE_FILE "
		    "RUNTIME_DIR CALLER_PID\n");
		return 2;
	}
	t.minter = (pid_t)atoi(argv[1]);
	t.keyring = atol(argv[2]);
	snprintf(t.state, sizeof(t.state), "%s", argv[3]);
	snprintf(t.store, sizeof(t.store), "%s", argv[4]);
	snprintf(t.runtime, sizeof(t.runtime), "%s", argv[5]);
	t.caller = (pid_t)atoi(argv[6]);
	frontprobe_run(&t, stdout);
	return 0;
}
