/*
 * procpeer.h - what /proc shows of a caller, read on the side that may.
 *
 * A process's exe, working directory and user namespace need ptrace-mode
 * access to it, which Landlock refuses the confined front end for any
 * process outside its domain (confine.h): the minter reads them for it
 * (the request table's PEER), with this module.  The front end keeps
 * what needs no such access (cmdline, stat: peer.c), made printable by
 * the same rule.  libc only.
 */
#ifndef WRIT_PROCPEER_H
#define WRIT_PROCPEER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Replace every byte of s that is not printable ASCII with '?': this text reaches a terminal. */
void procpeer_printable(char *s);

/*
 * The link /proc/PID/what ("exe", "cwd") into buf (size bytes, cut to
 * fit), made printable; "?" when it cannot be read.
 */
void procpeer_link(pid_t pid, const char *what, char *buf, size_t size);

/*
 * Is pid (of uid) in a user namespace other than ours?  bwrap, srt, Codex
 * and containers each make one.  Not ours to read is yes (a namespace's
 * owner decides who may look), but for root, whose namespace a writd of
 * another user cannot read.
 */
bool procpeer_other_userns(pid_t pid, uid_t uid);

#endif
