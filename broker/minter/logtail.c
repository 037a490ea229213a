/*
 * logtail.c - read a JSON Lines log backwards in blocks.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "logtail.h"

/* Does the line begin as a record of one of t's events would? */
static bool
of_events(const struct logtail *t, const char *line, size_t len)
{
	static const char head[] = "{\"event\":\"";
	size_t h = sizeof(head) - 1;

	if (len <= h || memcmp(line, head, h) != 0)
		return false;
	for (const char *const *e = t->events; *e != NULL; e++) {
		size_t n = strlen(*e);

		if (len > h + n && memcmp(line + h, *e, n) == 0 && line[h + n] == '"')
			return true;
	}
	return false;
}

/* Is the parsed record's event one of t's? */
static bool
event_in(const struct logtail *t, const json_t *rec)
{
	const char *ev = json_string_value(json_object_get(rec, "event"));

	for (const char *const *e = t->events; ev != NULL && *e != NULL; e++)
		if (strcmp(ev, *e) == 0)
			return true;
	return false;
}

/* Does the line (not NUL-terminated) belong to t's session and events? */
static bool
wanted(struct logtail *t, const char *line, size_t len, json_t **ret)
{
	json_t *rec;

	/* NB. cheap tests first; the parsed members decide. */
	if (t->events != NULL && !of_events(t, line, len))
		return false;
	if (t->session != NULL) {
		char needle[64];
		int n = snprintf(needle, sizeof(needle), "\"session\":\"%s\"", t->session);

		if (n < 0 || (size_t)n >= sizeof(needle) || memmem(line, len, needle, (size_t)n) == NULL)
			return false;
	}
	rec = json_loadb(line, len, 0, NULL);
	if (!json_is_object(rec) || (t->session != NULL &&
	    (json_string_value(json_object_get(rec, "session")) == NULL ||
	    strcmp(json_string_value(json_object_get(rec, "session")), t->session) != 0)) ||
	    (t->events != NULL && !event_in(t, rec))) {
		json_decref(rec);
		return false;
	}
	*ret = rec;
	return true;
}

/* The seq of the record on the line (writd's begin {"event":"E","seq":N), or 0. */
static uint64_t
line_seq(const char *p, size_t len)
{
	const char *s = memmem(p, len < 64 ? len : 64, ",\"seq\":", 7);
	char num[24];
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (s += 7; s < p + len && n < sizeof(num) - 1 && *s >= '0' && *s <= '9'; s++)
		num[n++] = *s;
	num[n] = '\0';
	return n > 0 ? strtoull(num, NULL, 10) : 0;
}

/* One complete line: keep it when wanted; false once enough are found. */
static bool
line(struct logtail *t, const char *p, size_t len)
{
	json_t *rec = NULL;

	uint64_t seq;

	if (len == 0 || len > t->max_line)
		return t->want > 0;
	seq = t->after != 0 || t->before != 0 ? line_seq(p, len) : 0;
	if (t->before != 0 && seq >= t->before)
		return t->want > 0;	/* a page already read */
	if (t->after != 0 && seq != 0 && seq <= t->after) {
		t->reached = true;
		t->want = 0;
		return false;
	}
	if (wanted(t, p, len, &rec)) {
		json_array_append_new(t->records, rec);
		t->want--;
	} else if (t->session == NULL && t->events == NULL && t->want > 0)
		t->want--;	/* garbage counts: the work stays bounded by N */
	return t->want > 0;
}

int
logtail_read(int fd, off_t end, struct logtail *t)
{
	/*
	 * buf holds [block][carry]: carry, at the end, is the start of a line
	 * whose beginning lies further back; each block is read just before it.
	 */
	size_t cap = WRIT_LOGTAIL_BLOCK + t->max_line + 1, have = 0;
	char *buf;
	off_t pos = end;
	bool tail = true;		/* still looking for the last newline */
	bool skipping = false;		/* inside a line too long to keep */
	int r = 0;

	if (t->want == 0 || end <= 0)
		return 0;
	if ((buf = malloc(cap)) == NULL)
		return WRIT_ENOMEM;
	while (pos > 0 && t->want > 0) {
		size_t len = pos > WRIT_LOGTAIL_BLOCK ? WRIT_LOGTAIL_BLOCK : (size_t)pos;
		char *start, *e, *q;
		ssize_t got;

		if (t->session != NULL) {
			if (t->scan_left <= 0)
				break;
			if ((long long)len > t->scan_left)
				len = (size_t)t->scan_left;
			t->scan_left -= (long long)len;
		}
		start = buf + cap - have - len;
		for (size_t done = 0; done < len; done += (size_t)got) {
			got = pread(fd, start + done, len - done, pos - (off_t)len + (off_t)done);
			if (got < 0 && errno == EINTR) {
				got = 0;
				continue;
			}
			if (got <= 0) {
				r = WRIT_EINTERNAL;	/* shrunk or failed: what was found stands */
				goto out;
			}
		}
		pos -= (off_t)len;
		e = buf + cap;		/* data is [start, e) */
		if (tail || skipping) {
			/*
			 * What follows the last newline is still being written,
			 * or the rest of a line too long to keep (NB. none when
			 * that line began where the block ends).
			 */
			while (e > start && e[-1] != '\n')
				e--;
			if (e == start) {
				have = 0;
				continue;
			}
			tail = skipping = false;
		}
		/* e[-1] is a newline: the lines ending there, backwards. */
		for (;;) {
			for (q = e - 1; q > start && q[-1] != '\n'; q--)
				;
			if (q == start && pos > 0)
				break;		/* its beginning is further back */
			if (!line(t, q, (size_t)(e - 1 - q)))
				goto out;
			e = q;
			if (e == start)
				break;
		}
		have = (size_t)(e - start);
		if (have > t->max_line) {
			/* Longer than any record: skip to its beginning, hold nothing. */
			skipping = true;
			have = 0;
			continue;
		}
		memmove(buf + cap - have, start, have);
	}
 out:
	free(buf);
	return r;
}
