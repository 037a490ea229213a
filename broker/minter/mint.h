/*
 * mint.h - what the minter's other parts ask of mint.c (minter.h has MINT).
 */
#ifndef WRIT_MINT_H
#define WRIT_MINT_H

/*
 * At stop, once upstream_cancel failed what waits: wait until every
 * order taken is answered (what runs upstream, and records still to be
 * made durable).
 */
void mint_drain(void);

#endif
