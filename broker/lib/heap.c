/*
 * heap.c - a min-heap of embedded nodes.
 */
#include <stdlib.h>

#include "errors.h"
#include "heap.h"

static void
place(struct heap *h, size_t i, struct heap_node *x)
{
	h->v[i] = x;
	x->slot = i;
}

static void
sift_up(struct heap *h, size_t i)
{
	struct heap_node *x = h->v[i];

	while (i > 0 && h->v[(i - 1) / 2]->key > x->key) {
		place(h, i, h->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	place(h, i, x);
}

static void
sift_down(struct heap *h, size_t i)
{
	struct heap_node *x = h->v[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1]->key < h->v[c]->key)
			c++;
		if (h->v[c]->key >= x->key)
			break;
		place(h, i, h->v[c]);
		i = c;
	}
	place(h, i, x);
}

int
heap_add(struct heap *h, struct heap_node *x)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct heap_node **v = realloc(h->v, cap * sizeof(*v));

		if (v == NULL)
			return WRIT_ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	place(h, h->n++, x);
	sift_up(h, h->n - 1);
	return 0;
}

void
heap_del(struct heap *h, struct heap_node *x)
{
	size_t i = x->slot;

	h->n--;
	if (i < h->n) {
		place(h, i, h->v[h->n]);
		sift_down(h, i);
		sift_up(h, i);
	}
}

struct heap_node *
heap_top(const struct heap *h)
{
	return h->n > 0 ? h->v[0] : NULL;
}

void
heap_free(struct heap *h)
{
	free(h->v);
	*h = (struct heap){ NULL, 0, 0 };
}
