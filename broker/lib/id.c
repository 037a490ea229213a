/*
 * id.c - the shape of writ's ids.
 */
#include <string.h>

#include "id.h"

bool
id_valid(const char *s)
{
	return s != NULL && strlen(s) == WRIT_ID_LEN &&
	    strspn(s, "0123456789abcdef") == WRIT_ID_LEN;
}
