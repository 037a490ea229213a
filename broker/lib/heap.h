/*
 * heap.h - a min-heap of nodes embedded in their owners, keyed by time.
 *
 * The live writs (writs.c) and the minter's custody of them (custody.c)
 * both end things at their expiry: adding, removing and finding the
 * earliest are O(log n) and O(1); the reaper looks only at the top.  A
 * node knows its slot, so removing any node is O(log n) too.  Owners
 * embed a struct heap_node and get back to themselves from it with
 * offsetof.  No locks: its owner's.
 */
#ifndef WRIT_HEAP_H
#define WRIT_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct heap_node {
	int64_t key;		/* the earliest key is on top */
	size_t slot;		/* where it sits: the heap's */
};

struct heap {
	struct heap_node **v;	/* v[0] .. v[n - 1]; any order but v[0]'s */
	size_t n, cap;
};

/* Add x (x->key set).  Returns 0 or WRIT_ENOMEM (x not added). */
int heap_add(struct heap *h, struct heap_node *x);

/* Take x, which is in h, out of h. */
void heap_del(struct heap *h, struct heap_node *x);

/* The node with the earliest key, or NULL when h is empty. */
struct heap_node *heap_top(const struct heap *h);

/* Release h's array (its nodes are their owners'). */
void heap_free(struct heap *h);

#endif
