/*
 * cmd_jwks.c - writctl jwks: the public keys that verify writd's JWTs.
 */
#include "writctl.h"

int
cmd_jwks(int argc, char **argv)
{
	(void)argv;
	return ctl_show(argc, "/v1/jwks", NULL);
}
