/* kzalloc/kfree on calloc/free, counting calls (see stubs.h). */
#include <stdlib.h>

#include <keel/heap.h>

#include "stubs.h"

unsigned stub_heap_allocs, stub_heap_frees;
bool stub_heap_fail;

void stub_heap_reset(void)
{
	stub_heap_allocs = stub_heap_frees = 0;
	stub_heap_fail = false;
}

void *kzalloc(size_t size)
{
	void *p;

	if (stub_heap_fail || !size)
		return NULL;
	p = calloc(1, size);
	if (p)
		stub_heap_allocs++;
	return p;
}

void kfree(void *ptr)
{
	if (!ptr)
		return;
	stub_heap_frees++;
	free(ptr);
}
