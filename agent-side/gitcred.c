/*
 * gitcred.c - read git's credential protocol.
 */
#include <string.h>

#include "gitcred.h"

int
gitcred_parse(struct gitcred *c, char *buf, size_t len, const char **ret_why)
{
	char *p = buf, *end;

	if (len >= GITCRED_MAX_INPUT) {
		*ret_why = "too much input";
		return -1;
	}
	buf[len] = '\0';
	/* NB. checked on the raw bytes: NUL would hide the rest of a line. */
	if (memchr(buf, '\0', len) != NULL) {
		*ret_why = "NUL in the input";
		return -1;
	}
	if (memchr(buf, '\r', len) != NULL) {
		*ret_why = "carriage return in the input";
		return -1;
	}
	for (; p < buf + len; p = end + 1) {
		char *eq, **slot = NULL;

		end = memchr(p, '\n', (size_t)(buf + len - p));
		if (end == NULL)
			end = buf + len;
		if ((size_t)(end - p) + 1 > GITCRED_MAX_LINE) {
			*ret_why = "a line longer than git allows";
			return -1;
		}
		*end = '\0';
		if (*p == '\0')
			break;		/* a blank line ends the block */
		eq = strchr(p, '=');
		if (eq == NULL || eq == p) {
			*ret_why = "a line without key=value";
			return -1;
		}
		*eq = '\0';
		if (strcmp(p, "protocol") == 0)
			slot = &c->protocol;
		else if (strcmp(p, "host") == 0)
			slot = &c->host;
		else if (strcmp(p, "path") == 0)
			slot = &c->path;
		else if (strcmp(p, "password") == 0)
			slot = &c->password;
		if (slot != NULL) {
			if (*slot != NULL) {
				*ret_why = "a key given twice";
				return -1;
			}
			*slot = eq + 1;
		}
	}
	return 0;
}
