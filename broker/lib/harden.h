/*
 * harden.h - what both of writd's processes do first, before anything
 * secret is in memory.
 */
#ifndef WRIT_HARDEN_H
#define WRIT_HARDEN_H

#include "errors.h"

/*
 * No core dump, not ptrace-able by our own uid (not dumpable), no
 * setuid gains for us or anything we run (no_new_privs), files private
 * (umask 077).  Returns 0, or WRIT_EINTERNAL with a message.
 */
int harden_process(char err[WRIT_ERRLEN]);

#endif
