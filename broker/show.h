/*
 * show.h - text an agent controls, shown to a person.
 *
 * A reason, a command line, a working directory, a session name or a scope
 * value reach the approver's terminal; a prompt-injected agent writes them
 * to forge what the person reads: a line that looks like another request's
 * header, a right-to-left override that reverses a repository name, a
 * zero-width space that hides a second word.  Everything shown here is
 * cleaned the same way, in writctl and in the approver commands' input:
 *
 *  - runs of white space (any Unicode space, tab, newline) become one space;
 *  - control, format and separator characters (Cc, C1, Cf, Zl, Zp), filler
 *    and tag characters, variation selectors, private-use and
 *    non-characters, and right-to-left letters (a bidi-aware terminal or
 *    dialog would turn a line that begins with one around) are shown
 *    escaped as <U+XXXX>, bytes that are not UTF-8 as <xNN>: visible, never
 *    acting;
 *  - a field has a fixed width; what does not fit is wrapped onto lines that
 *    begin with SHOW_CONT, which no header line does, and what exceeds its
 *    lines is cut with SHOW_CUT.
 *
 * Widths are counted in terminal columns, every character outside ASCII as
 * two (a wide character's width; narrower ones only make the line shorter),
 * so a line never wraps on a terminal of the width asked for.  NB. on a
 * narrower one the terminal wraps, and agent text can begin a line: the
 * approver commands refuse a terminal narrower than SHOW_COLUMNS.
 */
#ifndef WRIT_SHOW_H
#define WRIT_SHOW_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* Columns when the terminal does not say. */
#define SHOW_COLUMNS 80
/* Narrowest and widest layout (a field needs room beside its label). */
#define SHOW_MIN_COLUMNS 40
#define SHOW_MAX_COLUMNS 240
/* Lines one field may take before it is cut. */
#define SHOW_MAX_LINES 8
/* How a wrapped line begins: no header starts with a bar. */
#define SHOW_CONT "  |          "
/* The visible mark at the end of a field that was cut. */
#define SHOW_CUT " [cut]"

/* A growing text; failed is set when memory ran out (the text is then short). */
struct show_buf {
	char *p;		/* NUL-terminated, or NULL before the first add */
	size_t len, cap;
	bool failed;
};

/* Append n bytes of s / formatted text.  Never fails loudly. */
void show_add(struct show_buf *b, const char *s, size_t n);
void show_addf(struct show_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Release b's text; b may be reused. */
void show_free(struct show_buf *b);

/*
 * Append value, cleaned, after prefix (trusted text, ASCII), wrapped at cols
 * onto at most max_lines lines beginning with SHOW_CONT; each line ends in
 * a newline.  NULL shows as "?".
 */
void show_wrap(struct show_buf *b, const char *prefix, const char *value,
    unsigned int cols, unsigned int max_lines);

/* show_wrap with prefix "  LABEL     " (the label padded to 9 columns). */
void show_field(struct show_buf *b, const char *label, const char *value,
    unsigned int cols);

/*
 * Clean s as above into at most max_cols columns (cut with SHOW_CUT), no
 * wrapping, no newline.  Returns a new string (free()), or NULL without
 * memory.
 */
char *show_clean(const char *s, unsigned int max_cols);

/* The width of the terminal on fd, within the bounds above; SHOW_COLUMNS if none. */
unsigned int show_columns(int fd);

/*
 * A CI job's verified claims (an object of strings; anything else shows
 * nothing): a "job" field naming the issuer, then one line per known claim
 * ("repository: acme/widgets"), each beginning with SHOW_CONT and cleaned
 * as above (at most two lines each).
 */
void show_claims(struct show_buf *b, const json_t *claims, unsigned int cols);

/*
 * The prompt for pending request q (as GET /v1/requests lists it), laid out
 * for cols columns and ending in a newline: its id, session (and a job's
 * claims, see show_claims), caller, kind,
 * scope, ttl, the rule that asked and the agent's reason, each a field.
 * Returns a new string (free()), or NULL without memory.
 */
char *show_request(const json_t *q, unsigned int cols);

/*
 * The question that ends q's prompt, naming the request again by its short
 * id (the first 8 digits): "Approve request 1a2b3c4d? [y/N] ", or for a
 * typed approval "Type CODE to approve request 1a2b3c4d (anything else
 * denies): ".  No newline.  Returns a new string (free()), or NULL.
 */
char *show_question(const json_t *q);

#endif
