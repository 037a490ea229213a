/*
 * refusals.c - a token bucket and a few counters per session.
 */
#include <stdio.h>
#include <string.h>

#include "refusals.h"

static void
refill(struct refusals *r, int64_t now)
{
	int64_t n;

	if (!r->started) {
		r->started = true;
		r->tokens = WRIT_REFUSALS_BURST;
		r->refilled = now;
		return;
	}
	if (now <= r->refilled)
		return;
	n = (now - r->refilled) / WRIT_REFUSALS_EVERY;
	if (n == 0)
		return;
	if (n >= WRIT_REFUSALS_BURST - r->tokens) {
		r->tokens = WRIT_REFUSALS_BURST;
		r->refilled = now;
	} else {
		r->tokens += (unsigned int)n;
		r->refilled += n * WRIT_REFUSALS_EVERY;
	}
}

bool
refusals_room(struct refusals *r, int64_t now)
{
	refill(r, now);
	return r->tokens > 0;
}

/* Is buf (of size) what s becomes when cut to fit there? */
static bool
same_cut(const char *buf, size_t size, const char *s)
{
	char cut[80];

	snprintf(cut, size < sizeof(cut) ? size : sizeof(cut), "%s", s != NULL ? s : "");
	return strcmp(buf, cut) == 0;
}

#define SAME(field, s) same_cut((field), sizeof(field), (s))

#define PUT(dst, s) snprintf((dst), sizeof(dst), "%s", (s) != NULL ? (s) : "")

bool
refusals_add(struct refusals *r, const struct refusal *what, int64_t now, int64_t wall)
{
	unsigned int i;

	refill(r, now);
	if (r->tokens > 0) {
		r->tokens--;
		return true;
	}
	for (i = 0; i < r->nkeys; i++)
		if (SAME(r->key[i].kind, what->kind) && SAME(r->key[i].decision, what->decision) &&
		    SAME(r->key[i].error, what->error) && SAME(r->key[i].tier, what->tier) &&
		    SAME(r->key[i].rule, what->rule))
			break;
	if (i == r->nkeys && r->nkeys < WRIT_REFUSALS_KEYS) {
		if (r->nkeys++ == 0)
			r->since = now;	/* the oldest count not yet written */
		PUT(r->key[i].kind, what->kind);
		PUT(r->key[i].decision, what->decision);
		PUT(r->key[i].error, what->error);
		PUT(r->key[i].tier, what->tier);
		PUT(r->key[i].rule, what->rule);
		r->key[i].count = 0;
		r->key[i].first = wall;
	} else if (i == r->nkeys) {
		/* NB. out of keys: the count stays exact, the last key says "mixed". */
		i = WRIT_REFUSALS_KEYS - 1;
		PUT(r->key[i].kind, "mixed");
		PUT(r->key[i].decision, "mixed");
		PUT(r->key[i].error, "mixed");
		PUT(r->key[i].tier, "mixed");
		PUT(r->key[i].rule, "mixed");
	}
	r->key[i].count++;
	r->key[i].last = wall;
	return false;
}

bool
refusals_due(const struct refusals *r, int64_t now)
{
	return r->nkeys > 0 && now - r->since >= WRIT_REFUSALS_FLUSH_EVERY;
}

int64_t
refusals_next_due(const struct refusals *r)
{
	return r->nkeys > 0 ? r->since + WRIT_REFUSALS_FLUSH_EVERY : INT64_MAX;
}

json_t *
refusals_take_counts(struct refusals *r)
{
	json_t *out = json_array();

	for (unsigned int i = 0; out != NULL && i < r->nkeys; i++)
		json_array_append_new(out, json_pack("{sssssssssssIsIsI}",
		    "kind", r->key[i].kind, "decision", r->key[i].decision,
		    "error", r->key[i].error, "tier", r->key[i].tier, "rule", r->key[i].rule,
		    "count", (json_int_t)r->key[i].count, "first", (json_int_t)r->key[i].first,
		    "last", (json_int_t)r->key[i].last));
	r->nkeys = 0;
	r->since = 0;
	return out;
}
