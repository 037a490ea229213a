/*
 * serve.h - the minter's end of the channel to the front end.
 */
#ifndef WRIT_SERVE_H
#define WRIT_SERVE_H

/* How serve_run ended. */
enum serve_end {
	SERVE_STOPPED,		/* STOP was answered: a clean stop */
	SERVE_LOST,		/* the front end closed the channel (it died) */
	SERVE_REFUSED,		/* it sent what the table refuses (or closed the
				   channel inside a message): it is not trusted */
};

/*
 * Start the writer thread on channel fd and say HELLO.  Returns 0 or
 * WRIT_EINTERNAL.
 */
int serve_start(int fd);

/*
 * Read and answer the front end's requests until STOP (answered: the
 * minter has stopped, minter_stop), the end of the channel between two
 * messages, or a message the table refuses, a message cut short by the
 * channel's end included (said on stderr and audited "channel_refused").
 */
enum serve_end serve_run(void);

/* Tell the front end the minter stops (FATAL), why. */
void serve_fatal(const char *why);

/*
 * Wait until everything queued is written (or the front end is gone),
 * then stop the writer thread.
 */
void serve_stop(void);

#endif
