/* Keel's heap: size classes from 16 bytes to 2 KiB carved from pages of the
 * physical allocator; larger requests take whole pages. Zeroed on allocation. */
#ifndef KEEL_HEAP_H
#define KEEL_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct heap_ops {
	void *(*pages_alloc)(unsigned order); /* zeroed, page aligned, NULL if none */
	void (*pages_free)(void *va, unsigned order);
	/* Optional: told the bytes each successful kzalloc takes (its size
	 * class, or its whole pages), so callers can attribute memory. */
	void (*account)(uint64_t bytes);
};

void heap_init(const struct heap_ops *ops);
void *kzalloc(size_t size);
void kfree(void *ptr);
/* Bytes of pages the heap holds from the page allocator right now. */
uint64_t heap_bytes_in_use(void);

#endif
