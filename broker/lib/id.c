/*
 * id.c - the shape of writ's ids, and of secret names.
 */
#include <string.h>

#include "id.h"

bool
id_valid(const char *s)
{
	return s != NULL && strlen(s) == WRIT_ID_LEN &&
	    strspn(s, "0123456789abcdef") == WRIT_ID_LEN;
}

bool
secret_name_valid(const char *name)
{
	size_t n = name != NULL ? strlen(name) : 0;

	return n > 0 && n <= WRIT_MAX_SECRET_NAME && name[0] != '.' &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

bool
session_name_valid(const char *name)
{
	size_t n = name != NULL ? strlen(name) : 0;

	return n > 0 && n <= WRIT_MAX_SESSION_NAME && name[0] != '.' && name[0] != '-' &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}
